"""§4 AWS 자격 증명: SQS keys (AWS) and R2 keys, each told apart from a network error."""

from __future__ import annotations

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import fail, unknown
from runbook.logs import EventKind
from runbook.target import Target

pytestmark = [
    pytest.mark.runbook(layer="credentials", section="§4"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]

SIDES = {"api": "API", "worker": "워커"}
#: A "SQS unavailable" line caused by a missing queue is §2's finding, not a credential fault.
_NOT_CREDENTIALS = ("NonExistentQueue", "QueueDoesNotExist", "does not exist")
#: The queue client's failures that are credential faults although they are no "SQS unavailable" line: no keys
#: at all (botocore's NoCredentialsError is not a ClientError, libs/queue/client.py:98-103) and expired ones.
_CREDENTIAL_FAILURES = ("Unable to locate credentials", "ExpiredToken", "InvalidAccessKeyId")


@pytest.mark.parametrize("side", ["api", "worker"])
def test_aws_credentials(evidence: Evidence, target: Target, side: str) -> None:
    facts = {"side": SIDES[side], "restart_cmd": commands.restart_worker(target) if side == "worker" else ""}
    _, error = evidence.attempt(f"sts.{side}")
    if error is not None and error.kind == "denied":
        # STS not allowed for these keys: the SQS call itself proves them.
        _, error = evidence.attempt(f"sqs.{side}")
        if error is not None and error.kind in ("not-found", "denied"):
            error = None
    if error is not None:
        if error.kind == "auth":
            fail("aws-credentials-invalid", error=error.detail, **facts)
        unknown("probe-error", dependency=error.dependency, error=str(error))


def test_worker_log_sqs_available(evidence: Evidence, target: Target) -> None:
    """``SQS unavailable (AWS credentials invalid or missing?)`` after the worker's last start."""
    summary = evidence.need("log.worker")
    last = summary.last_line
    unavailable = last.get(EventKind.SQS_UNAVAILABLE)
    # Still failing: no start and no message since the last "SQS unavailable" line.
    recovered = max(last.get(EventKind.STARTED, -1), last.get(EventKind.RECEIVED, -1))
    error = summary.sqs_error or "SQS unavailable (AWS credentials invalid or missing?)"
    if unavailable is not None and recovered < unavailable and not any(m in error for m in _NOT_CREDENTIALS):
        fail("aws-credentials-invalid", side=SIDES["worker"], error=error, restart_cmd=commands.restart_worker(target))
    # The real worker's other queue failures repeat in a tight loop (sqs_main.py:135-137): the last one says why.
    failed_at = last.get(EventKind.SQS_ERROR)
    reason = summary.queue_failure.get("error", "")
    if failed_at is not None and recovered < failed_at and any(m in reason for m in _CREDENTIAL_FAILURES):
        fail("aws-credentials-invalid", side=SIDES["worker"], error=reason, restart_cmd=commands.restart_worker(target))


def test_r2_credentials(evidence: Evidence, target: Target) -> None:
    worker = evidence.need("worker.side")
    _, error = evidence.attempt("r2.worker")
    if error is not None:
        if error.kind in ("auth", "denied"):
            fail("r2-credentials-invalid", bucket=worker.r2.bucket, error=error.detail, endpoint=worker.r2.endpoint)
        unknown("probe-error", dependency=error.dependency, error=str(error))
