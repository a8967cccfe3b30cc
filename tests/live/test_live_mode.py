"""Live mode, as an on-call engineer runs it: the API's environment, a worker env file, log files.

The "production" here is a hermetic stand-in stack with one CONTRACT fault (rows 1–13) switched on; the
suite runs as ``pytest -m "live and <deployment>"`` in a subprocess and must name the fault's root cause,
without touching the queue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reference.stack import FAULTS, Stack

ROOT = Path(__file__).resolve().parents[2]
#: Variables a developer's shell may carry that must not leak into the "API environment" of a case.
_CLEAR = ("AWS_", "REDIS_", "DB_", "DATABASE_URL", "R2_", "API_BASE_URL", "INTERNAL_WORKER_TOKEN", "VIDEO_SQS", "RUNBOOK_")

CASES = [("healthy", "healthy")] + [(f.id, f.cause) for f in FAULTS.values() if 1 <= f.row <= 13]


def live_run(stack: Any, tmp_path: Path, marker: str, *extra: str) -> tuple[dict[str, Any], str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEAR)}
    env.update(stack.api_env)
    args = [
        sys.executable, "-m", "pytest", "checks", "-q", "-p", "no:xdist", "-m", f"live and {marker}",
        "--worker-env-file", str(stack.worker_env_file),
        "--worker-log", str(stack.worker_log), "--api-log", str(stack.api_log),
        "--worker-process", stack.worker_process_pattern,
        "--worker-container", stack.worker_container_name,
        "--video-id", ",".join(str(v) for v in stack.scenario.videos),
        "--runbook-json", str(tmp_path / "verdict.json"), "--html", str(tmp_path / "live.html"),
        "--junitxml", str(tmp_path / "junit.xml"), *extra,
    ]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    return verdict, proc.stdout + proc.stderr, proc.returncode


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
        for key in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"):
            state[f"{name}:{key}"] = attrs[key]
    return state


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("fault", "expected"), CASES, ids=[c[0] for c in CASES])
def test_live_run_names_the_root_cause(tmp_path: Path, fault: str, expected: str) -> None:
    marker = "asg" if fault == "asg-desired-zero" else "local"
    with Stack("embedded", faults=[] if fault == "healthy" else [fault], workdir=tmp_path / "stack") as stack:
        stack.scenario.run(strict=False)
        before = queue_state(stack)
        verdict, output, code = live_run(stack, tmp_path, marker)
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
        verdict, output, _ = live_run(stack, tmp_path, "docker", "--worker-log", f"docker:{name}")
    assert verdict["root_cause"]["cause"] == "worker-not-running", output[-4000:]
    assert name in verdict["root_cause"]["remediation"]
