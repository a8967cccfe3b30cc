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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, runtime_checkable

from runbook.logs.classify import EventKind, Fields, classify, parse_timestamp
from runbook.logs.coverage import lines_coverage
from runbook.logs.errors import LogSourceError
from runbook.logs.parallel import PARALLEL_MIN_BYTES, available_workers, summarize_range
from runbook.logs.scan import iter_spans
from runbook.logs.sources import LogLines
from runbook.logs.summary import Summarizer, as_line, timestamp_head
from runbook.logs.timeline import LogSummary

logger = logging.getLogger(__name__)

__all__ = ["BlockSource", "Event", "iter_events", "parse_line", "summarize"]


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


def parse_line(line: str | bytes, line_no: int = 0) -> Event | None:
    """Recognise one log line, whatever prefix it carries; ``None`` for any other line. Never raises.

    A ``[HANDLER] Lock acquisition failed, skipping`` line names no video, so its ``video_id`` is
    ``None`` here; :func:`summarize` attributes it to the video received last.
    """
    data = as_line(line)
    raw = classify(data)
    if raw is None:
        return None
    kind, video_id, fields = raw
    return Event(kind, video_id, parse_timestamp(timestamp_head(data)), line_no, fields)


def iter_events(lines: Iterable[str | bytes]) -> Iterator[Event]:
    """Yield the :class:`Event` of each recognised line, numbering lines from 1."""
    for line_no, line in enumerate(lines, 1):
        event = parse_line(line, line_no)
        if event is not None:
            yield event


def summarize(lines: Iterable[str | bytes], *, source: str = "", workers: int | None = None) -> LogSummary:
    """Reduce a log to a :class:`LogSummary` in one streaming pass; never raises on bad input.

    ``lines`` may be any iterable of lines, a binary file object, or what
    :func:`~runbook.logs.sources.open_lines` returns; the last two are scanned a block at a time,
    several times faster than line by line. An untouched regular file of at least
    :data:`~runbook.logs.parallel.PARALLEL_MIN_BYTES` is scanned by ``workers`` processes
    (default: one per available core; ``workers=1`` keeps it in this process). Memory grows with
    the number of distinct videos, not with the number of lines. Only a failing source raises
    (:class:`~runbook.logs.errors.LogSourceError`), or a single ``str``/``bytes`` given instead of
    lines (``TypeError``).
    """
    if isinstance(lines, str | bytes):
        # A path or one line given where lines are expected: every character would be a "line".
        raise TypeError("summarize() takes lines, e.g. open_lines(path) or a list of lines, not one str/bytes")
    summarizer = Summarizer(source)
    if isinstance(lines, LogLines) and _summarize_file(summarizer, lines, workers):
        return _covered(summarizer.result(), lines)
    if isinstance(lines, BlockSource):
        for block in lines.blocks():
            summarizer.feed_block(block)
    elif isinstance(lines, io.BufferedIOBase | io.RawIOBase):  # a file opened in binary mode
        for data, start, end in iter_spans(lines.read):
            summarizer.feed_span(data, start, end)
    else:
        for line in lines:
            summarizer.feed_line(line)
    return _covered(summarizer.result(), lines)


def _covered(summary: LogSummary, lines: object) -> LogSummary:
    """The summary with the window its source covers: the source's own account, else the events' stamps."""
    coverage = lines.coverage() if isinstance(lines, LogLines) else None
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
