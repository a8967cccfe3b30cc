"""Options as people type them (issue 13): every path-valued option of the suite, as ``--opt PATH`` and as
``--opt=PATH``, with paths outside the checkout, started in the checkout and from another directory.

A value typed after a space reaches pytest before the suite's plugin has declared the option; pytest then
took it for a test path, looked for its configuration above it and ran without this checkout's
``pyproject.toml`` (``fixtures/early.py``). Each run here is a real command line in a subprocess (an in-process
``pytest.main`` cannot be restarted), and each option's value must visibly take effect in the verdict.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(120)

#: Variables that would point a live run at something: cleared so that only the options configure the run.
_LIVE_VARS = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_PROFILE",
    "REDIS_HOST",
    "DATABASE_URL",
    "DB_HOST",
    "API_BASE_URL",
    "R2_ENDPOINT",
    "PYTEST_ADDOPTS",
)


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A worker env file without R2_ENDPOINT, a worker log with its config error, an API log with an enqueue
    failure: three inputs whose effect on the verdict is visible. All outside the checkout."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "worker.env").write_text(
        "API_BASE_URL=http://127.0.0.1:9\nINTERNAL_WORKER_TOKEN=t\nR2_ACCESS_KEY=a\nR2_SECRET_KEY=b\nR2_BUCKET=academy-video\n"
    )
    (outside / "worker.log").write_text(
        "2026-02-20 14:03:11,123 [CRITICAL] [VIDEO-WORKER-SQS] config error: Missing required env: R2_ENDPOINT\n"
    )
    (outside / "api.log").write_text("2026-02-20T14:03:11.123Z ERROR api: Video job enqueue failed: video_id=111\n")
    for name in _LIVE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return {
        "--worker-env-file": outside / "worker.env",
        "--worker-log": outside / "worker.log",
        "--api-log": outside / "api.log",
        "--runbook-json": outside / "out" / "verdict.json",
        "--runbook-history": outside / "out" / "history.jsonl",
    }


def _argv(values: dict[str, Path | str], spelling: str) -> list[str]:
    argv: list[str] = []
    for name, value in values.items():
        argv += [name, str(value)] if spelling == "space" else [f"{name}={value}"]
    return argv


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cwd: Path, *args: str) -> pytest.RunResult:
    monkeypatch.chdir(cwd)
    # --worker-process: a pattern no process has, so that a worker running on this machine is not judged.
    return pytester.run(
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "live and local",
        "-p",
        "no:randomly",
        "--worker-process=no-such-worker-process-here",
        "--html",
        str(pytester.path / "report.html"),
        *args,
    )


@pytest.mark.parametrize("spelling", ["space", "equals"])
@pytest.mark.parametrize("where", ["checkout", "elsewhere", "elsewhere-rootdir"])
def test_path_options_take_effect(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, inputs: dict[str, Path], spelling: str, where: str
) -> None:
    cwd = ROOT if where == "checkout" else pytester.path
    rootdir = ["--rootdir", str(ROOT)] if where == "elsewhere-rootdir" else []
    result = _run(pytester, monkeypatch, cwd, *rootdir, *_argv(dict(inputs), spelling))
    out = result.stdout.str() + result.stderr.str()
    assert "unrecognized arguments" not in out, out[-2000:]
    assert result.ret == 1, out[-3000:]  # the inputs' faults, not a usage error (4) or nothing collected (5)
    result.stdout.fnmatch_lines([f"rootdir: {ROOT}", "configfile: pyproject.toml"])

    verdict = json.loads(inputs["--runbook-json"].read_text())
    checks = {c["nodeid"]: c for c in verdict["checks"]}
    assert all(nodeid.startswith("checks/") for nodeid in checks), sorted(checks)
    # --worker-env-file: the worker's environment lacks R2_ENDPOINT
    assert checks["checks/test_s3_worker_config.py::test_required_variable[live-R2_ENDPOINT]"]["outcome"] == "failed"
    # --worker-log: its config error line was read
    start_log = checks["checks/test_s3_worker_config.py::test_start_log[live]"]
    assert start_log["outcome"] == "failed" and "R2_ENDPOINT" in start_log["message"], start_log
    # --api-log: its enqueue failure was read
    enqueue = checks["checks/test_s6_api_enqueue.py::test_no_enqueue_failures[live]"]
    assert enqueue["outcome"] == "failed" and "111" in enqueue["message"], enqueue
    # --runbook-history: one line appended
    history = inputs["--runbook-history"].read_text().splitlines()
    assert len(history) == 1 and json.loads(history[0])["root_cause"] == "worker-config/config-missing"


@pytest.mark.parametrize("spelling", ["space", "equals"])
def test_source_options_that_are_not_paths(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, inputs: dict[str, Path], spelling: str
) -> None:
    """``--api-log docker:academy-api`` after a space: parsed as the option's value, judged (no engine here or
    no such container: unknown), never a usage error."""
    values: dict[str, Path | str] = {
        "--api-log": "docker:academy-api",
        "--worker-env-file": inputs["--worker-env-file"],
        "--runbook-json": inputs["--runbook-json"],
    }
    result = _run(pytester, monkeypatch, ROOT, *_argv(values, spelling))
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 1 and "unrecognized arguments" not in out, out[-2000:]
    result.stdout.fnmatch_lines([f"rootdir: {ROOT}", "configfile: pyproject.toml"])
    checks = {c["nodeid"]: c for c in json.loads(inputs["--runbook-json"].read_text())["checks"]}
    enqueue = checks["checks/test_s6_api_enqueue.py::test_no_enqueue_failures[live]"]
    assert enqueue["outcome"] == "skipped" and "docker" in enqueue["message"], enqueue


def test_another_project_is_left_alone(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry point is loaded by every pytest in the environment: a project of its own, without the suite's
    options, runs with its own configuration and is never restarted into this checkout."""
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(test_theirs="def test_theirs():\n    assert True\n")
    monkeypatch.chdir(pytester.path)
    result = pytester.run(sys.executable, "-m", "pytest", "-q", "-p", "no:randomly")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*1 passed*"])
    assert str(ROOT) not in result.stdout.str()
