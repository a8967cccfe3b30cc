"""The SQS loop (``apps/worker/video_worker/sqs_main.py``): long poll, hand each message to the handler.

Log lines, in the order the runbook (§5) lists them::

    Video Worker (SQS) started | queue=<name> | wait_time=<n>
    SQS unavailable (AWS credentials invalid or missing?): <error>       (then retry after the delay)
    SQS_MESSAGE_RECEIVED | request_id=<r> | video_id=<id> | tenant_id=<t>
    SQS_JOB_COMPLETED | request_id=<r> | video_id=<id>                   (message deleted)
    SQS_JOB_FAILED | request_id=<r> | video_id=<id>                      (message kept)

SIGTERM/SIGINT stop the loop promptly, also in the middle of a long poll, a connect or a retry delay:
those SQS calls run in a daemon thread that the main thread stops waiting for.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, Generic, TypeVar

import boto3

from reference import aws_config, configure_logging, db, redis_client
from reference.video_worker.config import ConfigError, WorkerConfig, load_config
from reference.video_worker.handler import Job, JobHandler, Outcome

logger = logging.getLogger("reference.video_worker.sqs_main")
T = TypeVar("T")


class _Call(threading.Thread, Generic[T]):
    """One blocking SQS call in a daemon thread, so shutdown never waits for a 20 s long poll or a
    connect timeout. A message handed to an abandoned poll is not lost: it becomes visible again after
    the queue's visibility timeout."""

    def __init__(self, fn: Callable[[], T]) -> None:
        super().__init__(daemon=True)
        self._fn = fn
        self.result: T | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.result = self._fn()
        except Exception as exc:  # handed to the main thread
            self.error = exc


class SqsWorker:
    """The receive loop: one message at a time, like the real single-slot worker."""

    def __init__(self, config: WorkerConfig, stop: threading.Event) -> None:
        self.config = config
        self.stop = stop
        self.jobs_done = 0
        self._sqs: Any = None
        self._queue_url: str | None = None
        redis = redis_client(config.redis_host, config.redis_port, config.redis_password, config.redis_db)
        self.handler = JobHandler(config, redis, stop)

    def _connect(self) -> tuple[Any, str]:
        """SQS client and queue URL, kept until a call fails (then both are rebuilt)."""
        if self._sqs is None or self._queue_url is None:
            # The long poll holds the response for wait_time seconds; the read timeout allows for it.
            sqs = boto3.client("sqs", region_name=self.config.aws_region, config=aws_config(self.config.wait_time + 10))
            self._queue_url = sqs.get_queue_url(QueueName=self.config.queue_name)["QueueUrl"]
            self._sqs = sqs
        return self._sqs, self._queue_url

    def run(self) -> None:
        """Poll until stopped (or until ``VIDEO_WORKER_MAX_JOBS`` messages were handled)."""
        cfg = self.config
        logger.info("Video Worker (SQS) started | queue=%s | wait_time=%s", cfg.queue_name, cfg.wait_time)
        while not self.stop.is_set():
            if cfg.max_jobs is not None and self.jobs_done >= cfg.max_jobs:
                logger.info("VIDEO_WORKER_MAX_JOBS=%s reached, exiting", cfg.max_jobs)
                return
            try:
                polled = self._interruptible(self._poll)
            except Exception as exc:  # credentials, endpoint, region, missing queue
                self._sqs = self._queue_url = None
                logger.error("SQS unavailable (AWS credentials invalid or missing?): %s", exc)
                self.stop.wait(cfg.retry_delay)
                continue
            if polled is None:
                return  # stopped during the poll
            sqs, queue_url, response = polled
            for message in response.get("Messages", []):
                self._on_message(sqs, queue_url, message)

    def _poll(self) -> tuple[Any, str, dict[str, Any]]:
        sqs, queue_url = self._connect()
        response = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=self.config.wait_time, MaxNumberOfMessages=1)
        return sqs, queue_url, response

    def _interruptible(self, fn: Callable[[], T]) -> T | None:
        """Run ``fn`` in a daemon thread; None if stop is set first, else its result (or its error)."""
        call: _Call[T] = _Call(fn)
        call.start()
        while call.is_alive():
            if self.stop.wait(0.2):
                return None
        if call.error is not None:
            raise call.error
        return call.result

    def _on_message(self, sqs: Any, queue_url: str, message: dict[str, Any]) -> None:
        receipt = message["ReceiptHandle"]
        self.jobs_done += 1
        try:
            job = Job.from_body(message.get("Body", ""))
        except (ValueError, KeyError, TypeError) as exc:
            # A body that is not a job can never succeed: drop it instead of cycling it forever.
            logger.error("invalid message body, deleting: %s: %r", exc, message.get("Body", "")[:200])
            self._delete(sqs, queue_url, receipt)
            return
        logger.info(
            "SQS_MESSAGE_RECEIVED | request_id=%s | video_id=%s | tenant_id=%s",
            job.request_id,
            job.video_id,
            job.tenant_id,
        )
        try:
            # Appendix B 3: hide the message for the whole job (default 6 h) so no other worker takes it.
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=self.config.visibility
            )
        except Exception as exc:  # the job can still run within the queue's default
            logger.warning("change_message_visibility failed: %s", exc)
        outcome = self.handler.handle(job)
        if outcome is Outcome.COMPLETED:
            self._delete(sqs, queue_url, receipt)
            logger.info("SQS_JOB_COMPLETED | request_id=%s | video_id=%s", job.request_id, job.video_id)
        elif outcome is Outcome.SKIPPED:
            self._delete(sqs, queue_url, receipt)
            logger.info("SQS message deleted after skip | request_id=%s | video_id=%s", job.request_id, job.video_id)
        elif outcome is Outcome.FAILED:
            # Not deleted: visible again after the visibility timeout, then DLQ/redrive policy applies.
            logger.error("SQS_JOB_FAILED | request_id=%s | video_id=%s", job.request_id, job.video_id)
        # INTERRUPTED: kept in flight, the loop ends because stop is set.

    @staticmethod
    def _delete(sqs: Any, queue_url: str, receipt: str) -> None:
        try:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
        except Exception as exc:  # the message will come back; log and go on
            logger.error("SQS delete_message failed: %s", exc)


def main() -> int:
    """Entry point: load config (exit 1 on ``config error``), run until a signal, exit 0."""
    configure_logging()
    try:
        config = load_config()
    except ConfigError as exc:
        logger.error("config error: %s", exc)
        return 1
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()  # only this: logging from a signal handler could re-enter a half-written line

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        db.settings_from_env()
    except db.DatabaseConfigError as exc:
        # Not a §3 variable, so not a "config error": jobs will fail with this message instead.
        logger.warning("%s", exc)
    SqsWorker(config, stop).run()
    logger.info("Video Worker (SQS) stopped%s", " (signal)" if stop.is_set() else "")
    return 0
