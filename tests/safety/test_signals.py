"""Proof 7 — the signals, end to end against the stand-in production (worker stopped, 222's job waiting, 555 in
flight, 444 in the DLQ): the same state judged with the default thresholds and with tight ones.

The oldest message's age comes from CloudWatch, where the stack's publisher (``reference/stack/metrics.py``,
AWS's part) puts it; the counts from ``get_queue_attributes``; the stuck videos from the database. Over its
threshold each figure fails its own check with the figure in the message; under it, the check passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from safety_harness import LiveRun, Production, run_live

from runbook import clients
from runbook.probes.cloudwatch import oldest_message_age

pytestmark = pytest.mark.timeout(300)


def _check(run: LiveRun, name: str) -> dict[str, Any]:
    found = [c for c in run.checks() if f"::{name}[" in c["nodeid"]]
    assert len(found) == 1, f"{name}: {found}\n{run.tail()}"
    return found[0]


def _age(prod: Production) -> float:
    api = prod.api_env
    cloudwatch = clients.aws_client(
        "cloudwatch",
        region=api["AWS_REGION"],
        access_key=api["AWS_ACCESS_KEY_ID"],
        secret_key=api["AWS_SECRET_ACCESS_KEY"],
        endpoint_url=api["AWS_ENDPOINT_URL"],
        timeout=5,
    )
    return oldest_message_age(cloudwatch, "academy-video-jobs").value or 0.0


def test_default_thresholds(baselines: dict[str, LiveRun]) -> None:
    run = baselines["local"]
    signals = run.verdict["signals"]  # type: ignore[index]
    assert _check(run, "test_oldest_message_age")["outcome"] == "passed", run.tail()
    assert signals["oldest_message_age"]["state"] in ("ok", "warn") and signals["oldest_message_age"]["value"] >= 0
    assert "ApproximateAgeOfOldestMessage" in signals["oldest_message_age"]["source"]
    assert _check(run, "test_queue_depth")["outcome"] == "passed"
    assert (signals["visible"]["value"], signals["in_flight"]["value"]) == (1, 1)
    dlq = _check(run, "test_dlq_empty")  # 444 waits in the DLQ: 1 > 0
    assert dlq["outcome"] == "failed" and dlq["cause"] == "dlq-not-empty", dlq
    assert signals["dlq_depth"] == {**signals["dlq_depth"], "value": 1, "threshold": 0, "state": "fail"}
    assert _check(run, "test_stuck_video_count")["outcome"] == "passed"  # 222 is minutes old, not 30
    assert signals["stuck_videos"]["value"] == 0


def test_tight_thresholds_fail_each_check_with_its_figure(production: Production, tmp_path: Path) -> None:
    # 222's job has waited since the stack was built; wait (bounded) until CloudWatch says so, past 2 s.
    production.stack.wait_for(lambda: _age(production) > 2, 30, "CloudWatch to see an age over 2 s")
    tight = [
        "--max-oldest-age",
        "1s",
        "--max-visible",
        "0",
        "--max-dlq",
        "1",
        "--stuck-after",
        "0s",
        "--max-stuck",
        "0",
    ]
    run = run_live(production, tmp_path, "local", extra=tight)
    assert run.verdict is not None, run.tail()
    signals = run.verdict["signals"]
    age = _check(run, "test_oldest_message_age")
    assert age["outcome"] == "failed" and age["cause"] == "queue-backlog", age
    assert f"{signals['oldest_message_age']['value']:.0f}s > 기준 1s" in age["message"], age["message"]
    depth = _check(run, "test_queue_depth")
    assert depth["outcome"] == "failed" and depth["cause"] == "queue-backlog" and "1 > 기준 0" in depth["message"]
    assert _check(run, "test_dlq_empty")["outcome"] == "passed"  # 1 ≤ 1
    stuck = _check(run, "test_stuck_video_count")
    assert stuck["outcome"] == "failed" and stuck["cause"] == "stuck-videos" and "222=UPLOADED" in stuck["message"]
    assert {name: s["state"] for name, s in signals.items()} == {
        "oldest_message_age": "fail",
        "visible": "fail",
        "in_flight": "ok",  # 1 ≤ 20: only --max-visible was tightened
        "dlq_depth": "warn",
        "stuck_videos": "fail",
    }
    # The backlog and the stuck video are consequences: nothing consumes the queue (CONTRACT row 1).
    assert run.verdict["root_cause"]["cause"] == "worker-not-running", run.verdict["root_cause"]
    assert "가장 오래된 메시지" in run.output and "> 1s [fail]" in run.output  # the terminal's figures
