"""Per-video timelines and the per-source summary that :func:`runbook.logs.parser.summarize` builds.

The accumulator keeps memory proportional to the number of distinct videos (and a few bounded lists),
never to the number of lines: per video it keeps the last :data:`MAX_EVENTS` events only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from runbook.logs.classify import EventKind, Fields, parse_timestamp

if TYPE_CHECKING:  # coverage.py imports the summarizer, which imports this module
    from runbook.logs.coverage import Coverage

#: Events kept per video (the most recent ones); older ones are only counted.
MAX_EVENTS: Final = 32
#: Config error messages kept per source (the most recent ones).
MAX_MESSAGES: Final = 16


class Stage(StrEnum):
    """Where a video stopped, in the order of §5: received → processing → encoded → completed."""

    RECEIVED = "received"  # SQS_MESSAGE_RECEIVED
    PROCESSING = "processing"  # [HANDLER] Lock acquired, marking as PROCESSING
    ENCODED = "encoded"  # [HANDLER] process_fn completed
    COMPLETED = "completed"  # SQS_JOB_COMPLETED
    FAILED = "failed"  # Video processing failed / SQS_JOB_FAILED / complete_video failed
    SKIPPED = "skipped"  # one of §9's three handler skips; see skip_reason


class SkipReason(StrEnum):
    """Why the handler skipped a video (§9): each maps to one cause of the ``stuck-video`` layer."""

    LOCK = "lock"  # Lock acquisition failed -> stale-lock
    STATUS = "status"  # Cannot mark video N as PROCESSING -> status-not-uploaded
    CANCEL = "cancel"  # Cancel requested -> cancel-requested


_SKIPS: Final = {
    EventKind.SKIP_LOCK: SkipReason.LOCK,
    EventKind.SKIP_STATUS: SkipReason.STATUS,
    EventKind.SKIP_CANCEL: SkipReason.CANCEL,
}
_PROGRESS: Final = {
    EventKind.LOCK_ACQUIRED: Stage.PROCESSING,
    EventKind.PROCESS_COMPLETED: Stage.ENCODED,
}
_FAILURES: Final = frozenset({EventKind.JOB_FAILED, EventKind.PROCESSING_FAILED, EventKind.ROW_EXISTS})


@dataclass(frozen=True)
class VideoTimeline:
    """What one source's log says about one video.

    ``stage`` is the outcome of the latest attempt. Each ``SQS_MESSAGE_RECEIVED`` opens an attempt;
    a skip or a failure ends it, and a later ``SQS_JOB_COMPLETED`` in the same attempt (the message
    being deleted) does not turn it into ``completed``. A ``Lock acquired`` or ``process_fn completed``
    after a skip does reopen it: some worker is evidently processing the video. ``error`` is the
    latest error text seen for the video, whatever the attempt.
    """

    video_id: int
    stage: Stage
    events: tuple[tuple[EventKind, datetime | None], ...]  # the last MAX_EVENTS, oldest first
    dropped_events: int  # older events not kept in ``events``
    first_ts: datetime | None
    last_ts: datetime | None
    received: int  # SQS_MESSAGE_RECEIVED count: more than one means redelivery or a retry
    completed: bool  # some attempt reached SQS_JOB_COMPLETED
    skip_reason: SkipReason | None  # set exactly when ``stage`` is SKIPPED
    error: str | None
    row_exists: bool | None  # from ``row exists=True/False`` (appendix)

    @property
    def kinds(self) -> tuple[EventKind, ...]:
        """The kinds of the kept events, oldest first."""
        return tuple(kind for kind, _ in self.events)


@dataclass(frozen=True)
class LogSummary:
    """Everything one log source says, reduced in one pass.

    ``first_line``/``last_line`` give the line number of the first/last occurrence of each event
    kind, for order checks such as "was there a ``started`` after the last ``config error``".
    ``first_ts``/``last_ts`` span the recognised events (other lines are not parsed for speed).
    """

    source: str
    lines: int
    events: int
    first_ts: datetime | None
    last_ts: datetime | None
    counts: Mapping[EventKind, int]
    first_line: Mapping[EventKind, int]
    last_line: Mapping[EventKind, int]
    started: int
    queue: str | None  # from the last "started" line
    wait_time: int | None
    config_errors: tuple[str, ...]  # the last MAX_MESSAGES messages
    config_variables: tuple[str, ...]  # distinct variable names, in order of first appearance
    sqs_unavailable: int
    sqs_error: str | None  # detail of the last "SQS unavailable" line, if it had one
    enqueued: Mapping[int, datetime | None]  # video id -> time of its last "Video job enqueued"
    enqueue_failures: Mapping[int, str]  # video id -> last error (``HTTP 503`` for an access log line)
    timelines: Mapping[int, VideoTimeline]
    unattributed_skips: int  # "Lock acquisition failed" lines with no earlier SQS_MESSAGE_RECEIVED
    #: The time window each source read covers (one per source; see ``runbook.logs.coverage``). Not compared:
    #: it describes the read (when, how far), not what the log says.
    coverage: tuple[Coverage, ...] = field(default=(), compare=False)

    def stage(self, video_id: int) -> Stage | None:
        """The stage of ``video_id``, or ``None`` when this log never mentions it."""
        timeline = self.timelines.get(video_id)
        return None if timeline is None else timeline.stage

    def videos(self, stage: Stage) -> tuple[int, ...]:
        """Ids of the videos whose latest attempt stopped at ``stage``, sorted."""
        return tuple(sorted(vid for vid, t in self.timelines.items() if t.stage is stage))

    def covers(self, when: datetime) -> bool | None:
        """Whether a line written at ``when`` would be in this log (every source of it); ``None``: cannot tell."""
        from runbook.logs.coverage import covers  # a cycle at import time (see above)

        return covers(self.coverage, when)

    def before(self, first: EventKind, then: EventKind) -> bool | None:
        """Whether the first ``first`` line precedes the first ``then`` line; ``None`` if either is absent."""
        a, b = self.first_line.get(first), self.first_line.get(then)
        return None if a is None or b is None else a < b


# Enum attribute access is slow in CPython 3.11 (see classify.py): module globals for the hot path.
_K_JOB_COMPLETED = EventKind.JOB_COMPLETED
_K_RECEIVED = EventKind.RECEIVED
_K_ROW_EXISTS = EventKind.ROW_EXISTS
_S_COMPLETED = Stage.COMPLETED
_S_FAILED = Stage.FAILED
_S_RECEIVED = Stage.RECEIVED
_S_SKIPPED = Stage.SKIPPED


class _Video:
    """Mutable per-video state while the log streams by; timestamps stay raw until the end."""

    __slots__ = (
        "completed",
        "dropped",
        "error",
        "events",
        "first_ts",
        "last_ts",
        "received",
        "row_exists",
        "skip",
        "stage",
    )

    def __init__(self) -> None:
        self.events: list[tuple[EventKind, bytes | None]] = []
        self.dropped = 0
        self.first_ts: bytes | None = None
        self.last_ts: bytes | None = None
        self.stage = _S_RECEIVED
        self.skip: SkipReason | None = None
        self.received = 0
        self.completed = False
        self.error: str | None = None
        self.row_exists: bool | None = None

    def add(self, kind: EventKind, fields: Fields, ts: bytes | None) -> None:
        events = self.events
        events.append((kind, ts))
        if len(events) > MAX_EVENTS + 16:  # trim in batches: amortised O(1) per event, memory bounded
            self.dropped += len(events) - MAX_EVENTS
            del events[:-MAX_EVENTS]
        if ts is not None:
            if self.first_ts is None:
                self.first_ts = ts
            self.last_ts = ts
        terminal = self.stage is _S_FAILED or self.stage is _S_SKIPPED
        if kind is _K_RECEIVED:
            self.received += 1
            self.stage, self.skip = _S_RECEIVED, None
        elif kind in _PROGRESS:
            self.stage, self.skip = _PROGRESS[kind], None
        elif kind is _K_JOB_COMPLETED:
            if not terminal:
                self.stage, self.completed = _S_COMPLETED, True
        elif kind in _SKIPS:
            self.stage, self.skip = _S_SKIPPED, _SKIPS[kind]
        elif kind in _FAILURES:
            self.stage, self.skip = _S_FAILED, None
        for key, value in fields:
            if key == "error" and value:
                self.error = value
            elif key == "row_exists":
                self.row_exists = value == "True"
        if kind is _K_ROW_EXISTS and self.error is None:
            self.error = "complete_video failed"

    def freeze(self, video_id: int) -> VideoTimeline:
        kept = self.events[-MAX_EVENTS:]
        # The first and last timestamps are usually those of kept events: each is parsed once.
        parsed = {ts: parse_timestamp(ts) for _, ts in kept}
        first = parsed[self.first_ts] if self.first_ts in parsed else parse_timestamp(self.first_ts)
        last = parsed[self.last_ts] if self.last_ts in parsed else parse_timestamp(self.last_ts)
        return VideoTimeline(
            video_id=video_id,
            stage=self.stage,
            events=tuple([(kind, parsed[ts]) for kind, ts in kept]),
            dropped_events=self.dropped + len(self.events) - len(kept),
            first_ts=first,
            last_ts=last,
            received=self.received,
            completed=self.completed,
            skip_reason=self.skip,
            error=self.error,
            row_exists=self.row_exists,
        )
