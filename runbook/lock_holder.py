"""Whether the holder of a video's encode lock is still at work (§9; issue 16, item 2).

A lock is stale only when its holder is gone. The real handler takes ``job:encode:{id}:lock`` with
``SET NX EX 14400`` and releases it in ``finally``; a duplicate delivery of the message meanwhile logs
``IDEMPOTENT_SKIP`` and ``Lock acquisition failed`` and is deleted, as it should be. Deleting the lock of a live
holder starts a second concurrent encode. So before §9's ``DEL``:

- alive: an attempt in the worker log that took the lock, has no outcome, no worker start after its last line,
  and wrote a line recently; or its progress key moved between two reads a short interval apart;
- gone: the row is still UPLOADED (a holder marks it PROCESSING right after the lock); or nothing is in flight
  in the queue (a running job's message stays in flight: the worker extends it every 240 s); or the log reaches
  back to the lock's birth, shows no live attempt, and the queue's in-flight messages are other live jobs';
- otherwise unknown: the check names what to look at, and never recommends ``DEL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from runbook import production
from runbook.logs import EventKind, Stage

#: An open attempt whose last line is older than this is not shown alive by the log alone. The real worker
#: logs each whole percent of the transcode (50..85 %), so a running encode writes every few minutes at most;
#: the download before it writes nothing (a long one is covered by the message in flight).
QUIET_SECONDS: Final = 900.0
#: The interval between the two reads of a progress key (``runbook.probes.redis_.progress_moves``).
PROGRESS_INTERVAL_SECONDS: Final = 2.0

_OPEN: Final = frozenset({Stage.RECEIVED, Stage.PROCESSING, Stage.ENCODED})


class Holder(StrEnum):
    ALIVE = "alive"
    GONE = "gone"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class HolderJudgement:
    """The answer and why (``reason``: a key of ``texts.HOLDER_REASONS``); ``lock_set_at``: when the lock was
    taken, from its TTL (``None``: unknown)."""

    state: Holder
    reason: str
    lock_set_at: datetime | None = None
    last_seen: datetime | None = None


def lock_set_at(ttl_seconds: float | None, now: datetime, lock_ttl: float) -> datetime | None:
    """When the lock was set: its TTL counts down from ``lock_ttl`` (``None`` for a key that never expires)."""
    if ttl_seconds is None or ttl_seconds > lock_ttl:
        return None
    return now - timedelta(seconds=lock_ttl - ttl_seconds)


def live_attempt(timeline: Any, restarted: int, now: datetime) -> datetime | None:
    """The last line of an attempt that holds the lock and works on (``None``: no such attempt)."""
    for attempt in reversed(getattr(timeline, "attempts", ())):
        if attempt.stage not in _OPEN or attempt.started_at is None or attempt.ended_at is None:
            continue
        if restarted > attempt.last_line:
            continue  # a worker started after its last line: killed mid-job
        if (now - attempt.ended_at).total_seconds() <= QUIET_SECONDS:
            return attempt.ended_at  # type: ignore[no-any-return]
    return None


def _live_elsewhere(worker_log: Any, video_id: int, restarted: int, now: datetime) -> int:
    """Videos other than ``video_id`` that the log shows being encoded now (each holds one message in flight)."""
    return sum(
        1
        for vid, timeline in worker_log.timelines.items()
        if vid != video_id and live_attempt(timeline, restarted, now) is not None
    )


def judge(
    video_id: int,
    *,
    status: str,
    lock_ttl_seconds: float | None,
    worker_log: Any,
    queue: Any,
    now: datetime,
    progress_moved: bool | None = None,
    lock_ttl: float = production.LOCK_TTL_SECONDS,
) -> HolderJudgement:
    """Is the holder of ``video_id``'s present lock alive, gone, or unknown (see the module's docstring)."""
    born = lock_set_at(lock_ttl_seconds, now, lock_ttl)
    restarted = worker_log.last_line.get(EventKind.STARTED, 0) if worker_log is not None else 0
    timeline = worker_log.timelines.get(video_id) if worker_log is not None else None
    seen = live_attempt(timeline, restarted, now) if timeline is not None else None
    if seen is not None:
        return HolderJudgement(Holder.ALIVE, "open-attempt", born, seen)
    if progress_moved:
        return HolderJudgement(Holder.ALIVE, "progress-moved", born)
    if status == "UPLOADED":
        return HolderJudgement(Holder.GONE, "never-marked", born)
    in_flight = getattr(queue, "in_flight", None)
    if in_flight == 0:
        return HolderJudgement(Holder.GONE, "nothing-in-flight", born)
    if worker_log is not None and born is not None and worker_log.covers(born) is True and in_flight is not None:
        if in_flight <= _live_elsewhere(worker_log, video_id, restarted, now):
            return HolderJudgement(Holder.GONE, "log-shows-no-holder", born)
        return HolderJudgement(Holder.UNKNOWN, "in-flight-unexplained", born)
    if worker_log is None or born is None or worker_log.covers(born) is not True:
        return HolderJudgement(Holder.UNKNOWN, "log-misses-lock", born)
    return HolderJudgement(Holder.UNKNOWN, "queue-unreadable", born)
