"""The SQS loop, as the real worker runs it (one message at a time):

- start: ``SQSQueueClient initialized: <region>``, ``Video Worker (SQS) started | queue=<q> | wait_time=20s``
  (before any SQS call);
- credentials refused: ``SQS unavailable (AWS credentials invalid or missing?). Waiting 60s before retry. <e>``;
  any other queue failure is the client's ``Failed to get queue URL ...`` / ``Failed to receive message ...``,
  and the loop polls again;
- a body without ``video_id`` stays in the queue (back after its visibility timeout, then the DLQ); one without
  ``tenant_id`` is deleted; a video already READY is deleted with ``VIDEO_ALREADY_READY_SKIP``;
- ``SQS_MESSAGE_RECEIVED | request_id=<8 hex> | video_id | tenant_id | queue_wait_sec | created_at``, then the
  handler, its visibility extended by 300 s every 240 s while it runs;
- ``ok``: the raw upload deleted, the message deleted, ``SQS_JOB_COMPLETED`` and ``VIDEO_ENCODING_DURATION``;
  ``skip``: deleted; ``failed``: visibility 0 (back at once) and ``SQS_JOB_FAILED`` (with ``NoneType: None``);
- ten failures in a row: ``Too many consecutive errors (10), shutting down``, exit 1.

SIGTERM/SIGINT: ``Received SIGTERM, initiating graceful shutdown... | current_job=...``; the current job is
finished (a long poll is abandoned at once: its message comes back after the queue's visibility timeout).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any, Generic, TypeVar

from reference import RedisConnection, configure_logging, db
from reference.queue_client import QueueClient, QueueUnavailable
from reference.video_worker.config import ConfigError, WorkerConfig, load_config
from reference.video_worker.handler import Job, JobHandler

logger = logging.getLogger("video_worker_sqs")
adapter_log = logging.getLogger("apps.support.video.services.sqs_queue")
T = TypeVar("T")

VISIBILITY_EXTEND_SECONDS = 300
VISIBILITY_EXTEND_INTERVAL_SECONDS = 240
MAX_CONSECUTIVE_ERRORS = 10


class _Call(threading.Thread, Generic[T]):
    """One blocking SQS call in a daemon thread, so shutdown never waits for a 20 s long poll."""

    def __init__(self, fn: Callable[[], T]) -> None:
        super().__init__(daemon=True)
        self._fn = fn
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._fn()
        except BaseException as exc:  # handed to the main thread
            self.error = exc


def _parse(message: dict[str, Any]) -> dict[str, Any] | None:
    """The adapter's reading of a message: ``None`` (logged, not deleted) for a body that is no job."""
    body = message.get("Body", "")
    receipt = message.get("ReceiptHandle")
    try:
        data = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        adapter_log.error("Invalid JSON in message: %s", body)
        return None
    if not isinstance(data, dict):
        adapter_log.error("Invalid message format: %s", data)
        return None
    if "video_id" not in data:
        adapter_log.error("Invalid message format (video_id required): %s", data)
        return None
    if not receipt:
        adapter_log.error("Missing ReceiptHandle in SQS message")
        return None
    try:
        tenant = data.get("tenant_id")
        return {
            "video_id": int(data["video_id"]),
            "file_key": str(data.get("file_key", "")),
            "tenant_id": int(tenant) if tenant is not None else None,
            "tenant_code": str(data.get("tenant_code", "")),
            "receipt_handle": receipt,
            "message_id": message.get("MessageId"),
            "created_at": data.get("created_at"),
        }
    except (TypeError, ValueError) as exc:
        adapter_log.exception("Error receiving message from SQS: %s", exc)
        return None


def _queue_wait(created_at: object, received: float) -> float:
    try:
        if created_at is None:
            return 0.0
        if isinstance(created_at, (int, float)):
            return received - float(created_at)
        return received - datetime.fromisoformat(str(created_at).replace("Z", "+00:00")).timestamp()
    except (ValueError, TypeError):
        return 0.0


class SqsWorker:
    """The receive loop."""

    def __init__(self, config: WorkerConfig, stop: threading.Event) -> None:
        self.config = config
        self.stop = stop
        self.jobs_done = 0
        self.queue = QueueClient(read_timeout=config.wait_time + 10)
        self.handler = JobHandler(config, RedisConnection(), stop)
        self.current: str | None = None

    def run(self) -> int:
        cfg = self.config
        logger.info("Video Worker (SQS) started | queue=%s | wait_time=%ss", cfg.queue_name, cfg.wait_time)
        errors = 0
        while not self.stop.is_set():
            if cfg.max_jobs is not None and self.jobs_done >= cfg.max_jobs:
                break
            try:
                message = self._interruptible(lambda: self.queue.receive(cfg.queue_name, cfg.wait_time))
            except QueueUnavailable as exc:
                logger.warning(
                    "SQS unavailable (AWS credentials invalid or missing?). Waiting 60s before retry. %s", exc
                )
                self.stop.wait(cfg.retry_delay)
                continue
            if self.stop.is_set():
                break
            if not message:
                # Production polls again at once, after a failed receive too (a tight loop); a short pause here
                # spares the shared machine without changing a line of the log.
                errors = 0
                self.stop.wait(0.5)
                continue
            self.jobs_done += 1
            try:
                errors = self._on_message(message, errors)
            except Exception as exc:  # the main loop's net: visibility 0, wait, go on
                receipt = message.get("ReceiptHandle", "")
                self.queue.change_visibility(cfg.queue_name, receipt, 0)
                logger.exception("Unexpected error in main loop: %s", exc)
                errors += 1
                self.stop.wait(5)
            if errors >= MAX_CONSECUTIVE_ERRORS:
                logger.error("Too many consecutive errors (%s), shutting down", errors)
                return 1
        logger.info("Video Worker shutdown complete")
        return 0

    def _interruptible(self, fn: Callable[[], T]) -> T | None:
        """Run ``fn`` in a daemon thread; ``None`` if stop is set first, else its result (or its error)."""
        call: _Call[T] = _Call(fn)
        call.start()
        while call.is_alive():
            if self.stop.wait(0.2):
                return None
        if call.error is not None:
            raise call.error
        return call.result

    def _on_message(self, raw: dict[str, Any], errors: int) -> int:
        cfg = self.config
        message = _parse(raw)
        if message is None:
            return errors
        receipt = message["receipt_handle"]
        video_id, tenant_id = message["video_id"], message["tenant_id"]
        if not video_id or tenant_id is None:
            logger.error("Invalid message format (video_id, tenant_id required): %s", message)
            self.queue.delete(cfg.queue_name, receipt)
            return errors
        with db.connect(create=False) as conn:
            status = db.get_video_status(conn, video_id)
        if status == "READY":
            self.queue.delete(cfg.queue_name, receipt)
            logger.info("VIDEO_ALREADY_READY_SKIP | video_id=%s (retry 등으로 이미 완료)", video_id)
            return errors
        request_id = str(uuid.uuid4())[:8]
        received = time.time()
        wait = _queue_wait(message["created_at"], received)
        logger.info(
            "SQS_MESSAGE_RECEIVED | request_id=%s | video_id=%s | tenant_id=%s | queue_wait_sec=%.2f | created_at=%s",
            request_id,
            video_id,
            tenant_id,
            wait,
            message["created_at"] or "unknown",
        )
        job = Job(video_id, message["file_key"], tenant_id, message["tenant_code"])
        self.current = receipt
        done = threading.Event()
        extender = threading.Thread(target=self._extend, args=(receipt, done), daemon=True)
        extender.start()
        try:
            logger.info("[SQS_MAIN] Calling handler.handle() video_id=%s", video_id)
            result = self.handler.handle(job)
            logger.info("[SQS_MAIN] handler.handle() returned video_id=%s result=%s", video_id, result)
        except Exception as exc:
            done.set()
            self.queue.change_visibility(cfg.queue_name, receipt, 0)
            logger.exception("[SQS_MAIN] Handler exception (visibility 0 applied): video_id=%s: %s", video_id, exc)
            self.current = None
            self.stop.wait(5)
            return errors + 1
        finally:
            done.set()
            extender.join(timeout=1)
        duration = time.time() - received
        self.current = None
        if result == "ok":
            if job.file_key.strip():
                self._delete_raw(job)
            self.queue.delete(cfg.queue_name, receipt)
            logger.info(
                "SQS_JOB_COMPLETED | request_id=%s | video_id=%s | tenant_code=%s | processing_duration=%.2f | "
                "queue_wait_sec=%.2f",
                request_id, video_id, job.tenant_code, duration, wait,
            )  # fmt: skip
            logger.info("VIDEO_ENCODING_DURATION | video_id=%s | duration_sec=%.2f", video_id, duration)
            return 0
        if result == "skip":
            self.queue.delete(cfg.queue_name, receipt)
            return 0
        # Failed: visible again at once, so that another worker takes it right away.
        self.queue.change_visibility(cfg.queue_name, receipt, 0)
        # Logged with the traceback machinery outside an except block, as the real worker does: "NoneType: None".
        logger.exception(
            "SQS_JOB_FAILED | request_id=%s | video_id=%s | tenant_code=%s | processing_duration=%.2f | "
            "queue_wait_sec=%.2f",
            request_id, video_id, job.tenant_code, duration, wait,
        )  # fmt: skip
        return errors + 1

    def _extend(self, receipt: str, done: threading.Event) -> None:
        """Every 240 s while the handler runs: the message stays hidden 300 s more."""
        while not done.wait(VISIBILITY_EXTEND_INTERVAL_SECONDS):
            self.queue.change_visibility(self.config.queue_name, receipt, VISIBILITY_EXTEND_SECONDS)

    def _delete_raw(self, job: Job) -> None:
        for attempt in range(3):
            try:
                self.handler.storage.delete_raw(job.file_key.strip())
                logger.info("R2 raw deleted after encode video_id=%s key=%s", job.video_id, job.file_key[:80])
                return
            except Exception as exc:
                logger.warning(
                    "R2 raw delete after encode failed video_id=%s attempt=%s: %s", job.video_id, attempt + 1, exc
                )
                if attempt < 2:
                    time.sleep(2**attempt)


def main() -> int:
    """Entry point: load config (``config error`` and exit 1), run until a signal."""
    configure_logging("worker")
    try:
        config = load_config()
    except ConfigError as exc:
        logger.critical("config error: %s", exc)
        return 1
    stop = threading.Event()
    worker: list[SqsWorker] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        current = "processing" if worker and worker[0].current else "idle"
        logger.info(
            "Received %s, initiating graceful shutdown... | current_job=%s", signal.Signals(signum).name, current
        )
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.append(SqsWorker(config, stop))
    return worker[0].run()
