"""§9 and the log appendix: some videos never encode while others do.

One diagnosis per video from joined evidence: DB status, the Redis lock and its TTL, the cancel flag, where its
SQS message is (visible, in flight or gone: inferred from the logs and the queue counters, never received), the
video's phases in the worker log and the API's enqueue line. Evidence is fetched in batches (one query and two
Redis pipelines per 1,000 ids), so diagnosing 10,000 discovered videos costs a fixed number of round trips.
With ``--video-id`` each id is one case; without, every discovered video is one row of one table-shaped case.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest

from runbook import commands, lock_holder, production, texts
from runbook.evidence import Evidence
from runbook.findings import Unknown, fail, unknown
from runbook.lock_holder import Holder
from runbook.logs import EventKind, SkipReason, Stage
from runbook.message_state import MessageInference, MessageState, infer, worker_visibility
from runbook.target import Target
from runbook.verdict import refutation

pytestmark = [
    pytest.mark.runbook(layer="stuck-video", section="§9"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]

#: Rows of a table the report shows (every row is counted in the summary).
MAX_ROWS = 200
#: Commands a table's remediation quotes.
MAX_COMMANDS = 3
#: The user property that carries the rows to the report (``fixtures.reporting``).
ROWS_PROPERTY = "runbook_rows"
#: A PROCESSING video whose message is gone with no completion has no worker on it and never will: the real
#: ``mark_processing`` would re-encode a PROCESSING row (repositories_video.py:439-440), but no message is left to
#: bring it back. (Its message merely visible again is re-encoded on the next receive, or skipped on a stale lock.)
_ORPHANED = frozenset(
    {"never-enqueued", "elsewhere", "counters-none-in-flight", "counters-none-visible", "failed-redelivered"}
)
#: A video whose lock's holder cannot be judged alive or gone: not a cause, an ``unknown`` with what to look at.
HOLDER_UNKNOWN = "lock-holder-unknown"
#: Runbook order, for ties between causes of a table.
_CAUSE_ORDER = ("stale-lock", "status-not-uploaded", "cancel-requested", "db-mismatch", "no-message-received")


class Diagnosis(NamedTuple):
    """One video's judgement: its cause (``None``: not stuck for a §9 reason), the facts, its table row."""

    video_id: int
    cause: str | None
    facts: dict[str, object]
    row: dict[str, object]


def _optional(evidence: Evidence, key: str) -> Any:
    """Evidence that sharpens a diagnosis but is not required for it (``None`` if missing or unreadable)."""
    try:
        value, _ = evidence.attempt(key)
    except Unknown:
        return None
    return value


def _ttl(seconds: float | None) -> str:
    return "∞" if seconds is None else str(int(seconds))


def _phase(timeline: Any, lang: str) -> str:
    labels = texts.LABELS[lang]
    if timeline is None:
        return "—"
    what = labels.get(f"phase_{timeline.stage}", str(timeline.stage))
    if timeline.skip_reason is not None:
        what += f" ({labels.get('skip_' + str(timeline.skip_reason), str(timeline.skip_reason))})"
    return f"{what} ×{timeline.received}"


class _Context:
    """The evidence every video's diagnosis shares, read once."""

    def __init__(self, evidence: Evidence, target: Target) -> None:
        self.target = target
        self.lang = target.lang if target.lang in texts.LABELS else "ko"
        self.rows = evidence.need("videos.rows")
        self.keys = evidence.need("videos.keys")
        self.worker_log = _optional(evidence, "log.worker")
        self.api_log = _optional(evidence, "log.api")
        self.queue = _optional(evidence, "sqs.api")
        worker = _optional(evidence, "worker.side")
        self.visibility = worker_visibility(worker.env if worker is not None else None)
        self.worker_db = worker.database.identity if worker is not None else None
        ttl = (worker.env if worker is not None else {}).get("VIDEO_LOCK_TTL_SECONDS", "")
        self.lock_ttl = float(ttl) if ttl.strip().isdigit() else float(production.LOCK_TTL_SECONDS)
        self.now = datetime.now(UTC)
        self.redis_cli = commands.redis_cli(target.api)
        self._evidence = evidence

    def progress_moved(self, vid: int) -> bool | None:
        """Whether the video's progress key moved between two reads (asked for only when nothing else tells)."""
        moved = _optional(self._evidence, "videos.progress_moved")
        return None if moved is None else moved.get(vid)

    def holder(self, vid: int, status: str, keys: Any) -> lock_holder.HolderJudgement:
        """Is the holder of the video's present lock alive, gone, or unknown (``runbook.lock_holder``)?"""

        def judge(moved: bool | None) -> lock_holder.HolderJudgement:
            return lock_holder.judge(
                vid, status=status, lock_ttl_seconds=keys.lock_ttl_seconds, worker_log=self.worker_log,
                queue=self.queue, now=self.now, progress_moved=moved, lock_ttl=self.lock_ttl,
            )  # fmt: skip

        found = judge(None)
        return judge(self.progress_moved(vid)) if found.state is Holder.UNKNOWN else found

    def tenant(self, vid: int) -> tuple[str | None, str | None]:
        """(tenant id, tenant code) of a video: its row's, else the one the worker's log saw in its message."""
        row = self.rows.get(vid)
        if row is not None and getattr(row, "tenant_id", None) is not None:
            return str(row.tenant_id), getattr(row, "tenant_code", None)
        timeline = self.worker_log.timelines.get(vid) if self.worker_log is not None else None
        return (getattr(timeline, "tenant_id", None) if timeline is not None else None), None

    def key(self, template: str, vid: int) -> str:
        tenant, _ = self.tenant(vid)
        return template.replace("{tenant}", tenant or "<tenant>").replace("{id}", str(vid))

    def enqueue_text(self, vid: int, message: MessageInference) -> str:
        if self.api_log is None:
            return "?"
        if vid in self.api_log.enqueued:
            ts = self.api_log.enqueued[vid]
            return ts.strftime("%H:%M:%S") if ts is not None else "✓"
        if vid in self.api_log.enqueue_failures:
            return "✗ " + self.api_log.enqueue_failures[vid]
        if message.reason == "outside-window":
            return "? (로그 범위 밖)" if self.lang != "en" else "? (outside the log's window)"
        return "✗"


def diagnose(ctx: _Context, vid: int) -> Diagnosis:
    """§9's table and appendix, for one video, with its message state."""
    t = ctx.target
    row = ctx.rows.get(vid)
    status = row.status if row is not None else "(행 없음)"
    keys = ctx.keys.get(vid)
    timeline = ctx.worker_log.timelines.get(vid) if ctx.worker_log is not None else None
    skipped = timeline.skip_reason if timeline is not None and timeline.stage == Stage.SKIPPED else None
    message = infer(vid, worker_log=ctx.worker_log, api_log=ctx.api_log, queue=ctx.queue, now=ctx.now,
                    visibility=ctx.visibility, uploaded_at=row.updated_at if row is not None else None)  # fmt: skip
    lock = _ttl(keys.lock_ttl_seconds) if keys is not None and keys.lock_present else "—"
    cancel = _ttl(keys.cancel_ttl_seconds) if keys is not None and keys.cancel_present else "—"
    if keys is not None and "cancel" in getattr(keys, "unknown", ()):
        cancel = "?"  # the cancel key names the video's tenant, and it is not known
    phase = _phase(timeline, ctx.lang)
    enqueue = ctx.enqueue_text(vid, message)
    words = ("락", "취소", "로그") if ctx.lang != "en" else ("lock", "cancel", "log")
    evidence_line = (
        f" [DB {status} · {words[0]} {lock} · {words[1]} {cancel} · {message.label(ctx.lang)} · "
        f"{words[2]} {phase} · enqueue {enqueue}]"
    )
    retry = commands.retry_video(t, vid, ctx.tenant(vid)[1])
    facts: dict[str, object] = {"video_id": vid, "retry_cmd": retry, "evidence": evidence_line}
    cause = _cause(ctx, vid, status, keys, skipped, message, facts)
    table = texts.UNKNOWN if cause == HOLDER_UNKNOWN else texts.CAUSES
    remediation = texts.render(table, cause, facts, ctx.lang)[1] if cause else ""
    table_row: dict[str, object] = {
        "video_id": vid,
        "status": status,
        "lock": lock,
        "cancel": cancel,
        "message": message.label(ctx.lang),
        "message_state": str(message.state),
        "enqueue": enqueue,
        "phase": phase,
        "cause": cause or "",
        "command": remediation,
    }
    return Diagnosis(vid, cause, facts, table_row)


def _cause(
    ctx: _Context,
    vid: int,
    status: str,
    keys: Any,
    skipped: SkipReason | None,
    message: MessageInference,
    facts: dict[str, object],
) -> str | None:
    """The cause (and its facts, added to ``facts``), or ``None``."""
    t = ctx.target
    timeline = ctx.worker_log.timelines.get(vid) if ctx.worker_log is not None else None
    judged = getattr(timeline, "judged", None)
    cancel_skip = skipped == SkipReason.CANCEL
    if keys is not None and keys.cancel_present and (cancel_skip or status == "UPLOADED"):
        facts.update(key=ctx.key(t.cancel_key, vid), ttl=_ttl(keys.cancel_ttl_seconds))
        return "cancel-requested"
    if cancel_skip and status == "UPLOADED":
        # The retry's own message was skipped for its cancel flag (set for 300 s before it enqueued), which has
        # expired since: nothing will encode the video until it is retried again.
        facts.update(key=ctx.key(t.cancel_key, vid), ttl="0")
        return "cancel-requested"
    if keys is not None and keys.lock_present and (skipped == SkipReason.LOCK or status == "UPLOADED"):
        # A lock is stale only when its holder is gone: a duplicate delivery skipped on a live holder's lock is
        # the lock doing its job, and DEL would start a second concurrent encode.
        holder = ctx.holder(vid, status, keys)
        facts.update(
            key=ctx.key(t.lock_key, vid), ttl=_ttl(keys.lock_ttl_seconds), status=status, redis_cli=ctx.redis_cli
        )
        if holder.state is Holder.ALIVE:
            return None
        if holder.state is Holder.UNKNOWN:
            _holder_facts(ctx, vid, holder, facts)
            return HOLDER_UNKNOWN
        return "stale-lock"
    if skipped == SkipReason.STATUS and status != "READY":
        mark = getattr(judged, "mark_status", None)
        if mark is None and ctx.rows.get(vid) is not None:
            # The real repository names the status of a row it found; no status means the worker's database has
            # no video N while the API's has it.
            facts.update(
                api_db=t.api.database.identity or "?",
                worker_db=f"{ctx.worker_db or '?'}: `Cannot mark video {vid} as PROCESSING` without `status=`",
                restart_cmd=commands.restart_worker(t),
            )
            return "db-mismatch"
        seen = f"`Cannot mark video {vid} as PROCESSING: status={mark}`" if mark else f"`Cannot mark video {vid}`"
        facts.update(
            status=status if mark in (None, status) else f"{status} (the worker saw {mark})",
            why=f"{seen}, skip 후 메시지 삭제",
            why_en=f"{seen}, skipped and its message deleted",
        )
        return "status-not-uploaded"
    if skipped == SkipReason.LOCK and status != "READY":
        restarted = ctx.worker_log.last_line.get(EventKind.STARTED, 0)
        if lock_holder.live_attempt(timeline, restarted, ctx.now) is not None:
            return None  # the lock's holder is still at it (the lock key was not read, or just released)
        facts.update(key=ctx.key(t.lock_key, vid), ttl="?", status=status, redis_cli=ctx.redis_cli)
        return "stale-lock"
    if status == "PROCESSING" and message.reason in _ORPHANED:
        # The message state changes the diagnosis: PROCESSING with its message gone never finishes. In flight, the
        # worker is on it; visible again, the next receive re-encodes it (a PROCESSING row is markable).
        facts.update(
            status=status,
            why="처리하는 워커도, 다시 가져갈 메시지도 없음 (마크 후 워커 중단)",
            why_en="no worker holds it and no message will bring it back (the worker stopped after marking it)",
        )
        return "status-not-uploaded"
    if status == "UPLOADED" and message.state == MessageState.GONE and message.reason == "elsewhere":
        # Enqueued, never received by this worker, and the queue is empty: the message went elsewhere, unless
        # the worker log does not reach back to the enqueue (its receipt may be in the part not read).
        at = message.enqueued_at
        misses = at is None or ctx.worker_log is None or ctx.worker_log.covers(at) is not True
        if refutation("no-message-received", ["worker-log-misses-enqueue"] if misses else []) is None:
            facts.update(api_container=t.api_container)
            return "no-message-received"
    return None


def _holder_facts(ctx: _Context, vid: int, holder: lock_holder.HolderJudgement, facts: dict[str, object]) -> None:
    """What an unjudged lock's message says and what to look at (never a DEL)."""
    why_ko, why_en = texts.HOLDER_WHY.get(holder.reason, (holder.reason, holder.reason))
    when = holder.lock_set_at.strftime("%Y-%m-%d %H:%M:%SZ") if holder.lock_set_at is not None else "?"
    values = {
        "redis_cli": ctx.redis_cli,
        "progress_key": ctx.key(ctx.target.progress_key, vid),
        "key": facts["key"],
        "set_at": when,
        "video_id": vid,
    }
    look_ko, look_en = (template.format(**values) for template in texts.HOLDER_LOOK)
    facts.update(set_at=when, why=why_ko, why_en=why_en, look=look_ko, look_en=look_en)


def _record(request: pytest.FixtureRequest, diagnoses: list[Diagnosis]) -> None:
    """The rows travel to the report as a user property (``record_property`` would warn under JUnit xunit2)."""
    rows = [d.row for d in sorted(diagnoses, key=lambda d: (d.cause is None, d.video_id))[:MAX_ROWS]]
    table = json.dumps({"total": len(diagnoses), "rows": rows}, ensure_ascii=False)
    request.node.user_properties.append((ROWS_PROPERTY, table))


def _summary(ctx: _Context, diagnoses: list[Diagnosis]) -> None:
    """Fail once for a table: the most frequent cause, its first video's facts, counts and the first commands;
    with no cause but a lock whose holder cannot be judged, ``unknown`` for the first such video."""
    failing = [d for d in diagnoses if d.cause and d.cause != HOLDER_UNKNOWN]
    if not failing:
        undecided = next((d for d in diagnoses if d.cause == HOLDER_UNKNOWN), None)
        if undecided is not None:
            unknown(HOLDER_UNKNOWN, **undecided.facts)
        return
    counts = Counter(str(d.cause) for d in failing)
    order = {cause: i for i, cause in enumerate(_CAUSE_ORDER)}
    cause = min(counts, key=lambda c: (-counts[c], order.get(c, len(order))))
    first = next(d for d in failing if d.cause == cause)
    tally = ", ".join(f"{c} {n}" for c, n in counts.most_common())
    others = [d.row["command"] for d in failing if d is not first][: MAX_COMMANDS - 1]
    if ctx.lang == "en":
        more = f" (of {len(diagnoses)} videos, {len(failing)} stuck for a §9 cause: {tally})"
        more_fix = "".join(f"\n# next: {cmd}" for cmd in others)
    else:
        more = f" (영상 {len(diagnoses)}개 중 §9 원인 {len(failing)}개: {tally})"
        more_fix = "".join(f"\n# 다음: {cmd}" for cmd in others)
    fail(cause, **first.facts, more=more, more_fix=more_fix)


def test_stuck_video(evidence: Evidence, target: Target, video_id: int | None, request: pytest.FixtureRequest) -> None:
    """Per ``--video-id``; without ids, every video stuck longer than ``--stuck-after`` (one table check)."""
    ids = (video_id,) if video_id is not None else tuple(evidence.need("videos"))
    if not ids:
        unknown("not-configured", setting="--video-id (또는 DB에서 찾은 멈춘 영상)")
    ctx = _Context(evidence, target)
    diagnoses = [diagnose(ctx, vid) for vid in ids]
    _record(request, diagnoses)
    if video_id is not None:
        if diagnoses[0].cause == HOLDER_UNKNOWN:
            unknown(HOLDER_UNKNOWN, **diagnoses[0].facts)
        if diagnoses[0].cause:
            fail(diagnoses[0].cause, **diagnoses[0].facts)
        return
    _summary(ctx, diagnoses)


def test_stuck_video_count(evidence: Evidence, target: Target, thresholds: Any, record_signal: Any) -> None:
    """Signal ``stuck_videos``: videos UPLOADED/PROCESSING longer than ``--stuck-after`` (from the database,
    whatever ``--video-id`` says); over ``--max-stuck`` (default 0) fails. Each one's cause is test_stuck_video's."""
    from runbook.signals import measure

    rows, error = evidence.attempt("videos.stuck")
    source = f"DB {target.video_table}: UPLOADED/PROCESSING > {target.stuck_after:.0f}s"
    if error is not None:
        record_signal(measure("stuck_videos", None, thresholds, source, str(error)))
        unknown("probe-error", dependency=error.dependency, error=str(error))
    signal = measure("stuck_videos", len(rows), thresholds, source)
    record_signal(signal)
    if signal.state == "fail":
        ids = ",".join(str(row.id) for row in rows[:20])
        fail(
            "stuck-videos",
            count=len(rows) if len(rows) < 1000 else "1000+",
            threshold=int(signal.threshold),
            stuck_after=f"{target.stuck_after:.0f}s",
            examples=", ".join(f"{row.id}={row.status}" for row in rows[:5]),
            ids=ids,
        )
