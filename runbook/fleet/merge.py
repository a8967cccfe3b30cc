"""One log summary for the whole fleet, from one summary per instance.

Each instance's log is summarised on its own (a ``Lock acquisition failed`` line belongs to that worker's last
``SQS_MESSAGE_RECEIVED``, never to another worker's), then merged:

- a video's timeline is the one of the instance that saw it last (its latest event; docker's UTC write times
  make instances comparable), with the receive counts of all instances added up and the latest error kept;
  :func:`merge` also says which instance that was;
- line numbers are renumbered instance after instance, and an instance whose last ``config error`` follows
  its last start (or that never started) is placed last: "a config error after the last start" in the
  merged summary then holds exactly when it holds on some instance (§3's start-log check reads it so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from runbook.logs import EventKind, LogSummary, VideoTimeline
from runbook.logs.timeline import MAX_EVENTS, MAX_MESSAGES


def config_error_after_start(summary: LogSummary) -> bool:
    """The worker's last ``config error`` comes after its last start, or it never started (§3)."""
    error = summary.last_line.get(EventKind.CONFIG_ERROR)
    started = summary.last_line.get(EventKind.STARTED)
    return error is not None and (started is None or started < error)


def last_received(summary: LogSummary) -> tuple[int, datetime | None] | None:
    """The video this worker received last (``SQS_MESSAGE_RECEIVED``) and when."""
    best: tuple[int, datetime | None] | None = None
    for vid, timeline in summary.timelines.items():
        for kind, ts in timeline.events:
            if kind is EventKind.RECEIVED and (best is None or _key(ts) >= _key(best[1])):
                best = (vid, ts)
    return best


def _key(ts: datetime | None) -> float:
    if ts is None:
        return float("-inf")
    return ts.timestamp()


def _merge_timelines(found: list[tuple[str, VideoTimeline]]) -> tuple[VideoTimeline, str]:
    latest_iid, latest = max(found, key=lambda item: (_key(item[1].last_ts), item[0]))
    events = sorted((e for _, t in found for e in t.events), key=lambda e: _key(e[1]))
    errors = [t for _, t in found if t.error]
    error = max(errors, key=lambda t: _key(t.last_ts)).error if errors else None
    starts = [t.first_ts for _, t in found if t.first_ts is not None]
    merged = replace(
        latest,
        events=tuple(events[-MAX_EVENTS:]),
        dropped_events=sum(t.dropped_events for _, t in found) + max(0, len(events) - MAX_EVENTS),
        first_ts=min(starts, key=_key) if starts else None,
        received=sum(t.received for _, t in found),
        completed=any(t.completed for _, t in found),
        error=error,
    )
    return merged, latest_iid


def merge(summaries: Mapping[str, LogSummary], source: str = "fleet") -> tuple[LogSummary, dict[int, str]]:
    """The fleet's summary, and for each video the instance whose timeline it is."""
    order = sorted(summaries, key=lambda iid: (config_error_after_start(summaries[iid]), iid))
    offset = 0
    first_line: dict[EventKind, int] = {}
    last_line: dict[EventKind, int] = {}
    counts: dict[EventKind, int] = {}
    per_video: dict[int, list[tuple[str, VideoTimeline]]] = {}
    enqueued: dict[int, datetime | None] = {}
    failures: dict[int, str] = {}
    config_errors: list[str] = []
    variables: dict[str, None] = {}
    for iid in order:
        s = summaries[iid]
        for kind, line in s.first_line.items():
            first_line.setdefault(kind, line + offset)
        for kind, line in s.last_line.items():
            last_line[kind] = line + offset
        for kind, count in s.counts.items():
            counts[kind] = counts.get(kind, 0) + count
        for vid, timeline in s.timelines.items():
            per_video.setdefault(vid, []).append((iid, timeline))
        enqueued.update(s.enqueued)
        failures.update(s.enqueue_failures)
        config_errors.extend(s.config_errors)
        variables.update(dict.fromkeys(s.config_variables))
        offset += s.lines
    timelines: dict[int, VideoTimeline] = {}
    owner: dict[int, str] = {}
    for vid, found in per_video.items():
        timelines[vid], owner[vid] = _merge_timelines(found)
    parts = [summaries[iid] for iid in order]
    firsts = [s.first_ts for s in parts if s.first_ts is not None]
    lasts = [s.last_ts for s in parts if s.last_ts is not None]
    started = [s for s in parts if s.started]
    unavailable = [s for s in parts if s.sqs_error]
    summary = LogSummary(
        source=source,
        lines=offset,
        events=sum(s.events for s in parts),
        first_ts=min(firsts, key=_key) if firsts else None,
        last_ts=max(lasts, key=_key) if lasts else None,
        counts=MappingProxyType(counts),
        first_line=MappingProxyType(first_line),
        last_line=MappingProxyType(last_line),
        started=sum(s.started for s in parts),
        queue=started[-1].queue if started else None,
        wait_time=started[-1].wait_time if started else None,
        config_errors=tuple(config_errors[-MAX_MESSAGES:]),
        config_variables=tuple(variables),
        sqs_unavailable=sum(s.sqs_unavailable for s in parts),
        sqs_error=unavailable[-1].sqs_error if unavailable else None,
        enqueued=MappingProxyType(enqueued),
        enqueue_failures=MappingProxyType(failures),
        timelines=MappingProxyType(timelines),
        unattributed_skips=sum(s.unattributed_skips for s in parts),
    )
    return summary, owner
