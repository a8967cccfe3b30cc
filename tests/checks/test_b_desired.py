"""부록 B 1: the ASG's desired capacity follows the queue (the Lambda's clamp), judged only once the scaler had
its chance: messages older than two one-minute ticks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.findings import CheckFailed, Unknown
from runbook.logs import summarize
from runbook.model import CheckResult
from runbook.probes.asg import AsgInfo, ScalingActivity
from runbook.verdict import decide
from tests.checks.test_check_branches import LAMBDA, RULE, FakeEvidence, _load, cause_of, queue, target

b = _load("test_b_autoscaling")


def now() -> datetime:
    """Read at each use: under xdist a test may run minutes after its module was imported."""
    return datetime.now(UTC)


def group(desired: int, min_size: int = 0, max_size: int = 3) -> AsgInfo:
    return AsgInfo("academy-video-worker-asg", min_size, max_size, desired, (), desired)


def api_log(ago: timedelta, *ids: int) -> Any:
    stamp = (now() - ago).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return summarize([f"{stamp} INFO api: Video job enqueued: video_id={vid}" for vid in ids], source="api")


def worker_log(ago: timedelta, vid: int) -> Any:
    stamp = (now() - ago).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return summarize(
        [
            f"{stamp} INFO w: SQS_MESSAGE_RECEIVED | request_id=r | video_id={vid} | tenant_id=1",
            f"{stamp} INFO w: [HANDLER] Lock acquired, marking as PROCESSING video_id={vid}",
        ],
        source="worker",
    )


def values(desired: int, ago: timedelta, **kw: Any) -> dict[str, Any]:
    """A long job (17) in flight and a short one (1111) waiting; the scaler's Lambda and rule are in place."""
    return {
        "asg": group(desired, **kw),
        "sqs.api": queue(visible=1, in_flight=1),
        "log.api": api_log(ago, 17, 1111),
        "log.worker": worker_log(ago, 17),
        "scaler.lambda": LAMBDA,
        "scaler.rule": RULE,
    }


def test_fails_when_the_backlog_is_older_than_two_ticks() -> None:
    with pytest.raises(CheckFailed) as caught:
        b.test_desired_follows_queue(FakeEvidence(values(1, timedelta(minutes=5))), target())
    facts = caught.value.facts
    assert caught.value.cause == "scaler-not-following"
    assert (facts["visible"], facts["in_flight"], facts["min"], facts["max"]) == (1, 1, 0, 3)
    assert (facts["desired"], facts["expected"]) == (1, 2)
    assert "2개" in str(facts["why"]) and "2 message(s)" in str(facts["why_en"])


def test_passes_healthy_and_on_a_momentary_lag() -> None:
    check = b.test_desired_follows_queue
    assert cause_of(check, FakeEvidence(values(2, timedelta(minutes=5)))) is None  # follows
    assert cause_of(check, FakeEvidence(values(1, timedelta(seconds=30)))) is None  # the next tick closes it
    assert cause_of(check, FakeEvidence(values(1, timedelta(minutes=5), max_size=1))) is None  # clamped: B 2's
    # One old message (17) calls for one worker, which there is; 1111 is young.
    mixed = values(1, timedelta(minutes=5))
    mixed["log.api"] = summarize(
        [
            f"{(now() - timedelta(minutes=5)).strftime('%Y-%m-%dT%H:%M:%S.000Z')} INFO api: Video job enqueued: video_id=17",
            f"{(now() - timedelta(seconds=20)).strftime('%Y-%m-%dT%H:%M:%S.000Z')} INFO api: "
            "Video job enqueued: video_id=1111",
        ],
        source="api",
    )
    assert cause_of(check, FakeEvidence(mixed)) is None
    # Over-provisioned (scale-in pending): no video waits for it.
    empty = {**values(2, timedelta(minutes=5)), "sqs.api": queue(0, 0)}
    assert cause_of(check, FakeEvidence(empty)) is None


def test_an_empty_queue_with_min_size_follows() -> None:
    evidence = {**values(1, timedelta(minutes=5), min_size=1), "sqs.api": queue(0, 0)}
    assert cause_of(b.test_desired_follows_queue, FakeEvidence(evidence)) is None


def test_cloudwatch_age_and_activity_are_evidence_too() -> None:
    reading = type("Reading", (), {"value": 600.0})()
    activity = ScalingActivity(now() - timedelta(minutes=30), None, "Successful", "set desired 1", "")
    evidence = {
        "asg": group(1),
        "sqs.api": queue(visible=3, in_flight=0),
        "sqs.oldest_age": reading,
        "asg.activity": activity,
    }
    assert cause_of(b.test_desired_follows_queue, FakeEvidence(evidence)) is None  # one old message, one worker
    evidence["asg"] = group(0)
    with pytest.raises(CheckFailed) as caught:
        b.test_desired_follows_queue(FakeEvidence(evidence), target())
    assert caught.value.cause == "scaler-not-following"
    last = re.search(r"활동 (\d+)s 전", str(caught.value.facts["why"]))  # the last scaling activity's age
    assert last is not None and int(last.group(1)) >= 1800


def test_a_gap_without_any_age_is_not_judged() -> None:
    evidence = {"asg": group(0), "sqs.api": queue(visible=2)}
    with pytest.raises(Unknown):
        b.test_desired_follows_queue(FakeEvidence(evidence), target())


def _result(cause: str) -> CheckResult:
    return CheckResult(f"checks/x.py::{cause}", "autoscaling", "부록 B", "failed", cause)


@pytest.mark.parametrize("fundamental", ["scaler-lambda-missing", "scaler-rule-disabled", "asg-max-too-low"])
def test_missing_scaler_explains_not_following(fundamental: str) -> None:
    verdict = decide("rehearsal", [_result("scaler-not-following"), _result(fundamental)])
    assert verdict.root_cause is not None and verdict.root_cause.cause == fundamental
    assert [c.cause for c in verdict.consequences] == ["scaler-not-following"]


def test_not_following_explains_a_long_job_blocking() -> None:
    blocked = CheckResult("checks/v.py::t", "visibility", "부록 B", "failed", "long-job-blocking")
    verdict = decide("rehearsal", [blocked, _result("scaler-not-following")])
    assert verdict.root_cause is not None and verdict.root_cause.cause == "scaler-not-following"
