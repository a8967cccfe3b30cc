"""The rehearsal with the user's own code beside ``--worker-cmd``: ``--db-setup-cmd``, ``--seed-cmd``,
``--enqueue-cmd``, ``--api-cmd``. The stand-in plays "the user's code" through the same flags
(``standin_app/``: its schema as their migrations, a seed script, its API's enqueue path), on PostgreSQL, with
the commands given relative to the directory pytest starts in (the hooks run there)."""

from __future__ import annotations

import shlex
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from reference.stack import Stack
from reference.stack.hooks import FILE_KEY_VAR, HookFailed, UserCode, user_env

APP = "tests/matrix/standin_app"  # relative: the hooks run in the directory pytest was started in
PY = shlex.quote(sys.executable)
ROOT = Path(__file__).resolve().parents[2]


def hooks(*, api: bool = False, db_setup: str = f"{PY} {APP}/db_setup.py") -> tuple[str, ...]:
    args = (
        # A marker of its own: the §1 check must find this rehearsal's worker, not another one's (xdist).
        *("--worker-cmd", f"{PY} -m reference.video_worker --rehearsal=hooks-{uuid.uuid4().hex[:8]}"),
        *("--db-setup-cmd", db_setup),
        *("--seed-cmd", f"{PY} {APP}/seed.py"),
        *("--enqueue-cmd", f"{PY} {APP}/enqueue.py {{id}}"),
    )
    return (*args, "--api-cmd", f"{PY} -m reference.api") if api else args


def _checks(verdict: dict) -> dict[str, dict]:
    return {c["nodeid"].split("::", 1)[1]: c for c in verdict["checks"]}


def _api_token_env() -> dict[str, str]:
    """What a CI job sets for the §7 probe of its own API: the API's SECRET_KEY (the job's own, a test value)
    and RUNBOOK_API_TOKEN, a token that API accepts for the user the seed creates (the first of an empty
    database: id 1, of tenant 1). The real route asks for an authenticated user only."""
    from reference.api.auth import TokenSigner

    secret = uuid.uuid4().hex
    return {"SECRET_KEY": secret, "RUNBOOK_API_TOKEN": TokenSigner(secret).sign(1, 1)}


@pytest.mark.timeout(300)
def test_healthy_with_your_api(rehearse: Callable[..., tuple[dict, str]]) -> None:
    verdict, output = rehearse(None, "embedded", hooks(api=True), env=_api_token_env())
    assert verdict["healthy"] is True, output[-4000:]
    assert _checks(verdict)["test_progress_endpoint[rehearsal-discovered]"]["outcome"] == "passed"
    services = verdict["services"]
    assert services["api"].startswith("your --api-cmd, http://127.0.0.1:")
    assert services["database"].startswith("PostgreSQL") and "schema by --db-setup-cmd" in services["database"]
    assert services["scenario"].startswith("videos [1], end state reached"), services["scenario"]


@pytest.mark.timeout(300)
def test_your_api_without_a_token_is_unknown_never_passed(rehearse: Callable[..., tuple[dict, str]]) -> None:
    """Its routes want an authenticated user: without RUNBOOK_API_TOKEN the 401 is no verdict on Redis."""
    verdict, output = rehearse(None, "embedded", hooks(api=True), env={"RUNBOOK_API_TOKEN": ""})
    assert verdict["healthy"] is True, output[-4000:]
    progress = _checks(verdict)["test_progress_endpoint[rehearsal-discovered]"]
    assert progress["outcome"] == "skipped" and "RUNBOOK_API_TOKEN" in progress["message"], progress


@pytest.mark.timeout(300)
def test_without_your_api_progress_is_unknown_never_passed(rehearse: Callable[..., tuple[dict, str]]) -> None:
    verdict, output = rehearse(None, "embedded", hooks())
    assert verdict["healthy"] is True, output[-4000:]  # the encode itself is proven: READY, HLS, lock, queue
    progress = _checks(verdict)["test_progress_endpoint[rehearsal-discovered]"]
    assert progress["outcome"] == "skipped" and "API_BASE_URL" in progress["message"], progress
    assert verdict["layers"]["progress"] == "warn"
    assert "no --api-cmd" in verdict["services"]["api"]


FAULTS = [
    ("stale-lock", "stuck-video/stale-lock", "videos [1, 2, 3]"),
    ("queue-name-mismatch", "queue/queue-name-mismatch", "videos [1]"),
    ("config-missing:R2_ENDPOINT", "worker-config/config-missing", "videos [1]"),
    ("worker-stopped", "worker-process/worker-not-running", "videos [1]"),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("fault", "expected", "videos"), FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_with_your_code(
    rehearse: Callable[..., tuple[dict, str]], fault: str, expected: str, videos: str
) -> None:
    verdict, output = rehearse(fault, "embedded", hooks())
    root = verdict["root_cause"]
    assert not verdict["healthy"] and f"{root['layer']}/{root['cause']}" == expected, output[-4000:]
    # The fault's symptom was reached on the user's schema (not a timeout that happened to look alike).
    assert verdict["services"]["scenario"].startswith(f"{videos}, end state reached"), verdict["services"]


@pytest.mark.timeout(300)
def test_a_failing_migration_stops_the_rehearsal_with_its_output(rehearse: Callable[..., tuple[dict, str]]) -> None:
    failing = f"{PY} -c 'import sys; print(\"relation lectures_session does not exist\", file=sys.stderr); sys.exit(3)'"
    verdict, output = rehearse(None, "embedded", hooks(db_setup=failing))
    assert verdict["healthy"] is False
    assert not [c for c in verdict["checks"] if c["outcome"] == "passed"]  # nothing is judged on a broken schema
    message = verdict["root_cause"]["message"]
    assert "--db-setup-cmd exit 3" in message and "relation lectures_session does not exist" in message, message
    assert "hooks/01-db-setup.log" in output  # the tail, and where the whole output is


@pytest.mark.timeout(120)
def test_a_seed_that_prints_no_id_is_named(tmp_path: Path) -> None:
    code = UserCode(
        seed=f'{PY} -c \'import os; print("seeded", os.environ["{FILE_KEY_VAR}"])\'',
        enqueue="true",
        db_setup=f"{PY} {APP}/db_setup.py",
        cwd=ROOT,
    )
    worker = [sys.executable, "-m", "reference.video_worker", f"--rehearsal=hooks-{uuid.uuid4().hex[:8]}"]
    with Stack("embedded", workdir=tmp_path, worker_cmd=worker, app=code) as stack, pytest.raises(HookFailed) as info:
        stack.scenario.run(timeout=10)
    first = str(info.value).splitlines()[0]
    assert first.startswith("--seed-cmd printed 'seeded uploads/rehearsal-") and "not the new video's id" in first


def test_your_code_sees_the_stack_not_the_callers_services() -> None:
    caller = {
        "PATH": "/usr/bin",
        "HOME": "/home/ci",
        "DJANGO_SETTINGS_MODULE": "app.settings",
        "PYTHONPATH": "/src",
        "AWS_PROFILE": "production",
        "AWS_ENDPOINT_URL_SQS": "https://sqs.ap-northeast-2.amazonaws.com",
        "DB_HOST": "prod-db.internal",
        "DATABASE_URL": "postgresql://prod",
        "REDIS_URL": "redis://prod:6379/0",
        "R2_ENDPOINT": "https://account.r2.cloudflarestorage.com",
        "API_BASE_URL": "https://api.example.com",
    }
    exported = {"PATH": "/stack/bin:/usr/bin", "DB_HOST": "127.0.0.1", "PYTHONPATH": str(ROOT)}
    env = user_env(exported, caller)
    assert env == {
        "PATH": "/stack/bin:/usr/bin",
        "HOME": "/home/ci",
        "DJANGO_SETTINGS_MODULE": "app.settings",
        "PYTHONPATH": "/src",
        "DB_HOST": "127.0.0.1",
    }


@pytest.mark.timeout(120)
def test_a_hook_past_its_timeout_is_stopped_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    code = UserCode(
        seed="true",
        enqueue="true",
        db_setup=f"echo migrating; sleep 60 & echo $! > {pid_file}; wait",
        timeout=2.0,
        cwd=ROOT,
    )
    worker = [sys.executable, "-m", "reference.video_worker", f"--rehearsal=hooks-{uuid.uuid4().hex[:8]}"]
    with pytest.raises(HookFailed) as info, Stack("embedded", workdir=tmp_path / "stack", worker_cmd=worker, app=code):
        pass
    first = str(info.value).splitlines()[0]
    assert first.startswith("--db-setup-cmd timed out after 2s (--hook-timeout)") and "last output: migrating" in first
    child = Path(f"/proc/{pid_file.read_text().strip()}/stat")
    assert not child.exists() or child.read_text().rsplit(")", 1)[1].split()[0] == "Z", "the hook's child survived"
