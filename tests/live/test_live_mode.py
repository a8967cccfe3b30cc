"""Live mode, as an on-call engineer runs it: the API's environment, a worker env file, log files.

The "production" here is a hermetic stand-in stack with one CONTRACT fault (rows 1–13) switched on; the
suite runs as ``pytest -m "live and <deployment>"`` in a subprocess and must name the fault's root cause,
without touching the queue.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bench._live import pytest_argv
from reference.stack import FAULTS, Stack
from reference.stack.live import PIPELINE_ENV_PREFIXES

ROOT = Path(__file__).resolve().parents[2]
#: Variables a developer's shell may carry that must not leak into the "API environment" of a case.
_CLEAR = PIPELINE_ENV_PREFIXES

CASES = [("healthy", "healthy")] + [(f.id, f.cause) for f in FAULTS.values()]
#: Appendix B's autoscaling checks belong to the ASG deployment; everything else is checked as "local".
ASG_FAULTS = {"asg-desired-zero", "asg-max-1", "lambda-deleted", "rule-deleted", "rule-disabled"}
#: Boot failures show on one instance of the fleet: its console output and, read through SSM Run Command, its
#: worker's log (as production's asg deployment is checked).
BOOT_FAULTS = {f.id for f in FAULTS.values() if f.id.startswith("boot-")}


def live_run(
    stack: Any, tmp_path: Path, marker: str, *extra: str, worker_log: str | None = None, api_log: str | None = None
) -> tuple[dict[str, Any], str, int]:
    """``pytest -m "live and <marker>"`` against ``stack`` with the API's environment: (verdict, output, exit).

    ``worker_log`` / ``api_log`` replace the stack's logs (the options are repeatable: given again in ``extra``
    they would add a source, not replace one)."""
    args = pytest_argv(
        tmp_path,
        *extra,
        marker=f"live and {marker}",
        html="live.html",
        worker_env_file=stack.worker_env_file,
        worker_log=worker_log or stack.worker_log,
        api_log=api_log or stack.api_log,
        worker_process=stack.worker_process_pattern,
        worker_container=stack.worker_container_name,
        video_ids=stack.scenario.videos,
    )
    return _run(stack, tmp_path, args)


def asg_run(stack: Any, tmp_path: Path, *extra: str) -> tuple[dict[str, Any], str, int]:
    """``-m "live and asg"`` with the API's environment and logs only: no worker env file, no worker log (the
    worker's environment comes from the SSM parameter, its log from the instances)."""
    args = pytest_argv(
        tmp_path,
        *extra,
        marker="live and asg",
        html="live.html",
        api_log=stack.api_log,
        video_ids=stack.scenario.videos,
    )
    assert not any(a.startswith("--worker-env-file") for a in args)
    return _run(stack, tmp_path, args)


def live_run_without_ids(stack: Any, tmp_path: Path) -> tuple[dict[str, Any], str, int]:
    """The same live run with no --video-id: videos UPLOADED for longer than --stuck-after are discovered."""
    args = pytest_argv(
        tmp_path,
        "--stuck-after",
        "0s",
        target="checks/test_s9_stuck_videos.py",
        marker="live and local",
        html="live.html",
        worker_env_file=stack.worker_env_file,
        worker_log=stack.worker_log,
        api_log=stack.api_log,
    )
    return _run(stack, tmp_path, args)


def _run(stack: Any, tmp_path: Path, args: list[str]) -> tuple[dict[str, Any], str, int]:
    tmp_path.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEAR)}
    env.update(stack.api_env)
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    return verdict, proc.stdout + proc.stderr, proc.returncode


def stale_lock_story(stack: Any) -> None:
    """§9's night: 111 and 222 keep a crashed worker's lock (4 h), all three are uploaded and completed; back
    once 333 is READY and the worker has logged both lock skips."""
    for vid in (111, 222):
        stack.redis().set(f"job:encode:{vid}:lock", "crashed-worker", ex=4 * 3600)
    for vid in (111, 222, 333):
        stack.scenario.upload(vid)
    for vid in (111, 222, 333):
        stack.scenario.complete(vid)
    stack.wait_for(
        lambda: stack.video_status(333) == "READY" and stack.worker_log_text().count("Lock acquisition failed") >= 2,
        90,
        "333 READY and both lock skips logged",
    )


def queue_state(stack: Any) -> dict[str, str]:
    """What a receive/delete/visibility change would alter: the queue's and the DLQ's counters."""
    sqs = stack.sqs()
    state = {}
    for name in ("academy-video-jobs", "academy-video-jobs-dlq"):
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for key in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ):
            state[f"{name}:{key}"] = attrs[key]
    return state


def settled_queue_state(stack: Any) -> dict[str, str]:
    """The counters once the worker is done with what it was doing (READY comes just before the delete)."""
    last: list[dict[str, str]] = [queue_state(stack)]

    def unchanged() -> bool:
        time.sleep(0.5)
        now = queue_state(stack)
        same, last[0] = now == last[0], now
        return same

    stack.wait_for(unchanged, 30, "the queue counters to settle")
    return last[0]


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("fault", "expected"), CASES, ids=[c[0] for c in CASES])
def test_live_run_names_the_root_cause(tmp_path: Path, fault: str, expected: str) -> None:
    marker = "asg" if fault in ASG_FAULTS else "local"
    # The rehearsal's long job is seconds old, production's hours: tell the live run what "long" is here.
    extra = ("--long-job-after", "0.5") if fault == "long-job-blocking" else ()
    with Stack("embedded", faults=[] if fault == "healthy" else [fault], workdir=tmp_path / "stack") as stack:
        stack.scenario.run(strict=False)
        before = settled_queue_state(stack)
        if fault in BOOT_FAULTS:
            verdict, output, code = asg_run(stack, tmp_path, "--asg-logs=ssm")
        else:
            verdict, output, code = live_run(stack, tmp_path, marker, *extra)
        after = queue_state(stack)
    got = "healthy" if verdict["healthy"] else f"{verdict['root_cause']['layer']}/{verdict['root_cause']['cause']}"
    assert verdict["mode"] == "live"
    assert got == expected, output[-4000:]
    assert (code == 0) == (expected == "healthy"), output[-2000:]
    # Read-only: nothing received, deleted or hidden by the live run.
    assert after == before


@pytest.mark.timeout(300)
def test_live_docker_deployment(tmp_path: Path) -> None:
    """``-m "live and docker"``: the worker container (exact name) and its logs through the Docker API."""
    from reference.stack.containers import docker_unavailable_reason

    reason = docker_unavailable_reason()
    if reason:
        pytest.skip(f"no Docker engine: {reason}")
    name = "academy-video-worker-live-test"
    with Stack("containers", faults=["worker-stopped"], workdir=tmp_path / "stack", worker_container=name) as stack:
        stack.scenario.run(strict=False)
        verdict, output, _ = live_run(stack, tmp_path, "docker", worker_log=f"docker:{name}")
    assert verdict["root_cause"]["cause"] == "worker-not-running", output[-4000:]
    assert name in verdict["root_cause"]["remediation"]


@pytest.mark.timeout(240)
def test_runbook_111_222_333_story(tmp_path: Path) -> None:
    """§9: 111 and 222 keep a crashed worker's lock, 333 encodes; the live run names both locks with commands."""
    with Stack("embedded", workdir=tmp_path / "stack") as stack:
        stale_lock_story(stack)
        verdict, output, _ = live_run(stack, tmp_path / "ids", "local")
        # Without ids: the stuck videos are discovered from the database.
        (tmp_path / "discovered").mkdir()
        discovered, output2, _ = live_run_without_ids(stack, tmp_path / "discovered")
    by_case = {c["nodeid"].split("::")[1]: c for c in verdict["checks"] if "test_stuck_video" in c["nodeid"]}
    assert by_case["test_stuck_video[live-111]"]["cause"] == "stale-lock", output[-3000:]
    assert by_case["test_stuck_video[live-222]"]["cause"] == "stale-lock"
    assert by_case["test_stuck_video[live-333]"]["outcome"] == "passed"
    for vid in (111, 222):
        fix = by_case[f"test_stuck_video[live-{vid}]"]["remediation"]
        assert f"DEL job:encode:{vid}:lock" in fix and f"/media/videos/{vid}/retry/" in fix
    assert verdict["root_cause"]["cause"] == "stale-lock"
    table = [c for c in discovered["checks"] if "test_stuck_video[live-discovered]" in c["nodeid"]]
    assert table and table[0]["cause"] == "stale-lock", output2[-3000:]
