"""Per-video timelines and the per-source summary that :func:`runbook.logs.parser.summarize` builds.

The accumulator keeps memory proportional to the number of distinct videos (and a few bounded lists),
never to the number of lines: per video it keeps the last :data:`MAX_EVENTS` events only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from runbook.logs.classify import EventKind, Fields

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
    FAILED = "failed"  # Video processing failed / SQS_JOB_FAILED / complete_video failed / handler exception
    SKIPPED = "skipped"  # a skip of §9 (or a READY video's message dropped); see skip_reason


class SkipReason(StrEnum):
    """Why the worker skipped a video (§9): each maps to one cause of the ``stuck-video`` layer."""

    LOCK = "lock"  # Lock acquisition failed -> stale-lock
    STATUS = "status"  # Cannot mark video N as PROCESSING -> status-not-uploaded
    CANCEL = "cancel"  # Cancel requested / Processing cancelled (retry requested) -> cancel-requested
    READY = "ready"  # VIDEO_ALREADY_READY_SKIP: the video is READY already, nothing is stuck


_SKIPS: Final = {
    EventKind.SKIP_LOCK: SkipReason.LOCK,
    EventKind.SKIP_STATUS: SkipReason.STATUS,
    EventKind.SKIP_CANCEL: SkipReason.CANCEL,
    EventKind.CANCELLED: SkipReason.CANCEL,
    EventKind.SKIP_READY: SkipReason.READY,
}
_PROGRESS: Final = {
    EventKind.LOCK_ACQUIRED: Stage.PROCESSING,
    EventKind.PROCESS_COMPLETED: Stage.ENCODED,
}
_FAILURES: Final = frozenset(
    {EventKind.JOB_FAILED, EventKind.PROCESSING_FAILED, EventKind.ROW_EXISTS, EventKind.HANDLER_EXCEPTION}
)
#: Per-video lines kept in ``events`` (the report's timeline): the runbook's milestones. The real worker's
#: other per-video lines (progress, the handler's bookkeeping) only update their attempt.
_MILESTONES: Final = frozenset({EventKind.RECEIVED, EventKind.JOB_COMPLETED, *_SKIPS, *_PROGRESS, *_FAILURES})
#: Attempts kept per video (the most recent ones); older ones are only counted.
MAX_ATTEMPTS: Final = 16


@dataclass(frozen=True)
class Attempt:
    """One delivery of a video's message to a worker: from its ``SQS_MESSAGE_RECEIVED`` to the next one.

    Durations come from one attempt only (``started_at`` → ``ended_at``), never across a redelivery.
    """

    received_at: datetime | None
    started_at: datetime | None  # [HANDLER] Lock acquired, marking as PROCESSING
    ended_at: datetime | None  # the attempt's last line
    stage: Stage
    skip_reason: SkipReason | None
    error: str | None
    row_exists: bool | None
    #: ``Cannot mark video N as PROCESSING: status=S`` (the row exists in S); ``None`` with a status skip
    #: means the worker's database has no such row (the real repository logs the status only for a row).
    mark_status: str | None
    tenant_id: str | None  # from SQS_MESSAGE_RECEIVED
    result: str | None  # [SQS_MAIN] handler.handle() returned ... result=ok|skip|failed
    last_line: int = 0  # line number of the attempt's last line (a later "started" means the worker restarted)

    @property
    def seconds(self) -> float | None:
        """How long the job ran in this attempt (lock acquired to its last line), if both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class VideoTimeline:
    """What one source's log says about one video.

    Each ``SQS_MESSAGE_RECEIVED`` opens an :class:`Attempt`; a skip, a failure or a completion ends it. A
    later line of the video goes to the latest attempt still open (two workers' lines may interleave), else
    to the latest attempt; a ``process_fn completed`` after a skip reopens it (some worker is evidently
    processing the video), and a job's first lines (``Calling handler.handle()``, ``Starting video processing``,
    ``Lock acquired``) after every attempt ended open a new attempt (its receive line is not in the log).

    ``stage`` is the outcome of the judged attempt: the latest one, unless it is the redelivery of a failure.
    The real worker sets visibility 0 after a failed job, so the message comes straight back and is skipped
    with ``Cannot mark video N as PROCESSING`` (the row is FAILED, or gone): that skip is a consequence, and
    the failure before it is what is judged (``redelivered`` says so). ``error`` and ``row_exists`` are the
    judged attempt's, else the latest seen for the video.
    """

    video_id: int
    stage: Stage
    events: tuple[tuple[EventKind, datetime | None], ...]  # the last MAX_EVENTS milestones, oldest first
    dropped_events: int  # older events not kept in ``events``
    first_ts: datetime | None
    last_ts: datetime | None
    received: int  # SQS_MESSAGE_RECEIVED count: more than one means redelivery or a retry
    completed: bool  # some attempt reached SQS_JOB_COMPLETED
    skip_reason: SkipReason | None  # set exactly when ``stage`` is SKIPPED
    error: str | None
    row_exists: bool | None  # from ``row exists=True/False`` (appendix)
    attempts: tuple[Attempt, ...] = ()  # the last MAX_ATTEMPTS, oldest first
    judged: Attempt | None = None  # the attempt ``stage`` comes from
    redelivered: bool = False  # the judged failure came back and was skipped (the row FAILED or gone)

    @property
    def kinds(self) -> tuple[EventKind, ...]:
        """The kinds of the kept events, oldest first."""
        return tuple(kind for kind, _ in self.events)

    @property
    def tenant_id(self) -> str | None:
        """The tenant the latest message named (``SQS_MESSAGE_RECEIVED | ... | tenant_id=``)."""
        return next((a.tenant_id for a in reversed(self.attempts) if a.tenant_id), None)


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
    #: The last queue-client failure (``Failed to get queue URL for Q: ...`` and the like): op, queue, error.
    queue_failure: Mapping[str, str] = field(default_factory=dict)
    region: str | None = None  # "SQSQueueClient initialized: <region>" (the queue client's AWS_REGION)
    credentials: str | None = None  # botocore's "Found credentials in/from ..."
    redis: str | None = None  # "Redis connected: host:port db=N"
    redis_error: str | None = None  # the last Redis failure the program logged
    #: The time window each source read covers (one per source; see ``runbook.logs.coverage``). Not compared:
    #: it describes the read (when, how far), not what the log says.
    coverage: tuple[Coverage, ...] = field(default=(), compare=False)

    def stage(self, video_id: int) -> Stage | None:
        """The stage of ``video_id``, or ``None`` when this log never mentions it."""
        timeline = self.timelines.get(video_id)
        return None if timeline is None else timeline.stage

    def videos(self, stage: Stage) -> tuple[int, ...]:
        """Ids of the videos whose judged attempt stopped at ``stage``, sorted."""
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
_K_MARK_REFUSED = EventKind.MARK_REFUSED
_K_HANDLE_RESULT = EventKind.HANDLE_RESULT
#: A job's first lines (sqs_main.py:240, handler.py:83, :88): in one attempt they precede every outcome.
_OPENERS = frozenset({EventKind.HANDLE_CALLED, EventKind.HANDLER_STARTED, EventKind.LOCK_ACQUIRED})
_S_COMPLETED = Stage.COMPLETED
_S_FAILED = Stage.FAILED
_S_RECEIVED = Stage.RECEIVED
_S_SKIPPED = Stage.SKIPPED
_TERMINAL = frozenset({_S_COMPLETED, _S_FAILED, _S_SKIPPED})


class _Attempt:
    """Mutable state of one attempt while the log streams by; timestamps stay raw."""

    __slots__ = (
        "ended",
        "error",
        "line",
        "mark_status",
        "received",
        "result",
        "row_exists",
        "skip",
        "stage",
        "started",
        "tenant",
    )

    def __init__(self, received: bytes | None, tenant: str | None, line: int = 0) -> None:
        self.line = line
        self.received = received
        self.started: bytes | None = None
        self.ended = received
        self.stage = _S_RECEIVED
        self.skip: SkipReason | None = None
        self.error: str | None = None
        self.row_exists: bool | None = None
        self.mark_status: str | None = None
        self.tenant = tenant
        self.result: str | None = None

    def add(self, kind: EventKind, fields: Fields, ts: bytes | None, line: int) -> None:
        if ts is not None:
            self.ended = ts
        self.line = max(self.line, line)
        stage = self.stage
        if kind in _PROGRESS:
            self.stage, self.skip = _PROGRESS[kind], None
            if kind is EventKind.LOCK_ACQUIRED and self.started is None:
                self.started = ts
        elif kind is _K_JOB_COMPLETED:
            if stage is not _S_FAILED and stage is not _S_SKIPPED:
                self.stage = _S_COMPLETED
        elif kind in _SKIPS:
            self.stage, self.skip = _S_SKIPPED, _SKIPS[kind]
        elif kind in _FAILURES:
            self.stage, self.skip = _S_FAILED, None
        elif kind is _K_MARK_REFUSED:
            self.mark_status = dict(fields).get("status")
        elif kind is _K_HANDLE_RESULT:
            self.result = dict(fields).get("result")
            if self.result == "failed" and stage not in _TERMINAL:
                self.stage = _S_FAILED
        for key, value in fields:
            if key == "error" and value and kind is not EventKind.DOWNLOAD_RETRY:
                self.error = value
            elif key == "row_exists":
                self.row_exists = value == "True"
        if kind is _K_ROW_EXISTS and self.error is None:
            self.error = "complete_video failed"

    def freeze(self, parse: Callable[[bytes | None], datetime | None]) -> Attempt:
        return Attempt(
            received_at=parse(self.received),
            started_at=parse(self.started),
            ended_at=parse(self.ended),
            stage=self.stage,
            skip_reason=self.skip,
            error=self.error,
            row_exists=self.row_exists,
            mark_status=self.mark_status,
            tenant_id=self.tenant,
            result=self.result,
            last_line=self.line,
        )


def _redelivery_of_failure(attempts: list[_Attempt]) -> int | None:
    """Index of the failed attempt that the latest attempt merely re-delivered, or ``None``.

    After a failure the real worker sets visibility 0 (sqs_main.py:307-309): the next delivery finds the row
    FAILED, or gone, and skips with ``Cannot mark video N as PROCESSING`` (deleting the message).
    """
    if len(attempts) < 2:
        return None
    last, before = attempts[-1], attempts[-2]
    redelivery = last.skip is SkipReason.STATUS and last.mark_status in (None, "FAILED")
    return len(attempts) - 2 if redelivery and before.stage is _S_FAILED else None


class _Video:
    """Mutable per-video state while the log streams by; timestamps stay raw until the end."""

    __slots__ = (
        "attempts",
        "completed",
        "dropped",
        "dropped_attempts",
        "error",
        "events",
        "first_ts",
        "last_ts",
        "orphan",
        "received",
        "row_exists",
    )

    def __init__(self) -> None:
        self.events: list[tuple[EventKind, bytes | None]] = []
        self.dropped = 0
        self.first_ts: bytes | None = None
        self.last_ts: bytes | None = None
        self.received = 0
        self.completed = False
        self.error: str | None = None
        self.row_exists: bool | None = None
        self.attempts: list[_Attempt] = []
        self.dropped_attempts = 0
        #: Lines of the video before any SQS_MESSAGE_RECEIVED (a log that starts mid-job): an attempt of its own.
        self.orphan: _Attempt | None = None

    def _attempt_for(self, kind: EventKind) -> _Attempt:
        attempts = self.attempts
        for attempt in reversed(attempts):
            if attempt.stage not in _TERMINAL:
                return attempt
        if attempts:
            latest = attempts[-1]
            if kind in _OPENERS:
                # A job starting after every attempt ended is a new attempt, whose receive line the log lost (a
                # log driver drops lines when its buffer is full): extending the old attempt instead would
                # measure one job from days ago to now.
                fresh = _Attempt(None, None)
                attempts.append(fresh)
                return fresh
            if kind in _PROGRESS and latest.stage is _S_SKIPPED:
                latest.skip = None  # reopened: a worker is on it after all (stage set by add())
            return latest
        if self.orphan is None:
            self.orphan = _Attempt(None, None)
            attempts.append(self.orphan)
        return self.orphan

    def add(self, kind: EventKind, fields: Fields, ts: bytes | None, line: int = 0) -> None:
        if kind in _MILESTONES:
            events = self.events
            events.append((kind, ts))
            if len(events) > MAX_EVENTS + 16:  # trim in batches: amortised O(1) per event, memory bounded
                self.dropped += len(events) - MAX_EVENTS
                del events[:-MAX_EVENTS]
        if ts is not None:
            if self.first_ts is None:
                self.first_ts = ts
            self.last_ts = ts
        if kind is _K_RECEIVED:
            self.received += 1
            self.attempts.append(_Attempt(ts, dict(fields).get("tenant_id"), line))
            if len(self.attempts) > MAX_ATTEMPTS + 8:
                self.dropped_attempts += len(self.attempts) - MAX_ATTEMPTS
                del self.attempts[:-MAX_ATTEMPTS]
            return
        attempt = self._attempt_for(kind)
        if kind is _K_JOB_COMPLETED and attempt.stage is not _S_FAILED and attempt.stage is not _S_SKIPPED:
            self.completed = True
        attempt.add(kind, fields, ts, line)
        for key, value in fields:
            if key == "error" and value and kind is not EventKind.DOWNLOAD_RETRY:
                self.error = value
            elif key == "row_exists":
                self.row_exists = value == "True"
        if kind is _K_ROW_EXISTS and self.error is None:
            self.error = "complete_video failed"

    def freeze(self, video_id: int, parse: Callable[[bytes | None], datetime | None]) -> VideoTimeline:
        kept = self.events[-MAX_EVENTS:]
        cache: dict[bytes | None, datetime | None] = {}

        def once(ts: bytes | None) -> datetime | None:
            # The same raw stamp recurs (first/last, an attempt's ends): each is parsed once.
            if ts not in cache:
                cache[ts] = parse(ts)
            return cache[ts]

        attempts = self.attempts[-MAX_ATTEMPTS:]
        index = _redelivery_of_failure(attempts)
        frozen = tuple(a.freeze(once) for a in attempts)
        judged = frozen[index] if index is not None else (frozen[-1] if frozen else None)
        stage = judged.stage if judged is not None else _S_RECEIVED
        return VideoTimeline(
            video_id=video_id,
            stage=stage,
            events=tuple([(kind, once(ts)) for kind, ts in kept]),
            dropped_events=self.dropped + len(self.events) - len(kept),
            first_ts=once(self.first_ts),
            last_ts=once(self.last_ts),
            received=self.received,
            completed=self.completed,
            skip_reason=judged.skip_reason if judged is not None and stage is _S_SKIPPED else None,
            error=(judged.error if judged is not None and judged.error else None) or self.error,
            row_exists=judged.row_exists if judged is not None and judged.row_exists is not None else self.row_exists,
            attempts=frozen,
            judged=judged,
            redelivered=index is not None,
        )
