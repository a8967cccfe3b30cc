"""The real system's lines beyond the runbook's quotes (``runbook.production.LINES``), each behind its anchor.

Off the hot path of the runbook's own lines (:mod:`runbook.logs.classify` tries those first): the worker's
bookkeeping around a job, the queue client's and the repositories' failures, Redis, the API's enqueue refusals.
"""

from __future__ import annotations

from typing import Final

from runbook.logs import patterns as p
from runbook.logs.kinds import EventKind, Fields, Raw, text

_K = EventKind
_NO_FIELDS: Final[Fields] = ()


def _error(line: bytes, start: int) -> str | None:
    m = p.ERROR_FIELD.search(line, start)
    return text(m.group(1)) if m is not None else None


def real(line: bytes) -> Raw | None:
    """The real system's other lines (``runbook.production.LINES``), each behind its anchor's literal."""
    if b"Failed to" in line or b"Error " in line:
        m = p.SQS_ERROR.search(line)
        if m is not None:
            op = m.group("op") or m.group("op2") or m.group("op3") or b""
            fields = [("op", op.decode().replace(" ", "_").lower())]
            if m.group("queue") is not None:
                fields.append(("queue", text(m.group("queue"))))
            fields.append(("error", text(m.group("error"))))
            return _K.SQS_ERROR, None, tuple(fields)
        m = p.ENQUEUE_FAILED_REAL.search(line)
        if m is not None:
            return _K.ENQUEUE_FAILED, int(m.group(1)), (("error", _error(line, m.end()) or ""),)
    if b"Redis" in line:
        m = p.REDIS.search(line)
        if m is not None:
            if m.group("host") is not None:
                where = (
                    ("host", m.group("host").decode()),
                    ("port", m.group("port").decode()),
                    ("db", m.group("db").decode()),
                )
                return _K.REDIS_CONNECTED, None, where
            if m.group("unavailable") is not None:
                error = text(m.group("error"))
                return _K.REDIS_UNAVAILABLE, None, (("error", error),) if error else _NO_FIELDS
            return _K.REDIS_ERROR, None, (("error", text(m.group("detail"))),)
    if b"Cannot" in line:
        m = p.MARK_REFUSED.search(line)
        if m is not None:
            return _K.MARK_REFUSED, int(m.group(1)), (("status", m.group(2).decode()),)
        m = p.ENQUEUE_REFUSED.search(line)
        if m is not None:
            status = m.group(2)
            return _K.ENQUEUE_REFUSED, int(m.group(1)), (("status", status.decode()),) if status else _NO_FIELDS
    if b"VIDEO_" in line:
        m = p.SKIP_READY.search(line)
        if m is not None:
            return _K.SKIP_READY, int(m.group(1)), _NO_FIELDS
        m = p.ENCODING_DURATION.search(line)
        if m is not None:
            return _K.ENCODING_DURATION, int(m.group(1)), _NO_FIELDS
    if b"[TRANSCODER]" in line or b"[PROCESSOR]" in line:
        m = p.TRANSCODE.search(line)
        if m is not None:
            return _K.TRANSCODE, int(m.group(1)), _NO_FIELDS
    if b"IDEMPOTENT_SKIP" in line:
        m = p.LOCK_HELD.search(line)
        if m is not None:
            return _K.LOCK_HELD, int(m.group(1)), _NO_FIELDS
    if b"(expected PROCESSING)" in line:
        m = p.COMPLETE_WARNING.search(line)
        if m is not None:
            return _K.COMPLETE_WARNING, int(m.group(1)), (("status", m.group(2).decode()),)
    if b"Invalid" in line or b"Missing ReceiptHandle" in line:
        m = p.INVALID_MESSAGE.search(line)
        if m is not None:
            return _K.INVALID_MESSAGE, None, (("error", text(line[m.start() :])),)
    if b"download retry" in line:
        m = p.DOWNLOAD_RETRY.search(line)
        if m is not None:
            return _K.DOWNLOAD_RETRY, None, (("attempt", m.group(1).decode()), ("error", text(m.group(2) or b"")))
    if b"thumbnail failed" in line:
        m = p.THUMBNAIL_FAILED.search(line)
        if m is not None:
            return _K.THUMBNAIL_FAILED, int(m.group(1)), (("error", text(m.group(2) or b"")),)
    if b"R2 raw delete" in line:
        m = p.RAW_DELETED.search(line)
        if m is not None:
            return _K.RAW_DELETED, int(m.group(2)), (("deleted", "True" if m.group(1) else "False"),)
    if b"Found credentials" in line:
        m = p.CREDENTIALS_FOUND.search(line)
        if m is not None:
            return _K.CREDENTIALS_FOUND, None, (("source", text(m.group(1))),)
    return _rare(line)


def _rare(line: bytes) -> Raw | None:
    """Lines of a failing or stopping process: main-loop errors, exits, shutdowns, the API's 500s."""
    if b"Unexpected error" in line or b"Video Worker" in line:
        m = p.LOOP_ERROR.search(line)
        if m is not None:
            return _K.LOOP_ERROR, None, (("error", text(m.group(1) or b"Fatal error in Video Worker")),)
    if b"Too many consecutive" in line:
        m = p.WORKER_EXIT.search(line)
        if m is not None:
            return _K.WORKER_EXIT, None, (("errors", m.group(1).decode()),)
    if b"raceful shutdown" in line or b"Video Worker" in line:
        m = p.SHUTDOWN.search(line)
        if m is not None:
            signal = m.group(1)
            return _K.SHUTDOWN, None, (("signal", signal.decode()),) if signal else _NO_FIELDS
    if b"Unhandled exception" in line:
        m = p.API_ERROR.search(line)
        if m is not None:
            return _K.API_ERROR, None, (("error", text(m.group(1))),)
    return None
