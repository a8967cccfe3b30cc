"""Recognise one log line: which of the runbook's lines it is, for which video, with which values.

This is the hot path of :func:`runbook.logs.parser.summarize`, so it works on ``bytes``, returns plain
tuples and decodes only the values it keeps. :func:`runbook.logs.parser.parse_line` wraps the result
in an :class:`~runbook.logs.parser.Event`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runbook.logs import patterns as p
from runbook.logs.classify_real import real
from runbook.logs.kinds import MAX_FIELD, EventKind, Fields, Raw, text

__all__ = ["MAX_FIELD", "EventKind", "Fields", "Raw", "classify", "is_continuation", "parse_timestamp", "text"]


# CPython 3.11 resolves ``EventKind.X`` through the enum metaclass, about ten times slower than a
# module global: the per-line code below uses these names instead.
_STARTED = EventKind.STARTED
_CONFIG_ERROR = EventKind.CONFIG_ERROR
_SQS_UNAVAILABLE = EventKind.SQS_UNAVAILABLE
_RECEIVED = EventKind.RECEIVED
_LOCK_ACQUIRED = EventKind.LOCK_ACQUIRED
_PROCESS_COMPLETED = EventKind.PROCESS_COMPLETED
_JOB_COMPLETED = EventKind.JOB_COMPLETED
_JOB_FAILED = EventKind.JOB_FAILED
_PROCESSING_FAILED = EventKind.PROCESSING_FAILED
_SKIP_LOCK = EventKind.SKIP_LOCK
_SKIP_STATUS = EventKind.SKIP_STATUS
_SKIP_CANCEL = EventKind.SKIP_CANCEL
_ROW_EXISTS = EventKind.ROW_EXISTS
_ENQUEUED = EventKind.ENQUEUED
_ENQUEUE_FAILED = EventKind.ENQUEUE_FAILED
_K = EventKind  # the real system's rarer lines: attribute access is fine off the hot path


_SQS_KINDS: Final = {
    b"MESSAGE_RECEIVED": _RECEIVED,
    b"JOB_COMPLETED": _JOB_COMPLETED,
    b"JOB_FAILED": _JOB_FAILED,
}
# Values of an SQS_* line worth keeping; anything else in the line is ignored.
_SQS_KEYS: Final = frozenset({b"request_id", b"tenant_id", b"tenant_code", b"created_at", b"processing_duration"})
#: Kept even by a partial classification: the tenant (for the Redis keys) and the message's age.
_SQS_KEYS_PARTIAL: Final = frozenset({b"tenant_id", b"created_at"})
_NO_FIELDS: Fields = ()


def _video_id(line: bytes, start: int) -> int | None:
    # The id normally follows the phrase; look before it too for reordered (structured) formats.
    m = p.VIDEO_ID.search(line, start) or p.VIDEO_ID.search(line)
    return int(m.group(1)) if m is not None else None


def _error(line: bytes, start: int) -> str | None:
    m = p.ERROR_FIELD.search(line, start)
    return text(m.group(1)) if m is not None else None


def is_continuation(line: bytes) -> bool:
    """Whether ``line`` continues the previous record (a traceback, ``NoneType: None``) instead of starting one.

    Looked at after the RFC3339 stamp that docker and the CloudWatch source put before every line. Such a line
    is never classified on its own: a traceback's source lines quote the very phrases the classifier knows.
    """
    if line[:1].isdigit() and line[10:11] == b"T":
        m = p.SOURCE_STAMP.match(line)
        if m is not None:
            return p.CONTINUATION.match(line, m.end()) is not None
    return p.CONTINUATION.match(line) is not None


def classify(line: bytes, *, full: bool = True) -> Raw | None:
    """Return ``(kind, video_id, fields)`` for a line the runbook reads, or ``None`` for any other line.

    ``line`` must already be capped (see :data:`~runbook.logs.patterns.MAX_SCAN`). With
    ``full=False`` the values that :func:`~runbook.logs.parser.summarize` does not keep (request ids,
    ``hls_path``) are not extracted, which makes the common lines cheaper. When a line could match two
    phrases, the order below decides: the worker's own SQS_* and [HANDLER] lines first, ``config error``
    and ``row exists=`` last because they also appear inside other lines' error texts. A continuation line
    (:func:`is_continuation`) is ``None``.
    """
    if is_continuation(line):
        return None
    raw = _classify(line, full)
    if b"row exists=" in line:
        m = p.ROW_EXISTS.search(line)
        if m is not None:
            row = ("row_exists", m.group(1).decode())
            if raw is None:
                vid = _video_id(line, 0)
                return None if vid is None else (_ROW_EXISTS, vid, (row,))
            return raw[0], raw[1], (*raw[2], row)
    return raw


def _classify(line: bytes, full: bool) -> Raw | None:
    if b"SQS" in line:
        raw = _sqs(line, full)
        if raw is not None:
            return raw
    if b"[HANDLER]" in line:
        m = p.HANDLER.search(line)
        if m is not None:
            return _handler(line, m, full)
    if b"Video processing" in line:
        m = p.PROCESSING_FAILED.search(line)
        if m is not None:
            start = m.end()
            vid = p.VIDEO_ID.search(line, start)
            error = _error(line, start)
            if error is None:  # no "error=": keep whatever the line says after the id
                error = text(line[vid.end() if vid is not None else start :]).lstrip(",;: ")
            video_id = int(vid.group(1)) if vid is not None else _video_id(line, 0)
            return _PROCESSING_FAILED, video_id, (("error", error),) if error else _NO_FIELDS
        m = p.PROCESSING_COMPLETED.search(line)
        if m is not None:
            return _K.PROCESSING_COMPLETED, _video_id(line, m.end()), _NO_FIELDS
    if b"Video job enqueue" in line:
        m = p.ENQUEUED.search(line)
        if m is not None:
            return _ENQUEUED, int(m.group(1)), _NO_FIELDS
        m = p.ENQUEUE_FAILED.search(line)
        if m is not None:
            return _ENQUEUE_FAILED, int(m.group(1)), (("error", _error(line, m.end()) or ""),)
    if b"/upload/complete" in line or b"/retry" in line:
        raw = _upload_503(line)
        if raw is not None:
            return raw
    raw = real(line)
    if raw is not None:
        return raw
    if b"config error" in line:
        m = p.CONFIG_ERROR.search(line)
        if m is not None:
            message = m.group(1)
            fields = [("error", text(message))]
            pair = p.ANY_OF.search(message)
            var = p.ENV_VAR.search(message)
            if pair is not None:  # "(any of): R2_BUCKET, R2_VIDEO_BUCKET" names the pair
                fields.append(("variable", "/".join(v.decode() for v in p.ENV_VAR.findall(pair.group(1)))))
            elif var is not None:
                fields.append(("variable", var.group(1).decode()))
            return _CONFIG_ERROR, None, tuple(fields)
    return None


def _sqs(line: bytes, full: bool) -> Raw | None:
    m = p.SQS_EVENT.search(line)
    if m is not None:
        return _sqs_event(line, m, full)
    if p.STARTED.search(line) is not None:
        fields: list[tuple[str, str]] = []
        q = p.QUEUE.search(line)
        if q is not None:
            fields.append(("queue", text(q.group(1))))
        w = p.WAIT_TIME.search(line)
        if w is not None:
            fields.append(("wait_time", w.group(1).decode()))
        return _STARTED, None, tuple(fields)
    m = p.SQS_UNAVAILABLE.search(line)
    if m is not None:
        reason = m.group(1)
        return _SQS_UNAVAILABLE, None, (("error", text(reason)),) if reason else _NO_FIELDS
    if b"[SQS_MAIN]" in line:
        m = p.SQS_MAIN.search(line)
        if m is not None:
            if m.group("handle_called") is not None:
                return _K.HANDLE_CALLED, _video_id(line, m.end()), _NO_FIELDS
            if m.group("handle_result") is not None:
                return _K.HANDLE_RESULT, int(m.group("handle_result")), (("result", m.group("result").decode()),)
            error = text(m.group("exception_error"))
            return _K.HANDLER_EXCEPTION, int(m.group("exception_video")), (("error", error),) if error else _NO_FIELDS
    m = p.QUEUE_CLIENT.search(line)
    if m is not None:
        return _K.QUEUE_CLIENT, None, (("region", m.group(1).decode()),)
    m = p.SQS_AUTH.search(line)
    if m is not None:
        detail: bytes = m.group(3)
        hint = detail.find(p.AUTH_HINT)
        if hint >= 0:
            detail = detail[:hint]
        return (
            _SQS_UNAVAILABLE,
            None,
            (("op", m.group(1).decode()), ("queue", text(m.group(2))), ("error", text(detail))),
        )
    return None


def _sqs_event(line: bytes, m: re.Match[bytes], full: bool) -> Raw:
    kind = _SQS_KINDS[m.group(1)]
    vid = m.group(2)
    video_id = int(vid) if vid is not None else _video_id(line, 0)
    start = m.start()
    keys = _SQS_KEYS if full else _SQS_KEYS_PARTIAL
    fields: list[tuple[str, str]] = [(k.decode(), text(v)) for k, v in p.KV.findall(line, start) if k in keys]
    if kind is _JOB_FAILED:
        error = _error(line, start)
        if error is not None:
            fields.append(("error", error))
    return kind, video_id, tuple(fields)


def _handler(line: bytes, m: re.Match[bytes], full: bool) -> Raw:
    name = m.lastgroup
    if name == "skip_status":
        return _SKIP_STATUS, int(m.group(name)), _NO_FIELDS
    if name == "skip_cancel":
        return _SKIP_CANCEL, int(m.group(name)), _NO_FIELDS
    # The runbook's "Lock acquisition failed" names no video (the real line does); summarize() attributes it.
    vid = p.VIDEO_ID.search(line, m.end())
    video_id = int(vid.group(1)) if vid is not None else None
    if name == "lock_acquired":
        return _LOCK_ACQUIRED, video_id, _NO_FIELDS
    if name == "skip_lock":
        return _SKIP_LOCK, video_id, _NO_FIELDS
    if name == "handler_started":
        return _K.HANDLER_STARTED, video_id, _NO_FIELDS
    if name == "process_started":
        return _K.PROCESS_STARTED, video_id, _NO_FIELDS
    if name == "cancelled":
        return _K.CANCELLED, video_id, _NO_FIELDS
    fields: Fields = _NO_FIELDS
    if full:
        h = p.HLS_PATH.search(line, m.end())
        fields = (("hls_path", text(h.group(1))),) if h is not None else _NO_FIELDS
    return _PROCESS_COMPLETED, video_id, fields


def _upload_503(line: bytes) -> Raw | None:
    m = p.UPLOAD_COMPLETE_POST.search(line)
    if m is not None:
        if p.STATUS_AFTER_PATH.match(line, m.end()) or p.STATUS_FIELD.search(line):
            return _ENQUEUE_FAILED, int(m.group(1)), (("error", "HTTP 503"),)
        return None
    m = p.DJANGO_503.search(line)
    if m is not None:
        return _ENQUEUE_FAILED, int(m.group(1)), (("error", "HTTP 503"),)
    return None


def parse_timestamp(head: bytes | None, tz: tzinfo = UTC) -> datetime | None:
    """Parse a leading RFC3339 / ISO 8601 / ``YYYY-MM-DD HH:MM:SS,mmm`` timestamp into UTC.

    A timestamp without a zone is in ``tz`` (``--log-timezone``): docker's and CloudWatch's own stamps are
    UTC with a ``Z``, but the real worker logs naive local time (``TIME_ZONE=Asia/Seoul``, see
    ``runbook.production``). Impossible values (month 13, second 61) give ``None``.
    """
    if not head:
        return None
    m = p.TIMESTAMP.match(head)
    if m is None:
        return None
    stamp, zone = m.group(1), m.group(2)
    numeric = zone is not None and zone[:1] in b"+-"
    local = zone is None and tz is not UTC
    # Appending the zone lets fromisoformat (C; ',' or '.', any number of fraction digits, +hh[[:]mm])
    # return an aware datetime in one call; 'Z', 'UTC' and (in UTC) no zone at all are all UTC here.
    if not local:
        stamp += zone if numeric else b"+00:00"
    try:
        parsed = datetime.fromisoformat(stamp.decode("ascii"))
    except ValueError:
        return None
    if not numeric and not local:
        return parsed
    try:
        return (parsed.replace(tzinfo=tz) if local else parsed).astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 with a positive offset, say
        return None


def timezone_named(name: str) -> tzinfo:
    """``UTC``, ``Z``, an offset (``+09:00``) or an IANA zone name (``Asia/Seoul``); ``ValueError`` otherwise."""
    value = name.strip()
    if value.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", value)
    if m is not None:
        minutes = int(m.group(2)) * 60 + int(m.group(3))
        if minutes >= 24 * 60:
            raise ValueError(f"offset {value} out of range")
        return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}", value):
        raise ValueError(f"{value!r} is not a time zone name")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {value!r}") from None
