"""The stand-in for AWS's own SQS metrics: ``ApproximateAgeOfOldestMessage`` in CloudWatch.

AWS computes that metric inside SQS and publishes it to CloudWatch (namespace ``AWS/SQS``, dimension
``QueueName``); the runbook suite reads it with ``get_metric_statistics``, its only read-only source. moto
publishes no SQS metric by itself, so this publisher plays AWS's part for the rehearsal: every ``interval``
seconds it looks at each queue of the emulated account and puts the age of its oldest message into the
emulated CloudWatch with ``put_metric_data``. The suite never sees this code, only the metric, as in production.

How the age is worked out, from the moto server's state: each queue's message counts (visible + in flight +
delayed, ``get_queue_attributes``, which changes nothing). A queue that held nothing at the previous look and
holds something now started waiting then; while it keeps holding something, its oldest message is that old.
(``/moto-api/data.json`` has send timestamps but keeps deleted messages, does not say which queue holds which,
and answers 500 altogether when one of its models cannot be dumped, e.g. a Lambda function while no Docker
engine answers: too fragile to stand in for AWS.) For the states the rehearsal builds (nothing consumed, a job
in flight, a message parked in the DLQ) this is the age to within ``interval``; a queue that is never empty
while jobs flow through would read older than it is, which errs towards an alarm. An empty queue publishes 0,
as SQS does; a queue that cannot be read publishes nothing, and the reader says "no datapoints".
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

NAMESPACE = "AWS/SQS"
METRIC = "ApproximateAgeOfOldestMessage"
_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


class QueueAgePublisher:
    """Publishes every queue's oldest-message age to the emulated CloudWatch until stopped."""

    def __init__(self, aws: Any, interval: float = 2.0, region: str | None = None) -> None:
        self.aws = aws  # reference.stack.aws.AwsEmulator: its admin-key clients
        self.region = region or aws.region
        self.interval = interval
        self.published = 0
        #: queue URL -> when it last went from empty to holding something (monotonic clock)
        self._waiting_since: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> QueueAgePublisher:
        """Publish once now (so a reader finds a datapoint from the start), then every ``interval``."""
        for _ in range(5):  # a busy machine's emulator may drop one call: the first datapoint must be there
            if self.publish_once():
                break
            self._stop.wait(0.5)
        self._thread = threading.Thread(target=self._loop, name="sqs-metrics", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.publish_once()

    def ages(self) -> dict[str, float]:
        """``queue name -> age in seconds`` of its oldest message now (0 when empty)."""
        sqs = self.aws.client("sqs", region=self.region)
        now = time.monotonic()
        ages: dict[str, float] = {}
        for url in sqs.list_queues().get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_COUNTS))["Attributes"]
            held = sum(int(attributes.get(key, 0)) for key in _COUNTS)
            if held == 0:
                self._waiting_since.pop(url, None)
                ages[url.rsplit("/", 1)[-1]] = 0.0
                continue
            since = self._waiting_since.setdefault(url, now)
            ages[url.rsplit("/", 1)[-1]] = now - since
        return ages

    def publish_once(self) -> bool:
        try:
            stamp = datetime.now(UTC)
            cloudwatch = self.aws.client("cloudwatch", region=self.region)
            for name, age in self.ages().items():
                cloudwatch.put_metric_data(
                    Namespace=NAMESPACE,
                    MetricData=[
                        {
                            "MetricName": METRIC,
                            "Dimensions": [{"Name": "QueueName", "Value": name}],
                            "Timestamp": stamp,
                            "Value": round(age, 3),
                            "Unit": "Seconds",
                        }
                    ],
                )
            self.published += 1
            return True
        except Exception as exc:  # the emulator stopping under us, or a fault that broke it: no datapoint
            log.debug("queue age not published: %s: %s", type(exc).__name__, exc)
            return False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
