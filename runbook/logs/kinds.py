"""The kinds of log lines the runbook reads, and the plain tuples the classifier returns."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

#: Longest value kept from a line (an error text, a config message): bounds memory per video.
MAX_FIELD: Final = 1024


class EventKind(StrEnum):
    """The log lines the runbook reads, one member per line type: the runbook's quoted lines and the real
    system's lines on the same paths (``runbook.production.LINES`` lists them with their sources)."""

    STARTED = "started"
    CONFIG_ERROR = "config_error"
    SQS_UNAVAILABLE = "sqs_unavailable"
    RECEIVED = "received"
    LOCK_ACQUIRED = "lock_acquired"
    PROCESS_COMPLETED = "process_completed"
    JOB_COMPLETED = "job_completed"
    JOB_FAILED = "job_failed"
    PROCESSING_FAILED = "processing_failed"
    SKIP_LOCK = "skip_lock"
    SKIP_STATUS = "skip_status"
    SKIP_CANCEL = "skip_cancel"
    ROW_EXISTS = "row_exists"
    ENQUEUED = "enqueued"
    ENQUEUE_FAILED = "enqueue_failed"
    # The real system's other lines (runbook.production.LINES).
    CREDENTIALS_FOUND = "credentials_found"  # botocore: where the process's AWS keys come from
    QUEUE_CLIENT = "queue_client"  # SQSQueueClient initialized: <region>
    SQS_ERROR = "sqs_error"  # Failed to get queue URL / send / receive / delete / change visibility
    INVALID_MESSAGE = "invalid_message"
    SKIP_READY = "skip_ready"  # VIDEO_ALREADY_READY_SKIP: deleted, the video is READY
    HANDLE_CALLED = "handle_called"
    HANDLE_RESULT = "handle_result"  # [SQS_MAIN] handler.handle() returned ... result=ok|skip|failed
    HANDLER_EXCEPTION = "handler_exception"
    HANDLER_STARTED = "handler_started"
    LOCK_HELD = "lock_held"  # IDEMPOTENT_SKIP: the lock is someone else's
    MARK_REFUSED = "mark_refused"  # Cannot mark video N as PROCESSING: status=S (the row exists)
    PROCESS_STARTED = "process_started"
    CANCELLED = "cancelled"  # cancel flag seen mid-run: skipped
    DOWNLOAD_RETRY = "download_retry"
    TRANSCODE = "transcode"  # [TRANSCODER] / [PROCESSOR] progress of one encode
    THUMBNAIL_FAILED = "thumbnail_failed"
    COMPLETE_WARNING = "complete_warning"  # completing a row that is not PROCESSING
    PROCESSING_COMPLETED = "processing_completed"
    RAW_DELETED = "raw_deleted"
    ENCODING_DURATION = "encoding_duration"
    REDIS_CONNECTED = "redis_connected"
    REDIS_UNAVAILABLE = "redis_unavailable"
    REDIS_ERROR = "redis_error"
    LOOP_ERROR = "loop_error"
    WORKER_EXIT = "worker_exit"
    SHUTDOWN = "shutdown"
    ENQUEUE_REFUSED = "enqueue_refused"
    API_ERROR = "api_error"


Fields = tuple[tuple[str, str], ...]
#: (kind, video id, fields) as :func:`runbook.logs.classify.classify` returns it.
Raw = tuple[EventKind, int | None, Fields]


def text(value: bytes) -> str:
    """Decode a kept value: bounded, invalid UTF-8 replaced, surrounding blanks (and CR) dropped."""
    return value[:MAX_FIELD].decode("utf-8", "replace").strip()
