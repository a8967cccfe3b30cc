"""§2 SQS 큐 연결: the API and the worker must use the very same queue. Read-only: attributes, never receive."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runbook import commands
from runbook.evidence import Evidence, permission_missing
from runbook.findings import fail, unknown
from runbook.signals import Signal, Thresholds, measure
from runbook.target import Target

pytestmark = [pytest.mark.runbook(layer="queue", section="§2"), pytest.mark.docker, pytest.mark.asg, pytest.mark.local]

SIDES = {"api": "API", "worker": "워커"}


@pytest.mark.parametrize("side", ["api", "worker"])
def test_queue_reachable(evidence: Evidence, target: Target, side: str) -> None:
    settings = target.api if side == "api" else evidence.need("worker.side")
    info, error = evidence.attempt(f"sqs.{side}")
    facts = {
        "side": SIDES[side],
        "queue": settings.queue_name,
        "region": settings.region,
        "api_container": target.api_container,
    }
    if error is not None:
        if error.kind == "not-found":
            fail("queue-missing", **facts)
        if error.kind == "denied":
            # The worker's side is read with the worker's own keys: refused the queue's URL, the worker cannot
            # use its queue. A refused GetQueueAttributes (the worker never calls it), or any refusal on the
            # API's side (read with the run's identity, maybe a least-privilege role: docs/permissions) is a
            # permission the run lacks. The API's own enqueue failures are §6's, from its log.
            if side == "worker" and error.action in (None, "sqs:GetQueueUrl"):
                fail("queue-access-denied", error=error.detail, **facts)
            if error.action:
                permission_missing(f"sqs.{side}", error)
        # Bad keys are §4's finding; a dead endpoint is "unknown" here, not a queue fault.
        unknown("probe-error", dependency=error.dependency, error=str(error))
    assert info.url, "get_queue_url answered without a URL"


def test_same_queue(evidence: Evidence, target: Target) -> None:
    api = target.api
    worker = evidence.need("worker.side")
    facts = {
        "api_queue": api.queue_name,
        "worker_queue": worker.queue_name,
        "api_region": api.queue_region,
        "worker_region": worker.queue_region,
        "restart_cmd": commands.restart_worker(target),
    }
    # The region each queue client really uses: AWS_REGION, else production's default (AWS_DEFAULT_REGION is
    # ignored by libs/queue/client.py:87).
    if api.queue_region != worker.queue_region:
        fail(
            "region-mismatch",
            api_url=f"{api.queue_region}/{api.queue_name}",
            worker_url=f"{worker.queue_region}/{worker.queue_name}",
            **facts,
        )
    if api.queue_name != worker.queue_name:
        fail("queue-name-mismatch", **facts)
    api_q = evidence.need("sqs.api")
    worker_q = evidence.need("sqs.worker")
    if api_q.url != worker_q.url:  # same name and region, other account or endpoint
        fail("region-mismatch", api_url=api_q.url, worker_url=worker_q.url, **facts)


def test_worker_log_queue(evidence: Evidence, target: Target) -> None:
    """The queue in the worker's own start line (``started | queue=...``) is the API's queue."""
    summary = evidence.need("log.worker")
    started = summary.queue
    if started is None:
        unknown("not-configured", setting="워커 로그의 `Video Worker (SQS) started` 줄")
    if started != target.api.queue_name:
        fail(
            "queue-name-mismatch",
            api_queue=target.api.queue_name,
            worker_queue=started,
            restart_cmd=commands.restart_worker(target),
        )


RecordSignal = Callable[[Signal], None]
SQS_ATTRIBUTES = "SQS get_queue_attributes"


def test_dlq_empty(evidence: Evidence, target: Target, thresholds: Thresholds, record_signal: RecordSignal) -> None:
    """Signal ``dlq_depth``: messages in the dead-letter queue, over ``--max-dlq`` (default 0) fails."""
    dlq, error = evidence.attempt("sqs.dlq")
    source = f"{SQS_ATTRIBUTES} (DLQ of {target.api.queue_name})"
    if error is not None or dlq is None:
        record_signal(measure("dlq_depth", None, thresholds, source, str(error or "no RedrivePolicy")))
    if error is not None:
        unknown("probe-error", dependency=error.dependency, error=str(error))
    if dlq is None:
        unknown("not-configured", setting=f"{target.api.queue_name} RedrivePolicy (DLQ)")
    count = dlq.visible + dlq.in_flight + dlq.delayed
    signal = measure("dlq_depth", count, thresholds, f"{SQS_ATTRIBUTES} ({dlq.name})")
    record_signal(signal)
    if signal.state == "fail":
        fail("dlq-not-empty", dlq=dlq.name, count=count, dlq_arn=dlq.arn, region=target.api.region)


def test_queue_depth(evidence: Evidence, target: Target, thresholds: Thresholds, record_signal: RecordSignal) -> None:
    """Signals ``visible`` and ``in_flight``: jobs waiting, and jobs received but not deleted, against
    ``--max-visible`` / ``--max-in-flight`` (부록 B: the scaler reads the same two counts)."""
    info, error = evidence.attempt("sqs.api")
    if error is not None:
        for name in ("visible", "in_flight"):
            record_signal(measure(name, None, thresholds, SQS_ATTRIBUTES, str(error)))
        unknown("probe-error", dependency=error.dependency, error=str(error))
    source = f"{SQS_ATTRIBUTES} ({info.name})"
    figures = {
        "visible": ("ApproximateNumberOfMessages", "대기(visible) 메시지 수", "visible messages"),
        "in_flight": ("ApproximateNumberOfMessagesNotVisible", "처리 중(in-flight) 메시지 수", "in-flight messages"),
    }
    signals = [
        measure(name, getattr(info, name), thresholds, f"{source} {attr}") for name, (attr, _, _) in figures.items()
    ]
    for signal in signals:
        record_signal(signal)
    for signal in signals:
        if signal.state == "fail":
            _, ko, en = figures[signal.name]
            fail(
                "queue-backlog",
                queue=info.name,
                figure_name=ko,
                figure_name_en=en,
                value=int(signal.value or 0),
                threshold=int(signal.threshold),
                region=target.api.region,
                queue_url=info.url,
            )


def test_oldest_message_age(
    evidence: Evidence, target: Target, thresholds: Thresholds, record_signal: RecordSignal
) -> None:
    """Signal ``oldest_message_age``: CloudWatch's ``ApproximateAgeOfOldestMessage`` (the only read-only
    source: receiving a message to see its age would change the queue), over ``--max-oldest-age`` fails.
    No datapoints is ``unknown``, naming the metric, never a guess."""
    reading, error = evidence.attempt("sqs.oldest_age")
    queue = target.api.queue_name
    if error is not None:
        record_signal(measure("oldest_message_age", None, thresholds, "CloudWatch AWS/SQS", str(error)))
        unknown("probe-error", dependency=error.dependency, error=str(error))
    signal = measure("oldest_message_age", reading.value, thresholds, reading.source)
    if reading.value is None:
        message = f"no datapoints: {reading.metric} ({queue}), last {reading.window_seconds // 60} min"
        record_signal(measure("oldest_message_age", None, thresholds, reading.source, message))
        unknown(
            "no-datapoints",
            metric=reading.metric,
            queue=queue,
            minutes=reading.window_seconds // 60,
            region=target.api.region,
        )
    record_signal(signal)
    if signal.state == "fail":
        info, _ = evidence.attempt("sqs.api")
        fail(
            "queue-backlog",
            queue=queue,
            figure_name="가장 오래된 메시지 나이",
            figure_name_en="age of the oldest message",
            value=f"{reading.value:.0f}s",
            threshold=f"{signal.threshold:.0f}s",
            region=target.api.region,
            queue_url=info.url if info is not None else f"$(aws sqs get-queue-url --queue-name {queue})",
        )
