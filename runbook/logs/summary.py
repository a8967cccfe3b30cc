"""The streaming reducer behind :func:`runbook.logs.parser.summarize`.

Feed it lines (:meth:`Summarizer.feed_line`), blocks of lines (:meth:`Summarizer.feed_block`, the
fast path) or already classified events (:meth:`Summarizer.apply`, used by the parallel file scan),
then take :meth:`Summarizer.result`. State grows with distinct videos only.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from types import MappingProxyType
from typing import Final

from runbook.logs.classify import EventKind, Fields, classify, parse_timestamp
from runbook.logs.patterns import MAX_SCAN
from runbook.logs.scan import has_anchor, scan_span
from runbook.logs.timeline import MAX_MESSAGES, LogSummary, _Video

#: First bytes a line can have when it starts with a timestamp (digits, '[', blanks).
_TS_FIRST: Final = b"0123456789[ \t"
#: The API's per-video lines: kept per source (enqueued / failed), not in a worker timeline.
_API_VIDEO: Final = frozenset({EventKind.ENQUEUED, EventKind.ENQUEUE_FAILED, EventKind.ENQUEUE_REFUSED})
#: Lines about the process, not a video.
_SOURCE: Final = frozenset(
    {
        EventKind.STARTED,
        EventKind.CONFIG_ERROR,
        EventKind.SQS_UNAVAILABLE,
        EventKind.CREDENTIALS_FOUND,
        EventKind.QUEUE_CLIENT,
        EventKind.SQS_ERROR,
        EventKind.INVALID_MESSAGE,
        EventKind.REDIS_CONNECTED,
        EventKind.REDIS_UNAVAILABLE,
        EventKind.REDIS_ERROR,
        EventKind.LOOP_ERROR,
        EventKind.WORKER_EXIT,
        EventKind.SHUTDOWN,
        EventKind.API_ERROR,
    }
)
#: Kinds that belong to a video's timeline.
_PER_VIDEO: Final = frozenset(EventKind) - _API_VIDEO - _SOURCE
#: Per-video lines that name no video: they belong to the message received last in the stream.
ATTRIBUTED: Final = frozenset({EventKind.SKIP_LOCK, EventKind.DOWNLOAD_RETRY})
#: An enqueue failure line without its reason takes the queue client's error logged this many lines before.
_REASON_LINES: Final = 8
#: Bytes of a line kept as its raw timestamp; converted only for the timestamps that are reported.
_TS_BYTES: Final = 40  # "[2024-05-01T12:00:00.123456789+09:00" is 36


# Enum attribute access is slow in CPython 3.11 (see classify.py): module globals for the hot path.
_K_CONFIG_ERROR = EventKind.CONFIG_ERROR
_K_ENQUEUED = EventKind.ENQUEUED
_K_RECEIVED = EventKind.RECEIVED
_K_SKIP_LOCK = EventKind.SKIP_LOCK
_K_SQS_UNAVAILABLE = EventKind.SQS_UNAVAILABLE
_K_STARTED = EventKind.STARTED
_K_SQS_ERROR = EventKind.SQS_ERROR
_K_ENQUEUE_FAILED = EventKind.ENQUEUE_FAILED


def as_line(line: str | bytes) -> bytes:
    """A line as capped bytes without its terminator (lone surrogates in a str are kept, not fatal)."""
    if isinstance(line, str):
        line = line[:MAX_SCAN].encode("utf-8", "surrogatepass")
    if len(line) > MAX_SCAN:
        line = line[:MAX_SCAN]
    # One terminator only ("\n" or "\r\n"), as a file read line by line would have.
    line = line.removesuffix(b"\n")
    return line.removesuffix(b"\r")


def timestamp_head(line: bytes) -> bytes | None:
    """The raw leading bytes that may hold the line's timestamp, or ``None`` when it cannot have one."""
    return line[:_TS_BYTES] if line and line[:1] in _TS_FIRST else None


class Summarizer:
    """Reduce a stream of log lines to a :class:`~runbook.logs.timeline.LogSummary`.

    Limitation: a ``Lock acquisition failed`` line is attributed to the last ``SQS_MESSAGE_RECEIVED``
    of the same stream. When two workers' lines are interleaved in one stream (one CloudWatch group,
    ``docker compose logs``), it may land on the other worker's video; give each worker its own
    source when that matters.
    """

    def __init__(self, source: str = "", *, tz: tzinfo = UTC) -> None:
        self.source = source
        self.tz = tz  # naive timestamps are in this zone (--log-timezone)
        self._lines = 0
        self._first_ts: bytes | None = None
        self._last_ts: bytes | None = None
        self._counts: dict[EventKind, int] = {}
        self._first_line: dict[EventKind, int] = {}
        self._last_line: dict[EventKind, int] = {}
        self._queue: str | None = None
        self._wait_time: int | None = None
        self._config_errors: list[str] = []
        self._config_variables: dict[str, None] = {}  # an ordered set
        self._sqs_error: str | None = None
        self._enqueued: dict[int, bytes | None] = {}
        self._enqueue_failures: dict[int, str] = {}
        self._videos: dict[int, _Video] = {}
        self._last_received: int | None = None
        self._unattributed = 0
        self._queue_failure: dict[str, str] = {}
        self._queue_failure_line = -_REASON_LINES - 1
        self._region: str | None = None
        self._credentials: str | None = None
        self._redis: str | None = None
        self._redis_error: str | None = None

    @property
    def lines(self) -> int:
        """Lines accounted for so far."""
        return self._lines

    def skip_lines(self, count: int) -> None:
        """Account for ``count`` lines without events (their events were applied with :meth:`apply`)."""
        self._lines += count

    def feed_line(self, line: str | bytes) -> None:
        """Account for one line (with or without its terminator)."""
        self._lines += 1
        data = as_line(line)
        if has_anchor(data):  # most lines of a real log are none of the runbook's: no regex for them
            raw = classify(data, full=False)
            if raw is not None:
                self.apply(raw[0], raw[1], raw[2], timestamp_head(data), self._lines)

    def feed_block(self, block: bytes) -> None:
        """Account for a block of whole lines, each ending with ``\\n`` (the last one may not)."""
        self.feed_span(block, 0, len(block))

    def feed_span(self, data: bytes, start: int, end: int) -> None:
        """Account for the lines of ``data[start:end]``, as :func:`~runbook.logs.scan.iter_spans` yields them."""
        newlines, found = scan_span(data, start, end)
        base = self._lines + 1
        apply = self.apply
        for index, line in found:
            raw = classify(line, full=False)
            if raw is not None:
                apply(raw[0], raw[1], raw[2], line[:_TS_BYTES] if line[:1] in _TS_FIRST else None, base + index)
        self._lines += newlines + (1 if end > start and data[end - 1] != 10 else 0)  # 10: an unterminated last line

    def apply(self, kind: EventKind, vid: int | None, fields: Fields, ts: bytes | None, line_no: int) -> None:
        """Account for one classified event found on line ``line_no`` (``ts``: its raw timestamp head)."""
        counts = self._counts
        seen = counts.get(kind)
        if seen is None:
            counts[kind] = 1
            self._first_line[kind] = line_no
        else:
            counts[kind] = seen + 1
        self._last_line[kind] = line_no
        if ts is not None:
            if self._first_ts is None:
                self._first_ts = ts
            self._last_ts = ts
        if kind is _K_RECEIVED:
            self._last_received = vid  # None for a truncated line: better unattributed than wrong
        elif vid is None and kind in ATTRIBUTED:
            vid = self._last_received
            if vid is None:
                if kind is _K_SKIP_LOCK:
                    self._unattributed += 1
                return
        if vid is not None and kind in _PER_VIDEO:
            video = self._videos.get(vid)
            if video is None:
                video = self._videos[vid] = _Video()
            video.add(kind, fields, ts, line_no)
        elif vid is None or kind in _SOURCE:
            if kind is _K_SQS_ERROR:
                self._queue_failure = dict(fields)
                self._queue_failure_line = line_no
            self._source_event(kind, dict(fields))
        elif kind is _K_ENQUEUED:
            self._enqueued[vid] = ts
        elif kind is _K_ENQUEUE_FAILED:
            error = dict(fields).get("error", "")
            if not error and line_no - self._queue_failure_line <= _REASON_LINES:
                # "Failed to enqueue video job: video_id=N" says no why; the queue client's line before it does.
                error = self._queue_failure.get("error", "")
            # The access log's bare "HTTP 503" follows the API's own line; keep the line that says why.
            if error != "HTTP 503" or not self._enqueue_failures.get(vid):
                self._enqueue_failures[vid] = error
        else:  # ENQUEUE_REFUSED: the API would not send (status not UPLOADED, no tenant)
            status = dict(fields).get("status")
            self._enqueue_failures[vid] = f"not enqueued (status={status})" if status else "not enqueued (no tenant)"

    def _source_event(self, kind: EventKind, fields: dict[str, str]) -> None:
        if kind is _K_STARTED:
            self._queue = fields.get("queue", self._queue)
            wait = fields.get("wait_time")
            self._wait_time = int(wait) if wait is not None else self._wait_time
        elif kind is _K_CONFIG_ERROR:
            self._config_errors.append(fields.get("error", ""))
            del self._config_errors[:-MAX_MESSAGES]
            variable = fields.get("variable")
            if variable is not None and len(self._config_variables) < 4 * MAX_MESSAGES:
                self._config_variables[variable] = None
        elif kind is _K_SQS_UNAVAILABLE:
            self._sqs_error = fields.get("error", self._sqs_error)
        elif kind is EventKind.QUEUE_CLIENT:
            self._region = fields.get("region", self._region)
        elif kind is EventKind.CREDENTIALS_FOUND:
            self._credentials = fields.get("source", self._credentials)
        elif kind is EventKind.REDIS_CONNECTED:
            self._redis = f"{fields.get('host')}:{fields.get('port')} db={fields.get('db')}"
        elif kind is EventKind.REDIS_UNAVAILABLE or kind is EventKind.REDIS_ERROR:
            self._redis_error = fields.get("error") or str(kind)

    def result(self) -> LogSummary:
        """The summary of everything fed so far (the summarizer can keep being fed afterwards)."""
        counts = dict(self._counts)
        tz = self.tz

        def parse(ts: bytes | None) -> datetime | None:
            return parse_timestamp(ts, tz)

        return LogSummary(
            source=self.source,
            lines=self._lines,
            events=sum(counts.values()),
            first_ts=parse(self._first_ts),
            last_ts=parse(self._last_ts),
            counts=MappingProxyType(counts),
            first_line=MappingProxyType(dict(self._first_line)),
            last_line=MappingProxyType(dict(self._last_line)),
            started=counts.get(EventKind.STARTED, 0),
            queue=self._queue,
            wait_time=self._wait_time,
            config_errors=tuple(self._config_errors),
            config_variables=tuple(self._config_variables),
            sqs_unavailable=counts.get(EventKind.SQS_UNAVAILABLE, 0),
            sqs_error=self._sqs_error,
            enqueued=MappingProxyType({vid: parse(ts) for vid, ts in self._enqueued.items()}),
            enqueue_failures=MappingProxyType(dict(self._enqueue_failures)),
            timelines=MappingProxyType({vid: v.freeze(vid, parse) for vid, v in self._videos.items()}),
            unattributed_skips=self._unattributed,
            queue_failure=MappingProxyType(dict(self._queue_failure)),
            region=self._region,
            credentials=self._credentials,
            redis=self._redis,
            redis_error=self._redis_error,
        )
