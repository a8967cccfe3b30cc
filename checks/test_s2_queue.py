"""§2 SQS 큐 연결: the API and the worker must use the very same queue. Read-only: attributes, never receive."""

from __future__ import annotations

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import fail, unknown
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
            fail("queue-access-denied", error=error.detail, **facts)
        # Bad keys are §4's finding; a dead endpoint is "unknown" here, not a queue fault.
        unknown("probe-error", dependency=error.dependency, error=str(error))
    assert info.url, "get_queue_url answered without a URL"


def test_same_queue(evidence: Evidence, target: Target) -> None:
    api = target.api
    worker = evidence.need("worker.side")
    facts = {
        "api_queue": api.queue_name,
        "worker_queue": worker.queue_name,
        "api_region": api.region,
        "worker_region": worker.region,
        "restart_cmd": commands.restart_worker(target),
    }
    if api.region != worker.region:
        fail(
            "region-mismatch",
            api_url=f"{api.region}/{api.queue_name}",
            worker_url=f"{worker.region}/{worker.queue_name}",
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


def test_dlq_empty(evidence: Evidence, target: Target) -> None:
    dlq = evidence.need("sqs.dlq")
    if dlq is None:
        unknown("not-configured", setting=f"{target.api.queue_name} RedrivePolicy (DLQ)")
    count = dlq.visible + dlq.in_flight + dlq.delayed
    if count:
        fail("dlq-not-empty", dlq=dlq.name, count=count, dlq_arn=dlq.arn, region=target.api.region)
