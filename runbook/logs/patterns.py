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
# substring search CPython has), so fewer and longer anchors make the scan faster. None ends with a
# blank, and none minus its last byte is another one (a self-test checks both).
ANCHOR_SQS: Final = b"SQS"  # SQS_*, "(SQS) started", "SQS unavailable", "SQS get_queue_url (", [SQS_MAIN]
ANCHOR_HANDLER: Final = b"[HANDLER]"
ANCHOR_CONFIG: Final = b"config error"
ANCHOR_PROCESSING: Final = b"Video processing"  # "... failed" / "... completed"
ANCHOR_ENQUEUE: Final = b"Video job enqueue"  # "enqueued" and the stand-in's "enqueue failed"
ANCHOR_ROW_EXISTS: Final = b"row exists="
ANCHOR_UPLOAD_COMPLETE: Final = b"/upload/complete"  # the upload-complete endpoint answering 503
ANCHOR_RETRY: Final = b"/retry"  # the retry endpoint answering 503 (it enqueues too)

#: The real system's other lines on the runbook's paths (``runbook.production.LINES``).
REAL_ANCHORS: Final[tuple[bytes, ...]] = (
    b"[TRANSCODER]",
    b"[PROCESSOR]",
    b"Video Worker",  # "... shutdown complete"; "Fatal error in Video Worker"
    b"VIDEO_",  # VIDEO_ALREADY_READY_SKIP, VIDEO_ENCODING_DURATION
    b"(expected PROCESSING)",
    b"Failed to",  # the queue client's and the repositories' failures, "Failed to enqueue video job"
    b"Error enqueuing",
    b"Cannot",  # "Cannot mark video N as PROCESSING: status=", "Cannot enqueue video", "Cannot get tenant"
    b"Invalid",  # "Invalid JSON in message", "Invalid message format ..."
    b"IDEMPOTENT_SKIP",
    b"Redis",
    b"Found credentials",
    b"download retry",
    b"thumbnail failed",
    b"R2 raw delete",
    b"Unexpected error",
    b"Too many consecutive",
    b"raceful shutdown",
    b"Unhandled exception",
)

ANCHORS: Final[tuple[bytes, ...]] = (
    ANCHOR_SQS,
    ANCHOR_HANDLER,
    ANCHOR_CONFIG,
    ANCHOR_PROCESSING,
    ANCHOR_ENQUEUE,
    ANCHOR_ROW_EXISTS,
    ANCHOR_UPLOAD_COMPLETE,
    ANCHOR_RETRY,
    *REAL_ANCHORS,
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
KV: Final = re.compile(rb"(?<![a-z_])([a-z_]{1,40})=([^\s|,\"']*)")
VIDEO_ID: Final = re.compile(rb"video_id[=:]\s*" + _ID)
ERROR_FIELD: Final = re.compile(rb"error=\s*(.*)")

#: The three SQS_* lines; the video id that follows is captured by the same search.
SQS_EVENT: Final = re.compile(
    rb"SQS_(MESSAGE_RECEIVED|JOB_COMPLETED|JOB_FAILED)(?![A-Z_])(?:.*?video_id[=:]\s*" + _ID + rb")?"
)
STARTED: Final = re.compile(rb"Video Worker \(SQS\) started")
QUEUE: Final = re.compile(rb"queue=([^\s|,\"']+)")
WAIT_TIME: Final = re.compile(rb"wait_time=(\d{1,9})(?!\d)")
#: ``SQS unavailable (AWS credentials invalid or missing?). Waiting 60s before retry. <error>`` (the real
#: worker, sqs_main.py:126-133) and the runbook's ``SQS unavailable (...): <error>``: group 1 is the error.
SQS_UNAVAILABLE: Final = re.compile(
    rb"SQS unavailable(?:\s*\([^)]*\))?\.?(?:\s*Waiting \d+s before retry\.?)?(?:\s*:?\s*(\S.*))?"
)
#: The queue client's once-a-minute warning for the four credential error codes (libs/queue/client.py:49-55):
#: ``SQS <op> (<queue>): <error> — <Korean hint>``; group 1 the operation, 2 the queue, 3 the error.
SQS_AUTH: Final = re.compile(rb"SQS ([a-z_]{3,40}) \(([^()\s]{1,80})\): (.*)")
#: What follows the error in that warning: the em dash and a Korean hint for local runs.
AUTH_HINT: Final = " \u2014 ".encode()
QUEUE_CLIENT: Final = re.compile(rb"SQSQueueClient initialized: ([\w-]+)")
#: ``[SQS_MAIN] ...`` lines around the handler (sqs_main.py:240, 242, 243-256).
SQS_MAIN: Final = re.compile(
    rb"\[SQS_MAIN\]\s*(?:(?P<handle_called>Calling handler)"
    rb"|handler\.handle\(\) returned video_id=(?P<handle_result>\d{1,18})(?!\d)\s*result=(?P<result>\w+)"
    rb"|(?P<handler_exception>Handler exception)\b[^:]{0,60}:\s*"
    rb"video_id=(?P<exception_video>\d{1,18})(?!\d):?\s*(?P<exception_error>.*))"
)
#: The queue client's other failures (libs/queue/client.py:102, 116-118, 140, 153, 169) and the adapter's
#: (apps/support/video/services/sqs_queue.py:216-218): group ``op``, then the queue (if named) and the error.
SQS_ERROR: Final = re.compile(
    rb"(?:Failed to (?P<op>get queue URL|send message|receive message)(?: for| to| from) (?P<queue>[^\s:]{1,80}): "
    rb"|Failed to (?P<op2>delete message|change message visibility): "
    rb"|(?P<op3>Error receiving message) from SQS: )(?P<error>.*)"
)

CONFIG_ERROR: Final = re.compile(rb"config error\b:?\s*(.*)")
#: An environment variable name: ALL_CAPS with at least one underscore (``R2_ENDPOINT``), so words
#: such as ``ERROR`` or ``KeyError`` in the message are not mistaken for one.
ENV_VAR: Final = re.compile(rb"(?<![A-Za-z0-9_])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![A-Za-z0-9_])")
#: ``Missing required env (any of): R2_BUCKET, R2_VIDEO_BUCKET`` names a pair (config.py:21).
ANY_OF: Final = re.compile(rb"\(any of\):\s*(.*)")

#: The [HANDLER] lines in one search; ``lastgroup`` names the one found. The skips for status and cancel
#: carry their video in the phrase; the others are followed by ``video_id=``.
HANDLER: Final = re.compile(
    rb"\[HANDLER\]\s*(?:(?P<lock_acquired>Lock acquired)\b"
    rb"|(?P<process_completed>process_fn completed)\b"
    rb"|(?P<skip_lock>Lock acquisition failed)\b"
    rb"|Cannot mark video\s+(?P<skip_status>\d{1,18})(?!\d)\s+as PROCESSING"
    rb"|Cancel requested for video_id=(?P<skip_cancel>\d{1,18})(?!\d)"
    rb"|(?P<handler_started>Starting video processing)\b"
    rb"|(?P<process_started>Starting process_fn)\b"
    rb"|(?P<cancelled>Processing cancelled)\b)"
)
HLS_PATH: Final = re.compile(rb"hls_path=(\S+)")
DURATION: Final = re.compile(rb"duration=([\d.]+|None)")

PROCESSING_FAILED: Final = re.compile(rb"Video processing failed\b:?")
PROCESSING_COMPLETED: Final = re.compile(rb"Video processing completed\b:?")
ROW_EXISTS: Final = re.compile(rb"row exists=(True|False)")
#: ``Cannot mark video N as PROCESSING: status=S`` (repositories_video.py:441-446): the row exists, in S.
MARK_REFUSED: Final = re.compile(rb"Cannot mark video\s+" + _ID + rb"\s+as PROCESSING:\s*status=(\w+)")
#: ``Video N status is S (expected PROCESSING)`` (repositories_video.py:486-490).
COMPLETE_WARNING: Final = re.compile(rb"Video\s+" + _ID + rb"\s+status is (\w+) \(expected PROCESSING\)")
#: ``IDEMPOTENT_SKIP job_id=encode:N reason=duplicate`` (redis_idempotency_adapter.py:16, 49).
LOCK_HELD: Final = re.compile(rb"IDEMPOTENT_SKIP job_id=encode:" + _ID)
# Gaps between a phrase and its video id are bounded: a runaway line repeating the phrase must not cost
# a scan to its end from every occurrence.
SKIP_READY: Final = re.compile(rb"VIDEO_ALREADY_READY_SKIP\b.{0,40}?video_id=" + _ID)
ENCODING_DURATION: Final = re.compile(rb"VIDEO_ENCODING_DURATION\b.{0,40}?video_id=" + _ID)
TRANSCODE: Final = re.compile(rb"\[(?:TRANSCODER|PROCESSOR)\].{0,80}?video_id=" + _ID)
THUMBNAIL_FAILED: Final = re.compile(rb"thumbnail failed video_id=" + _ID + rb"(?:\s*err=(.*))?")
DOWNLOAD_RETRY: Final = re.compile(rb"download retry attempt=(\d{1,6})(?:\s*err=(.*))?")
RAW_DELETED: Final = re.compile(rb"R2 raw delete(d)? after encode(?: failed)? video_id=" + _ID)
INVALID_MESSAGE: Final = re.compile(
    rb"Invalid (?:JSON in message|message format)\b|Missing ReceiptHandle in SQS message|Message missing receipt_handle"
)
CREDENTIALS_FOUND: Final = re.compile(rb"Found credentials (?:in |from )(.*?)\.?$")
#: Redis lines of libs/redis/client.py:63-68, the idempotency and progress adapters and the status caches.
REDIS: Final = re.compile(
    rb"Redis connected: (?P<host>[^\s:]+):(?P<port>\d{1,5}) db=(?P<db>\d{1,5})"
    rb"|(?P<unavailable>Redis connection failed|Redis not available)\b[^:]*:?\s*(?P<error>.*)"
    rb"|(?P<failed>Redis (?:lock acquire|lock release|progress record) failed|Failed to cache video status in Redis"
    rb"|Failed to set cancel_requested in Redis)\b[^:]*:\s*(?P<detail>.*)"
)
LOOP_ERROR: Final = re.compile(rb"Unexpected error in main loop:?\s*(.*)|Fatal error in Video Worker")
WORKER_EXIT: Final = re.compile(rb"Too many consecutive errors \((\d{1,9})\)")
SHUTDOWN: Final = re.compile(
    rb"Received (\w+), initiating graceful shutdown|Graceful shutdown: |Video Worker shutdown complete"
)
API_ERROR: Final = re.compile(rb"Unhandled exception:?\s*(.*)")

ENQUEUED: Final = re.compile(rb"Video job enqueued\b:?\s*video_id=" + _ID)
ENQUEUE_FAILED: Final = re.compile(rb"Video job enqueue failed\b:?\s*video_id=" + _ID)
#: The real API's enqueue failures (apps/support/video/services/sqs_queue.py:99-100, 104-106).
ENQUEUE_FAILED_REAL: Final = re.compile(rb"(?:Failed to enqueue|Error enqueuing) video job\b:?\s*video_id=" + _ID)
#: ``Cannot enqueue video N: status=S (expected UPLOADED)`` / ``Cannot get tenant for video N``
#: (sqs_queue.py:65-80): the API refused to send.
ENQUEUE_REFUSED: Final = re.compile(
    rb"Cannot (?:enqueue video|get tenant for video)\s+" + _ID + rb"(?::\s*status=(\w+))?"
)
#: An access log line of ``POST .../media/videos/N/upload/complete/`` or ``.../retry/``, answered 503 (below).
UPLOAD_COMPLETE_POST: Final = re.compile(rb"POST \S*?/media/videos/" + _ID + rb"/(?:upload/complete|retry)/?")
#: Matched right after the path: an optional query string and protocol, then the status, as in the
#: common/combined format (``"POST ... HTTP/1.1" 503 45``) and uvicorn's.
STATUS_AFTER_PATH: Final = re.compile(rb"[^\"\s]*(?:\s+HTTP/[\d.]+)?\"?\s+503\b")
#: Or a structured field anywhere in the line (JSON access logs, ``status=503``).
STATUS_FIELD: Final = re.compile(rb"status(?:_code)?[\"']?\s*[:=]\s*\"?503\b")
#: Django's own ``django.request`` warning for a 503 response.
DJANGO_503: Final = re.compile(rb"Service Unavailable: \S*?/media/videos/" + _ID + rb"/(?:upload/complete|retry)/?")

#: A continuation of the previous record, not a record of its own: a traceback (its header, its indented
#: frames and source lines, its chaining sentences, its final ``SomeError: message`` line) and the
#: ``NoneType: None`` that ``logger.exception`` outside an ``except`` adds (sqs_main.py:307-317). Matched on
#: the line after any docker/CloudWatch RFC3339 stamp.
CONTINUATION: Final = re.compile(
    rb"[ \t]|Traceback \(most recent call last\)|NoneType: None|During handling of the above exception"
    rb"|The above exception was the direct cause"
    rb"|[A-Za-z_][\w.]{0,120}(?:Error|Exception|Warning|Exit|Interrupt|Exceeded):(?: |$)"
)
#: The stamp docker ``--timestamps`` and the CloudWatch source put before each line (``...T...Z ``).
SOURCE_STAMP: Final = re.compile(rb"\d{4}-\d{2}-\d{2}T[\d:.]{8,18}(?:Z|[+-]\d{2}:\d{2}) ")

#: A leading timestamp: RFC3339 (docker ``--timestamps``, nanoseconds allowed), ISO 8601, or Python
#: logging's ``YYYY-MM-DD HH:MM:SS,mmm``; optionally in brackets, optionally after the level as the real
#: API's production format puts it (``[INFO] 2026-02-20 14:03:11,123 name: message``). Group 1 is the stamp, group 2 the
#: zone (a numeric offset must follow the stamp directly, so ``12:00:00 - INFO`` has no zone).
TIMESTAMP: Final = re.compile(
    rb"\s*(?:\[[A-Z]{4,8}\]\s+)?\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)"
    rb"(Z|z|\s?UTC|[+-]\d{2}(?::?\d{2})?)?"
)
