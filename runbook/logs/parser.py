"""Parse worker and API logs: one line into an :class:`Event`, a whole stream into a :class:`LogSummary`.

Usable from a shell::

    >>> from runbook.logs import open_lines, summarize
    >>> with open_lines("docker:academy-video-worker") as lines:
    ...     summary = summarize(lines, source="worker")
    >>> summary.stage(111), summary.timelines[111].skip_reason

Nothing here raises on bad input: invalid UTF-8 is replaced, CR/LF is stripped, only the first
:data:`~runbook.logs.patterns.MAX_SCAN` bytes of a line are looked at, and a truncated line gives no
event or an event with the values it still has (a ``video_id`` cut short reads as the shorter id:
a log cannot tell the two apart).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Protocol, runtime_checkable

from runbook.logs.classify import EventKind, Fields, classify, is_continuation, parse_timestamp
from runbook.logs.coverage import lines_coverage
from runbook.logs.errors import LogSourceError
from runbook.logs.parallel import PARALLEL_MIN_BYTES, available_workers, summarize_range
from runbook.logs.scan import iter_spans
from runbook.logs.sources import LogLines
from runbook.logs.summary import Summarizer, as_line, timestamp_head
from runbook.logs.timeline import LogSummary

logger = logging.getLogger(__name__)

__all__ = ["BlockSource", "Event", "Record", "iter_events", "iter_records", "parse_line", "summarize"]


@dataclass(frozen=True)
class Event:
    """One recognised line. ``fields`` holds the values the line carries, by name:
    ``queue``, ``wait_time``, ``request_id``, ``tenant_id``, ``hls_path``, ``error``, ``variable``,
    ``row_exists`` (``"True"``/``"False"``)."""

    kind: EventKind
    video_id: int | None
    ts: datetime | None
    line_no: int
    fields: Fields = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of field ``name``, or ``default``."""
        return next((value for key, value in self.fields if key == name), default)


@runtime_checkable
class BlockSource(Protocol):
    """A line source that can also hand out blocks of whole lines (the fast path of :func:`summarize`)."""

    def blocks(self) -> Iterator[bytes]:
        """Yield blocks of ``\\n``-terminated lines (the last one may lack it)."""
        ...


def parse_line(line: str | bytes, line_no: int = 0, *, tz: tzinfo = UTC) -> Event | None:
    """Recognise one log line, whatever prefix it carries; ``None`` for any other line. Never raises.

    The runbook's ``[HANDLER] Lock acquisition failed, skipping`` names no video, so its ``video_id`` is
    ``None`` here; :func:`summarize` attributes it to the video received last. A continuation line (a
    traceback's, ``NoneType: None``) is ``None``: see :func:`iter_records`. ``tz``: the zone of a timestamp
    that carries none (``--log-timezone``).
    """
    data = as_line(line)
    raw = classify(data)
    if raw is None:
        return None
    kind, video_id, fields = raw
    return Event(kind, video_id, parse_timestamp(timestamp_head(data), tz), line_no, fields)


@dataclass(frozen=True)
class Record:
    """One log record: its first line and the continuation lines after it (a traceback, ``NoneType: None``,
    the rest of a multi-line message), with the event of its first line if it is one the runbook reads."""

    line_no: int
    first: str
    continuation: tuple[str, ...]
    event: Event | None


#: The level of a record in the real worker's or API's format (after any docker/CloudWatch stamp).
_LEVEL = re.compile(
    rb"(?:\d{4}-\d{2}-\d{2}T\S+ )?(?:\[([A-Z]{4,8})\] \d{4}-|\d{4}-\d{2}-\d{2}[ T][\d:.,]+ \[([A-Z]{4,8})\] )"
)


def _error_level(line: bytes) -> bool | None:
    """``True``/``False`` for a record in the real format at ERROR or above / below it; ``None`` unformatted."""
    m = _LEVEL.match(line)
    if m is None:
        return None
    return (m.group(1) or m.group(2)) in (b"ERROR", b"CRITICAL")


def iter_records(lines: Iterable[str | bytes], *, tz: tzinfo = UTC) -> Iterator[Record]:
    """Group lines into records: a continuation line (:func:`~runbook.logs.classify.is_continuation`: a
    traceback, ``NoneType: None``) belongs to the record before it and is never an event of its own; so does
    an unformatted line that is no event after an ERROR record in the real format (ffmpeg's stderr inside
    ``Video processing failed: ... stderr=...``). Lines are numbered from 1."""
    current: tuple[int, bytes, list[bytes]] | None = None
    error_record = False
    for line_no, line in enumerate(lines, 1):
        data = as_line(line)
        if current is not None and (
            is_continuation(data) or (error_record and _error_level(data) is None and classify(data) is None)
        ):
            current[2].append(data)
            continue
        if current is not None:
            yield _record(*current, tz)
        current = (line_no, data, [])
        error_record = bool(_error_level(data))
    if current is not None:
        yield _record(*current, tz)


def _record(line_no: int, first: bytes, rest: list[bytes], tz: tzinfo) -> Record:
    def decode(data: bytes) -> str:
        return data.decode("utf-8", "replace")

    return Record(line_no, decode(first), tuple(map(decode, rest)), parse_line(first, line_no, tz=tz))


def iter_events(lines: Iterable[str | bytes], *, tz: tzinfo = UTC) -> Iterator[Event]:
    """Yield the :class:`Event` of each recognised line, numbering lines from 1."""
    for line_no, line in enumerate(lines, 1):
        event = parse_line(line, line_no, tz=tz)
        if event is not None:
            yield event


def summarize(
    lines: Iterable[str | bytes], *, source: str = "", workers: int | None = None, tz: tzinfo = UTC
) -> LogSummary:
    """Reduce a log to a :class:`LogSummary` in one streaming pass; never raises on bad input.

    ``lines`` may be any iterable of lines, a binary file object, or what
    :func:`~runbook.logs.sources.open_lines` returns; the last two are scanned a block at a time,
    several times faster than line by line. An untouched regular file of at least
    :data:`~runbook.logs.parallel.PARALLEL_MIN_BYTES` is scanned by ``workers`` processes
    (default: one per available core; ``workers=1`` keeps it in this process). Memory grows with
    the number of distinct videos, not with the number of lines. Only a failing source raises
    (:class:`~runbook.logs.errors.LogSourceError`), or a single ``str``/``bytes`` given instead of
    lines (``TypeError``). ``tz``: the zone of timestamps that carry none (``--log-timezone``; the real
    worker logs naive local time).
    """
    if isinstance(lines, str | bytes):
        # A path or one line given where lines are expected: every character would be a "line".
        raise TypeError("summarize() takes lines, e.g. open_lines(path) or a list of lines, not one str/bytes")
    summarizer = Summarizer(source, tz=tz)
    if isinstance(lines, LogLines) and _summarize_file(summarizer, lines, workers):
        return _covered(summarizer.result(), lines, tz)
    if isinstance(lines, BlockSource):
        for block in lines.blocks():
            summarizer.feed_block(block)
    elif isinstance(lines, io.BufferedIOBase | io.RawIOBase):  # a file opened in binary mode
        for data, start, end in iter_spans(lines.read):
            summarizer.feed_span(data, start, end)
    else:
        for line in lines:
            summarizer.feed_line(line)
    return _covered(summarizer.result(), lines, tz)


def _covered(summary: LogSummary, lines: object, tz: tzinfo) -> LogSummary:
    """The summary with the window its source covers: the source's own account (its naive stamps in ``tz``),
    else the events' stamps."""
    coverage = lines.coverage(tz) if isinstance(lines, LogLines) else None
    if coverage is None:
        coverage = lines_coverage(summary.source, summary.first_ts, summary.last_ts)
    return replace(summary, coverage=(coverage,))


def _summarize_file(summarizer: Summarizer, lines: LogLines, workers: int | None) -> bool:
    """Scan an untouched file source by its reads (several processes for a large regular file);
    ``False`` when ``lines`` is not such a source."""
    read = lines.reader()
    if read is None:
        return False
    file_range = lines.file_range()
    if file_range is not None:
        path, start, end = file_range
        big = end - start >= PARALLEL_MIN_BYTES
        count = (available_workers() if workers is None else workers) if big else 1
        if count >= 2:
            try:
                done = summarize_range(summarizer, path, start, end, count)
            except OSError as exc:
                lines.close()
                raise LogSourceError(lines.spec, f"cannot read ({exc.strerror or type(exc).__name__})") from None
            if done:
                lines.close()  # read to the end by the workers, as a sequential pass would have
                return True
    feed = summarizer.feed_span
    for data, start, end in iter_spans(read):
        feed(data, start, end)
    lines.close()
    return True
