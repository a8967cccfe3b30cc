"""The canary signals' checks on hand-made evidence: over its threshold a signal fails its check with the
figure; at or under it the check passes; with nothing to measure it is ``unknown`` (never guessed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runbook import texts
from runbook.config import side_from_env
from runbook.findings import CheckFailed, Unknown
from runbook.probes.cloudwatch import MetricReading
from runbook.probes.database import VideoRow
from runbook.probes.sqs import QueueInfo
from runbook.signals import Signal, Thresholds, figure, state_of
from runbook.target import Target
from tests.checks.test_check_branches import FakeEvidence, _load

s2 = _load("test_s2_queue")
s9 = _load("test_s9_stuck_videos")
ENV = {"AWS_REGION": "ap-northeast-2", "DATABASE_URL": "sqlite:///academy.sqlite3"}
TARGET = Target(mode="live", api=side_from_env(ENV, "api"), deployment="asg", deployments=("asg",))


def queue(name: str = "academy-video-jobs", visible: int = 0, in_flight: int = 0) -> QueueInfo:
    return QueueInfo(
        name=name,
        url=f"http://q/{name}",
        arn=f"arn:aws:sqs:ap-northeast-2:123456789012:{name}",
        visible=visible,
        in_flight=in_flight,
        delayed=0,
        visibility_timeout=30,
        oldest_age_seconds=None,
        redrive_dlq_arn=None,
        max_receive_count=None,
    )


def age(value: float | None) -> MetricReading:
    return MetricReading(
        namespace="AWS/SQS",
        metric="ApproximateAgeOfOldestMessage",
        queue="academy-video-jobs",
        window_seconds=300,
        value=value,
        datapoints=0 if value is None else 3,
        latest=None if value is None else datetime.now(UTC),
    )


def judge(check: Any, values: dict[str, Any], thresholds: Thresholds | None = None) -> tuple[str | None, list[Signal]]:
    """(cause or None when passed, the signals the check recorded)."""
    recorded: list[Signal] = []
    try:
        check(FakeEvidence(values), TARGET, thresholds or Thresholds(), recorded.append)
    except CheckFailed as exc:
        message, _ = texts.render(texts.CAUSES, exc.cause, exc.facts, "en")
        assert "<" not in message, message  # every fact the text names was given
        return f"{exc.cause}: {message}", recorded
    return None, recorded


def test_oldest_message_age_over_threshold_fails_with_the_figure() -> None:
    cause, signals = judge(s2.test_oldest_message_age, {"sqs.oldest_age": age(2400.0), "sqs.api": queue()})
    assert cause is not None and cause.startswith("queue-backlog:"), cause
    assert "2400s > threshold 1800s" in cause
    assert [(s.name, s.value, s.state) for s in signals] == [("oldest_message_age", 2400.0, "fail")]
    assert "ApproximateAgeOfOldestMessage" in signals[0].source


def test_oldest_message_age_healthy_passes_and_near_threshold_warns() -> None:
    cause, signals = judge(s2.test_oldest_message_age, {"sqs.oldest_age": age(12.0)})
    assert cause is None and signals[0].state == "ok" and figure(signals[0]) == "12s ≤ 1800s"
    cause, signals = judge(s2.test_oldest_message_age, {"sqs.oldest_age": age(1500.0)})
    assert cause is None and signals[0].state == "warn"


def test_oldest_message_age_without_datapoints_is_unknown_naming_the_metric() -> None:
    recorded: list[Signal] = []
    with pytest.raises(Unknown) as raised:
        s2.test_oldest_message_age(FakeEvidence({"sqs.oldest_age": age(None)}), TARGET, Thresholds(), recorded.append)
    assert raised.value.reason == "no-datapoints"
    message, fix = texts.render(texts.UNKNOWN, raised.value.reason, raised.value.facts, "ko")
    assert "ApproximateAgeOfOldestMessage" in message and "academy-video-jobs" in message
    assert "get-metric-statistics" in fix
    assert recorded[0].value is None and recorded[0].state == "unknown"


def test_queue_depth_visible_and_in_flight() -> None:
    assert judge(s2.test_queue_depth, {"sqs.api": queue(visible=3, in_flight=2)})[0] is None
    cause, signals = judge(s2.test_queue_depth, {"sqs.api": queue(visible=21)})
    assert cause is not None and cause.startswith("queue-backlog:") and "visible messages 21 > threshold 20" in cause
    assert {s.name: s.state for s in signals} == {"visible": "fail", "in_flight": "ok"}
    cause, _ = judge(s2.test_queue_depth, {"sqs.api": queue(in_flight=5)}, Thresholds(in_flight=4))
    assert cause is not None and "in-flight messages 5 > threshold 4" in cause


def test_dlq_depth_against_its_threshold() -> None:
    assert judge(s2.test_dlq_empty, {"sqs.dlq": queue("academy-video-jobs-dlq")})[0] is None
    cause, signals = judge(s2.test_dlq_empty, {"sqs.dlq": queue("academy-video-jobs-dlq", visible=2)})
    assert cause is not None and cause.startswith("dlq-not-empty:") and "holds 2 message" in cause
    assert signals[0].state == "fail" and signals[0].value == 2
    cause, signals = judge(
        s2.test_dlq_empty, {"sqs.dlq": queue("academy-video-jobs-dlq", visible=2)}, Thresholds(dlq_depth=5)
    )
    assert cause is None and signals[0].state == "ok"


def test_stuck_video_count_against_its_threshold() -> None:
    rows = [VideoRow(id=vid, status="UPLOADED", hls_path=None, updated_at=None) for vid in (111, 222)]
    assert judge(s9.test_stuck_video_count, {"videos.stuck": []})[0] is None
    cause, signals = judge(s9.test_stuck_video_count, {"videos.stuck": rows})
    assert cause is not None and cause.startswith("stuck-videos:") and "2 video(s)" in cause and "111=UPLOADED" in cause
    assert signals[0].value == 2 and signals[0].state == "fail"
    assert judge(s9.test_stuck_video_count, {"videos.stuck": rows}, Thresholds(stuck_videos=2))[0] is None


def test_signal_states() -> None:
    assert state_of(None, 10) == "unknown"
    assert state_of(11, 10) == "fail"
    assert state_of(8, 10) == "warn"
    assert state_of(7, 10) == "ok"
    assert state_of(0, 0) == "ok" and state_of(1, 0) == "fail"
