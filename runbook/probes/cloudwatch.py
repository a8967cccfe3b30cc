"""CloudWatch metrics of the queue (runbook §2 signals): the age of the oldest message.

SQS publishes ``ApproximateAgeOfOldestMessage`` only as a CloudWatch metric (namespace ``AWS/SQS``, dimension
``QueueName``); ``get_queue_attributes`` has no such attribute and receiving a message to look at it would
change the queue. ``get_metric_statistics`` is a read: it is the one read-only source of the figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from runbook.probes._aws import AwsClient, call

NAMESPACE: Final = "AWS/SQS"
OLDEST_AGE_METRIC: Final = "ApproximateAgeOfOldestMessage"


@dataclass(frozen=True)
class MetricReading:
    """The ``Maximum`` of a metric over a window; ``value`` is ``None`` when it had no datapoints."""

    namespace: str
    metric: str
    queue: str
    window_seconds: int
    value: float | None
    datapoints: int
    latest: datetime | None

    @property
    def source(self) -> str:
        minutes = self.window_seconds // 60
        return f"CloudWatch {self.namespace} {self.metric} (QueueName={self.queue}, Maximum, {minutes} min)"


def oldest_message_age(
    cloudwatch: AwsClient, queue_name: str, *, window_seconds: int = 300, now: datetime | None = None
) -> MetricReading:
    """``ApproximateAgeOfOldestMessage`` of ``queue_name``: the Maximum over the last ``window_seconds``."""
    end = now or datetime.now(UTC)
    start = end - timedelta(seconds=window_seconds)
    response = call(
        cloudwatch,
        "get_metric_statistics",
        "cloudwatch",
        Namespace=NAMESPACE,
        MetricName=OLDEST_AGE_METRIC,
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=start,
        EndTime=end + timedelta(seconds=60),  # the current period, still filling
        Period=60,
        Statistics=["Maximum"],
    )
    points = [p for p in response.get("Datapoints", []) if isinstance(p.get("Maximum"), (int, float))]
    stamps = [p["Timestamp"] for p in points if isinstance(p.get("Timestamp"), datetime)]
    return MetricReading(
        namespace=NAMESPACE,
        metric=OLDEST_AGE_METRIC,
        queue=queue_name,
        window_seconds=window_seconds,
        value=max(float(p["Maximum"]) for p in points) if points else None,
        datapoints=len(points),
        latest=max(stamps) if stamps else None,
    )
