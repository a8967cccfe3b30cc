"""SQS queue evidence (runbook §2, appendix B 0/3): URL, depth, visibility, redrive.

Reads attributes only. ``receive_message`` would hide a production message for the visibility
timeout (and count as a receive towards the DLQ), so it is never called.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from runbook.probes._aws import AwsClient, call
from runbook.probes.errors import ProbeError

_QUEUE_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_QUEUE_ARN: Final = re.compile(r"^arn:aws[a-z-]*:sqs:([a-z0-9-]*):(\d{12}):([A-Za-z0-9_.-]{1,80})$")


@dataclass(frozen=True)
class QueueInfo:
    """One queue as SQS reports it (approximate counts, as SQS itself says)."""

    name: str
    url: str
    arn: str
    visible: int
    in_flight: int
    delayed: int
    visibility_timeout: int
    #: SQS publishes the oldest message's age only as a CloudWatch metric: ``None`` here.
    oldest_age_seconds: int | None
    redrive_dlq_arn: str | None
    max_receive_count: int | None

    @property
    def region(self) -> str:
        """The region part of the ARN."""
        parts = self.arn.split(":")
        return parts[3] if len(parts) > 3 else ""

    @property
    def account(self) -> str:
        """The account part of the ARN."""
        parts = self.arn.split(":")
        return parts[4] if len(parts) > 4 else ""


def _check_name(name: str) -> None:
    if not _QUEUE_NAME.match(name):
        raise ProbeError("sqs", "invalid", f"invalid queue name {name!r}")


def queue_url_for(sqs: AwsClient, name: str, *, owner_account: str | None = None) -> str:
    """``get_queue_url`` for ``name``; a missing queue is ``ProbeError(kind="not-found")``."""
    _check_name(name)
    params: dict[str, Any] = {"QueueName": name}
    if owner_account:
        params["QueueOwnerAWSAccountId"] = owner_account
    response = call(sqs, "get_queue_url", "sqs", **params)
    return str(response["QueueUrl"])


def _int(attributes: dict[str, Any], key: str) -> int:
    try:
        return int(attributes.get(key, 0))
    except (TypeError, ValueError):
        return 0


def _info(name: str, url: str, attributes: dict[str, Any]) -> QueueInfo:
    dlq_arn: str | None = None
    max_receive: int | None = None
    raw_policy = attributes.get("RedrivePolicy")
    if raw_policy:
        try:
            policy = json.loads(raw_policy) if isinstance(raw_policy, str) else dict(raw_policy)
        except (TypeError, ValueError):
            policy = {}
        dlq_arn = str(policy["deadLetterTargetArn"]) if policy.get("deadLetterTargetArn") else None
        try:
            max_receive = int(policy["maxReceiveCount"]) if "maxReceiveCount" in policy else None
        except (TypeError, ValueError):
            max_receive = None
    return QueueInfo(
        name=name,
        url=url,
        arn=str(attributes.get("QueueArn", "")),
        visible=_int(attributes, "ApproximateNumberOfMessages"),
        in_flight=_int(attributes, "ApproximateNumberOfMessagesNotVisible"),
        delayed=_int(attributes, "ApproximateNumberOfMessagesDelayed"),
        visibility_timeout=_int(attributes, "VisibilityTimeout"),
        oldest_age_seconds=None,
        redrive_dlq_arn=dlq_arn,
        max_receive_count=max_receive,
    )


def _attributes(sqs: AwsClient, url: str) -> dict[str, Any]:
    response = call(sqs, "get_queue_attributes", "sqs", QueueUrl=url, AttributeNames=["All"])
    attributes: dict[str, Any] = response.get("Attributes", {})
    return attributes


def queue_info(sqs: AwsClient, name: str) -> QueueInfo:
    """Depth, in-flight count, visibility timeout and redrive policy of queue ``name``."""
    url = queue_url_for(sqs, name)
    return _info(name, url, _attributes(sqs, url))


def dlq_info(sqs: AwsClient, dlq_arn: str) -> QueueInfo:
    """The dead-letter queue named by a redrive policy's ARN (same client: same region)."""
    match = _QUEUE_ARN.match(dlq_arn)
    if not match:
        raise ProbeError("sqs", "invalid", f"invalid SQS queue ARN {dlq_arn!r}")
    _, account, name = match.groups()
    url = queue_url_for(sqs, name, owner_account=account)
    return _info(name, url, _attributes(sqs, url))
