"""Compiled patterns for the log lines the runbook quotes (§3, §5, §6, §9 and the appendix).

Every pattern works on ``bytes``: the parser decodes only the few values it keeps, so a log is never
decoded as a whole. A log line may carry any prefix (a timestamp, a level, a logger name, docker's
RFC3339 timestamp), so every phrase is searched anywhere in the line, never anchored at its start.

The phrases, as the runbook writes them:

- §3: ``config error: ...`` and ``Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20``
- §5: ``SQS unavailable (AWS credentials invalid or missing?)``,
  ``SQS_MESSAGE_RECEIVED | request_id=... | video_id=... | tenant_id=...``,
  ``[HANDLER] Lock acquired, marking as PROCESSING video_id=...``,
  ``[HANDLER] process_fn completed video_id=... hls_path=...``,
  ``SQS_JOB_COMPLETED | request_id=... | video_id=...``, ``SQS_JOB_FAILED | request_id=... | video_id=...``,
  ``Video processing failed: video_id=...``
- §6: ``Video job enqueued: video_id=<id>``; "503 또는 enqueue 실패 로그"
- §9: ``[HANDLER] Lock acquisition failed, skipping``, ``[HANDLER] Cannot mark video N as PROCESSING, skipping``,
  ``[HANDLER] Cancel requested for video_id=N, skipping``
- appendix: ``Video processing failed: video_id=N, error=Failed to complete video: not_found`` and
  ``row exists=True/False`` logged when ``complete_video`` fails.
"""

from __future__ import annotations

import re
from typing import Final

#: Only this many bytes of a line are looked at: a runaway line (a base64 blob, a binary dump) costs
#: no more than a normal one, and every phrase the runbook quotes sits well inside it.
MAX_SCAN: Final = 64 * 1024

# Prefilter anchors. A line is examined further only when it contains one of these literals; every
# pattern below contains at least one of them. They are searched with ``bytes.find`` (the fastest
# substring search CPython has), so fewer and longer anchors make the scan faster.
ANCHOR_SQS: Final = b"SQS"  # SQS_MESSAGE_RECEIVED, SQS_JOB_*, "(SQS) started", "SQS unavailable"
ANCHOR_HANDLER: Final = b"[HANDLER]"
ANCHOR_CONFIG: Final = b"config error"
ANCHOR_PROCESSING_FAILED: Final = b"Video processing failed"
ANCHOR_ENQUEUE: Final = b"Video job enqueue"  # "enqueued" and "enqueue failed"
ANCHOR_ROW_EXISTS: Final = b"row exists="
ANCHOR_UPLOAD_COMPLETE: Final = b"/upload/complete"  # the upload-complete endpoint answering 503

ANCHORS: Final[tuple[bytes, ...]] = (
    ANCHOR_SQS,
    ANCHOR_HANDLER,
    ANCHOR_CONFIG,
    ANCHOR_PROCESSING_FAILED,
    ANCHOR_ENQUEUE,
    ANCHOR_ROW_EXISTS,
    ANCHOR_UPLOAD_COMPLETE,
)

#: The same prefilter as one POSIX extended regex, for ``grep -c -E`` comparisons.
GREP_PATTERN: Final = "|".join(re.sub(r"([][().|*+?{}\\^$])", r"\\\1", a.decode()) for a in ANCHORS)

# Patterns used with search() start with a literal (never with \b or a lookbehind): the regex
# engine then skips ahead with a fast literal search instead of trying every position, about three
# times faster on a typical line.

# A video id is at most 18 digits: int() of a longer run of digits could exceed Python's limit on
# int/str conversion (4300 digits) and raise, and no database id is that long.
_ID: Final = rb"(\d{1,18})(?!\d)"

#: ``key=value`` pairs after ``SQS_...`` (values stop at blanks, pipes, commas and quotes, so JSON
#: wrapped lines and truncated lines still give clean values).
KV: Final = re.compile(rb"([a-z_]+)=([^\s|,\"']*)")
VIDEO_ID: Final = re.compile(rb"video_id[=:]\s*" + _ID)
ERROR_FIELD: Final = re.compile(rb"error=\s*(.*)")

#: The three SQS_* lines; the video id that follows is captured by the same search.
SQS_EVENT: Final = re.compile(
    rb"SQS_(MESSAGE_RECEIVED|JOB_COMPLETED|JOB_FAILED)(?![A-Z_])(?:.*?video_id[=:]\s*" + _ID + rb")?"
)
STARTED: Final = re.compile(rb"Video Worker \(SQS\) started")
QUEUE: Final = re.compile(rb"queue=([^\s|,\"']+)")
WAIT_TIME: Final = re.compile(rb"wait_time=(\d{1,9})(?!\d)")
SQS_UNAVAILABLE: Final = re.compile(rb"SQS unavailable(?:\s*\([^)]*\))?(?:\s*:\s*(.*))?")

CONFIG_ERROR: Final = re.compile(rb"config error\b:?\s*(.*)")
#: An environment variable name: ALL_CAPS with at least one underscore (``R2_ENDPOINT``), so words
#: such as ``ERROR`` or ``KeyError`` in the message are not mistaken for one.
ENV_VAR: Final = re.compile(rb"(?<![A-Za-z0-9_])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![A-Za-z0-9_])")

#: The five [HANDLER] lines in one search; ``lastgroup`` names the one found. Only the two skips
#: of §9 that name their video carry it in the phrase; the others are followed by ``video_id=``.
HANDLER: Final = re.compile(
    rb"\[HANDLER\]\s*(?:(?P<lock_acquired>Lock acquired)\b"
    rb"|(?P<process_completed>process_fn completed)\b"
    rb"|(?P<skip_lock>Lock acquisition failed)\b"
    rb"|Cannot mark video\s+(?P<skip_status>\d{1,18})(?!\d)\s+as PROCESSING"
    rb"|Cancel requested for video_id=(?P<skip_cancel>\d{1,18})(?!\d))"
)
HLS_PATH: Final = re.compile(rb"hls_path=(\S+)")

PROCESSING_FAILED: Final = re.compile(rb"Video processing failed\b:?")
ROW_EXISTS: Final = re.compile(rb"row exists=(True|False)")

ENQUEUED: Final = re.compile(rb"Video job enqueued\b:?\s*video_id=" + _ID)
ENQUEUE_FAILED: Final = re.compile(rb"Video job enqueue failed\b:?\s*video_id=" + _ID)
#: An access log line of ``POST .../media/videos/N/upload/complete/``, answered 503 (below).
UPLOAD_COMPLETE_POST: Final = re.compile(rb"POST \S*?/media/videos/" + _ID + rb"/upload/complete/?")
#: Matched right after the path: an optional query string and protocol, then the status, as in the
#: common/combined format (``"POST ... HTTP/1.1" 503 45``) and uvicorn's.
STATUS_AFTER_PATH: Final = re.compile(rb"[^\"\s]*(?:\s+HTTP/[\d.]+)?\"?\s+503\b")
#: Or a structured field anywhere in the line (JSON access logs, ``status=503``).
STATUS_FIELD: Final = re.compile(rb"status(?:_code)?[\"']?\s*[:=]\s*\"?503\b")
#: Django's own ``django.request`` warning for a 503 response.
DJANGO_503: Final = re.compile(rb"Service Unavailable: \S*?/media/videos/" + _ID + rb"/upload/complete/?")

#: A leading timestamp: RFC3339 (docker ``--timestamps``, nanoseconds allowed), ISO 8601, or Python
#: logging's ``YYYY-MM-DD HH:MM:SS,mmm``; optionally in brackets. Group 1 is the stamp, group 2 the
#: zone (a numeric offset must follow the stamp directly, so ``12:00:00 - INFO`` has no zone).
TIMESTAMP: Final = re.compile(
    rb"\s*\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)(Z|z|\s?UTC|[+-]\d{2}(?::?\d{2})?)?"
)
