"""Several log sources for one side: every API instance, every worker container, read as one log.

Production runs several API instances (and, under an ASG, several workers); a line one of them wrote is in that
one's log only. :func:`expand` turns a ``docker:`` pattern into one source per matching container;
:func:`summarize_sources` merges the sources' recognised lines by time into one
:class:`~runbook.logs.timeline.LogSummary`, whose ``coverage`` holds each source's window (an absence counts only
where every source covers the time).

A line that names no video (``Lock acquisition failed``, ``download retry``) is attributed to the last video
received *in its own source* before the merge, so two workers' interleaved lines cannot borrow each other's videos.
"""

from __future__ import annotations

import fnmatch
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from runbook.logs.classify import EventKind, Fields, classify, parse_timestamp
from runbook.logs.errors import LogSourceError
from runbook.logs.parser import summarize
from runbook.logs.scan import scan_span
from runbook.logs.source_docker import docker_reason
from runbook.logs.sources import LogLines
from runbook.logs.summary import ATTRIBUTED, Summarizer, timestamp_head
from runbook.logs.timeline import LogSummary

#: Characters that make a ``docker:`` name a pattern (``docker:academy-api*``).
GLOB: Final = frozenset("*?[")
_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
_K_RECEIVED = EventKind.RECEIVED
_K_SKIP_LOCK = EventKind.SKIP_LOCK

#: (time, source index, order in the source, kind, video id, fields, raw timestamp head)
_Merged = tuple[datetime, int, int, EventKind, int | None, Fields, bytes | None]


def is_pattern(spec: str) -> bool:
    return spec.startswith("docker:") and bool(GLOB & set(spec))


def expand(spec: str, docker_client: Any, timeout: float) -> list[str]:
    """``docker:<pattern>`` as one ``docker:<name>`` per container whose name matches (running or not, sorted);
    any other spec as itself. No match raises :class:`LogSourceError` naming the pattern."""
    if not is_pattern(spec):
        return [spec]
    pattern = spec.removeprefix("docker:")
    try:
        containers = docker_client.containers.list(all=True)
    except Exception as exc:  # mapped to a one-line reason
        raise LogSourceError(spec, docker_reason(exc, timeout)) from None
    names = sorted({str(c.name) for c in containers if fnmatch.fnmatchcase(str(c.name), pattern)})
    if not names:
        raise LogSourceError(spec, f"no container matches {pattern!r}")
    return [f"docker:{name}" for name in names]


def summarize_sources(sources: Sequence[LogLines], *, source: str, tz: tzinfo = UTC) -> LogSummary:
    """One summary of several sources, their lines merged by time; one source is summarized as it is.
    ``tz``: the zone of timestamps that carry none (``--log-timezone``)."""
    if len(sources) == 1:
        return summarize(sources[0], source=source, tz=tz)
    counts = [0] * len(sources)
    unattributed = [0]
    streams = [_events(lines, index, counts, unattributed, tz) for index, lines in enumerate(sources)]
    summarizer = Summarizer(source, tz=tz)
    for line_no, (_, _, _, kind, vid, fields, head) in enumerate(heapq.merge(*streams), 1):
        summarizer.apply(kind, vid, fields, head, line_no)
    summarizer.skip_lines(sum(counts))
    summary = summarizer.result()
    coverage = tuple(c for c in (lines.coverage(tz) for lines in sources) if c is not None)
    return replace(summary, unattributed_skips=summary.unattributed_skips + unattributed[0], coverage=coverage)


def _events(lines: LogLines, index: int, counts: list[int], unattributed: list[int], tz: tzinfo) -> Iterator[_Merged]:
    """The recognised lines of one source, each with the time it is merged by (a line without a timestamp
    keeps the previous line's), in the source's order."""
    order = 0
    when = _EARLIEST
    last_received: int | None = None
    try:
        for block in lines.blocks():
            newlines, found = scan_span(block, 0, len(block))
            counts[index] += newlines + (1 if block and block[-1] != 10 else 0)
            for _, line in found:
                raw = classify(line, full=False)
                if raw is None:
                    continue
                kind, vid, fields = raw
                head = timestamp_head(line)
                stamp = parse_timestamp(head, tz)
                if stamp is not None:
                    when = stamp
                if kind is _K_RECEIVED:
                    last_received = vid
                elif vid is None and kind in ATTRIBUTED:  # a skip or download retry naming no video
                    if last_received is None:
                        unattributed[0] += kind is _K_SKIP_LOCK
                        continue
                    vid = last_received
                order += 1
                yield when, index, order, kind, vid, fields, head
    finally:
        lines.close()
