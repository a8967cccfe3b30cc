"""The time window a log source covers: a line written inside it is in what was read.

Why: the absence of a line is evidence only where the log could have held it. A log rotated after an upload,
a ``docker logs --since`` window, a CloudWatch read stopped at its page bound, an API instance whose log was not
given: each says nothing about the time outside what it covers. Every source therefore reports

- ``first`` / ``last``: the earliest and latest timestamps read;
- ``start`` / ``end``: the window in which a line would be in what was read (``start`` is the earliest line
  read; ``end`` is the source's end when it was read to the end — a file's last write, a stream's read time —
  else the last line read);
- ``truncated``: reading stopped at a bound (bytes, pages, time) before the source's end;
- ``since``: the window asked for (``--log-since``), when one was.

:func:`covers` answers "would a line written at T be in these sources?" with ``True``, ``False`` or ``None``
(the sources carry no timestamps to tell).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

from runbook.logs.classify import parse_timestamp
from runbook.logs.scan import split_block
from runbook.logs.summary import as_line, timestamp_head

#: Clock difference tolerated between a log's stamps and the time of the event judged (the database's clock,
#: the API's own save just before its log line, docker's stamp against the program's).
CLOCK_SLACK: Final = timedelta(seconds=5)
#: The stamp of an access log line (gunicorn's, the common log format: ``[03/Dec/2026:04:01:24 +0900]``): the
#: real API's log holds them between its own lines (``--access-logfile -``), and they show the log was written
#: then, though they are no event the runbook reads.
_ACCESS_STAMP: Final = re.compile(rb"\[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")
#: Bytes read from each end of a file to find its first and last timestamps.
_PROBE_BYTES: Final = 64 << 10


@dataclass
class ReadState:
    """What a source learns while it is read: whether a bound stopped it, and its units (pages, streams)."""

    truncated: bool = False
    detail: str = ""
    #: The window the source knows it covers, when it knows better than its first and last lines (a read
    #: newest first covers from the oldest slice it finished to the time of the read).
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class Coverage:
    """What one source covers (see the module docstring); times are aware UTC."""

    source: str
    first: datetime | None
    last: datetime | None
    start: datetime | None
    end: datetime | None
    truncated: bool = False
    since: datetime | None = None
    #: Pages, containers or streams read, when the source has such units (the report shows them).
    detail: str = ""

    def covers(self, when: datetime) -> bool | None:
        """Whether a line written at ``when`` would be in what was read; ``None`` without timestamps."""
        if self.start is None or self.end is None:
            return None
        return self.start - CLOCK_SLACK <= _aware(when) <= self.end + CLOCK_SLACK

    def describe(self) -> str:
        """``worker.log: 2026-02-20 03:00:00Z – 05:00:00Z (truncated)`` for messages and the report."""
        window = f"{_clock(self.start)} – {_clock(self.end)}" if self.start is not None else "no timestamps"
        asked = f"since {_clock(self.since)}" if self.since is not None and "asked from" not in self.detail else ""
        notes = [note for note in (self.detail, asked, "truncated" if self.truncated else "") if note]
        return f"{self.source}: {window}" + (f" ({', '.join(notes)})" if notes else "")

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "first": _iso(self.first),
            "last": _iso(self.last),
            "start": _iso(self.start),
            "end": _iso(self.end),
            "truncated": self.truncated,
            "since": _iso(self.since),
            "detail": self.detail,
        }


#: logrotate's names for a file's older parts: ``worker.log.1``, ``worker.log.2.gz``, ``worker.log-20261202``.
_ROTATED: Final = re.compile(r"(?:\.\d{1,4}|-\d{8})(?:\.gz)?$|\.gz$")


def rotation_chain(source: str) -> str:
    """The log a file source is part of: ``worker.log.1`` and ``worker.log`` are one writer's, one after the
    other (``docker:`` and ``cloudwatch:`` sources are never rotation parts: ``docker:worker-1`` is a container)."""
    if source.startswith(("docker:", "cloudwatch:")):
        return source
    return _ROTATED.sub("", source)


def covers(coverages: Sequence[Coverage], when: datetime) -> bool | None:
    """Whether a line written at ``when`` would be in every one of several sources that may have written it.

    A line that one of several API instances wrote is in that instance's log only: its absence from all of
    them proves something only if each of them covers ``when``. The files of one rotated log (``worker.log.1``
    then ``worker.log``) are one writer's history: that log covers ``when`` if one of its files does. ``None``
    when none can tell (or there are none).
    """
    chains: dict[str, list[bool | None]] = {}
    for c in coverages:
        chains.setdefault(rotation_chain(c.source), []).append(c.covers(when))
    answers = [True if True in parts else None if None in parts else False for parts in chains.values()]
    if not answers or any(a is None for a in answers):
        return None
    return all(answers)


def line_stamp(line: bytes, tz: tzinfo = UTC) -> datetime | None:
    """The time a line was written: its leading timestamp (a naive one in ``tz``), else an access log stamp."""
    data = as_line(line)
    stamp = parse_timestamp(timestamp_head(data), tz)
    if stamp is None and b'] "' in data[:200]:
        m = _ACCESS_STAMP.search(data, 0, 200)
        if m is not None:
            try:
                stamp = datetime.strptime(m.group(1).decode(), "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)
            except ValueError:
                return None
    return stamp


def first_stamp(block: bytes, tz: tzinfo = UTC) -> datetime | None:
    """The timestamp of the first line of ``block`` that has one (a naive one in ``tz``, ``--log-timezone``)."""
    for line in split_block(block):
        stamp = line_stamp(line, tz)
        if stamp is not None:
            return stamp
    return None


def last_stamp(block: bytes, tz: tzinfo = UTC) -> datetime | None:
    """The timestamp of the last line of ``block`` that has one (lines are tried from the end)."""
    end = len(block)
    while end > 0:
        start = block.rfind(b"\n", 0, end - 1) + 1
        line = block[start:end]
        stamp = line_stamp(line, tz) if line.strip() else None
        if stamp is not None:
            return stamp
        end = start
    return None


class Tracker:
    """Wrap a source's blocks and remember the first and last stamped lines that went by (a few lines per
    block); their times are read in the zone the summary is read in (:meth:`stamps`)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._first: bytes | None = None
        self._last: bytes | None = None
        self.exhausted = False

    def __iter__(self) -> Iterator[bytes]:
        for block in self._blocks:
            if self._first is None:
                self._first = _stamped_line(split_block(block))
            last = _stamped_line(reversed(split_block(block)))
            if last is not None:
                self._last = last
            yield block
        self.exhausted = True

    def stamps(self, tz: tzinfo = UTC) -> tuple[datetime | None, datetime | None]:
        """The first and last timestamps read, a naive one in ``tz`` (``--log-timezone``)."""

        def stamp(line: bytes | None) -> datetime | None:
            return None if line is None else line_stamp(line, tz)

        return stamp(self._first), stamp(self._last)


def _stamped_line(lines: Iterable[bytes]) -> bytes | None:
    """The first of ``lines`` that carries a timestamp (parsed as UTC only to tell; read again in its zone)."""
    for line in lines:
        if line.strip() and line_stamp(line) is not None:
            return bytes(line)
    return None


def file_stamps(path: str, end: int, tz: tzinfo = UTC) -> tuple[datetime | None, datetime | None]:
    """First and last timestamps of ``path`` up to byte ``end``, from a few KiB at each end (not a full read)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(min(end, _PROBE_BYTES))
            handle.seek(max(0, end - _PROBE_BYTES))
            tail = handle.read(min(end, _PROBE_BYTES))
    except OSError:
        return None, None
    # The probe may start or stop mid-line: drop the partial line at the tail's start and the head's end.
    if end > _PROBE_BYTES:
        head = head[: head.rfind(b"\n") + 1]
        tail = tail[tail.find(b"\n") + 1 :]
    return first_stamp(head, tz), last_stamp(tail, tz)


def file_coverage(spec: str, path: str, size: int, end: int, mtime: float, tz: tzinfo = UTC) -> Coverage:
    """A regular file read from its start to byte ``end`` of ``size``: to its last write when read whole
    (naive stamps in ``tz``, ``--log-timezone``)."""
    first, last = file_stamps(path, end, tz)
    truncated = end < size
    written = datetime.fromtimestamp(mtime, UTC)
    until = last if truncated else max(written, last) if last is not None else written
    return Coverage(spec, first, last, first, until if first is not None else None, truncated)


def stream_coverage(
    spec: str,
    tracker: Tracker,
    *,
    truncated: bool,
    read_at: datetime,
    since: datetime | None,
    detail: str = "",
    known: tuple[datetime | None, datetime | None] = (None, None),
    tz: tzinfo = UTC,
) -> Coverage:
    """A docker or CloudWatch read, or a filtered file: to ``read_at`` (the time of the read; a file's last
    write) when it reached the source's end. Naive stamps are in ``tz`` (``--log-timezone``).

    A window asked for (``since``) with nothing in it is still covered from ``since``: the source was asked for
    every line from then on and had none.
    """
    first, last = tracker.stamps(tz)
    start = known[0] or (first if first is not None else since)
    end = known[1] or (last if truncated else read_at)
    if start is None:
        end = None
    return Coverage(spec, first, last, start, end, truncated, since, detail)


def lines_coverage(source: str, first: datetime | None, last: datetime | None) -> Coverage:
    """Lines handed over in memory: they cover what their own timestamps span, nothing more."""
    return Coverage(source, first, last, first, last)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _clock(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts is not None else "?"


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None
