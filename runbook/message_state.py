"""Where a video's SQS message is (§9, appendix B 0/3), inferred without touching the queue.

Live mode never calls ``ReceiveMessage`` (it would hide a production message), so the state is an inference
from what the programs logged and what the queue counts:

- the API's ``Video job enqueued: video_id=N`` (sent at T),
- the worker's ``SQS_MESSAGE_RECEIVED`` (received at T; while the job runs the real worker extends the
  message's visibility by 300 s every 240 s, ``runbook.production``), then ``SQS_JOB_COMPLETED`` or one of
  §9's skips (the message is deleted) or ``SQS_JOB_FAILED`` (visibility set to 0: visible again at once; the
  next delivery finds the row FAILED and skips, deleting it),
- the queue's visible and in-flight counters, which cap the inference (nothing is in flight when the queue
  says 0 are).

Every answer says it is inferred; the rehearsal compares it with moto's own state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from runbook import production
from runbook.logs import EventKind, Stage

#: How long a message stays hidden after the worker's last extension (sqs_main.py:47): a worker that died
#: mid-job leaves its message in flight this long at most. Production has no setting for it (the runbook's
#: 21600 s exists nowhere in the code).
WORKER_VISIBILITY = production.VISIBILITY_EXTEND_SECONDS


class MessageState(StrEnum):
    VISIBLE = "visible"  # waiting in the queue: the next poll takes it
    IN_FLIGHT = "in-flight"  # received, hidden for the visibility timeout: on a worker
    GONE = "gone"  # deleted (completed or skipped), or never sent
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class MessageInference:
    """The inferred state, why (a key of :data:`REASONS`), and the times it rests on."""

    state: MessageState
    reason: str
    enqueued_at: datetime | None = None
    received_at: datetime | None = None
    visible_again_at: datetime | None = None

    def label(self, lang: str = "ko") -> str:
        """One line for the operator, e.g. ``in flight (inferred): received 12:00:01, visibility until 18:00:01``."""
        state = STATES[lang if lang in STATES else "ko"][self.state]
        reason = REASONS[lang if lang in REASONS else "ko"].get(self.reason, self.reason)
        values = {
            "enqueued": _clock(self.enqueued_at),
            "received": _clock(self.received_at),
            "until": _clock(self.visible_again_at),
        }
        return f"{state}: {reason.format(**values)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "reason": self.reason,
            "inferred": True,
            "enqueued_at": _iso(self.enqueued_at),
            "received_at": _iso(self.received_at),
            "visible_again_at": _iso(self.visible_again_at),
        }


STATES: dict[str, dict[MessageState, str]] = {
    "ko": {
        MessageState.VISIBLE: "SQS 메시지 visible (추정)",
        MessageState.IN_FLIGHT: "SQS 메시지 in flight (추정)",
        MessageState.GONE: "SQS 메시지 없음 (추정)",
        MessageState.UNKNOWN: "SQS 메시지 상태 모름",
    },
    "en": {
        MessageState.VISIBLE: "SQS message visible (inferred)",
        MessageState.IN_FLIGHT: "SQS message in flight (inferred)",
        MessageState.GONE: "SQS message gone (inferred)",
        MessageState.UNKNOWN: "SQS message state unknown",
    },
}

REASONS: dict[str, dict[str, str]] = {
    "ko": {
        "completed": "SQS_JOB_COMPLETED 후 삭제됨",
        "skipped": "handler skip 후 삭제됨 (§9)",
        "failed-kept": "SQS_JOB_FAILED, 삭제 안 됨 — {until}에 다시 visible",
        "failed-visible": "SQS_JOB_FAILED 후 visibility 0 — 곧바로 다시 visible (다음 수신은 FAILED 행을 skip)",
        "failed-redelivered": "SQS_JOB_FAILED 후 곧바로 재전달, `Cannot mark ... as PROCESSING`으로 skip되어 삭제됨",
        "running": "{received} 수신, 워커가 처리 중 (240초마다 visibility 연장)",
        "expired": "{received} 수신, 끝나기 전에 워커가 재시작 — visibility 만료({until}) 후 다시 visible",
        "waiting": "API enqueue {enqueued}, 아직 수신 안 됨 — 큐에서 대기",
        "elsewhere-in-flight": "API enqueue {enqueued}, 이 워커 로그엔 수신 없음, 큐에 in flight 있음 — 다른 소비자?",
        "elsewhere": "API enqueue {enqueued}, 수신 기록 없음, 큐 비어 있음 — 다른 소비자/큐로 감",
        "never-enqueued": "API 로그에 enqueue 없음 — 메시지가 보내지지 않음",
        "outside-window": "업로드 시각이 읽은 API 로그 범위 밖 — enqueue 여부 모름",
        "enqueue-failed": "API enqueue 실패 — 메시지 없음",
        "counters-none-in-flight": "로그상 처리 중이나 큐 in flight 0 — 삭제됨",
        "counters-none-visible": "로그상 대기 중이나 큐 visible 0, in flight 0 — 삭제됨",
        "counters-visible": "로그상 처리 중이나 큐 in flight 0, visible 있음 — 다시 visible",
        "counters-in-flight": "로그상 대기 중이나 큐 visible 0, in flight 있음 — 누군가 수신",
        "no-time": "수신 시각을 알 수 없음",
        "no-evidence": "워커/API 로그와 큐 상태 없음",
    },
    "en": {
        "completed": "deleted after SQS_JOB_COMPLETED",
        "skipped": "deleted after the handler's skip (§9)",
        "failed-kept": "SQS_JOB_FAILED, not deleted: visible again at {until}",
        "failed-visible": "SQS_JOB_FAILED, visibility set to 0: visible again at once (the next receive skips the "
        "FAILED row)",
        "failed-redelivered": "SQS_JOB_FAILED, redelivered at once and skipped (`Cannot mark ... as PROCESSING`): "
        "deleted",
        "running": "received {received}, on a worker (its visibility extended every 240 s)",
        "expired": "received {received}, the worker restarted before it finished: visible again after {until}",
        "waiting": "enqueued {enqueued}, not received yet: waiting in the queue",
        "elsewhere-in-flight": "enqueued {enqueued}, not in this worker's log, the queue has some in flight: "
        "another consumer?",
        "elsewhere": "enqueued {enqueued}, never received, the queue is empty: went to another consumer or queue",
        "never-enqueued": "no enqueue line in the API log: never sent",
        "outside-window": "the upload is outside the window of the API log read: enqueued or not, unknown",
        "enqueue-failed": "the API's enqueue failed: no message",
        "counters-none-in-flight": "the log says running but the queue has 0 in flight: deleted",
        "counters-none-visible": "the log says waiting but the queue has 0 visible and 0 in flight: deleted",
        "counters-visible": "the log says running but the queue has 0 in flight and some visible: visible again",
        "counters-in-flight": "the log says waiting but the queue has 0 visible and some in flight: received",
        "no-time": "receive time unknown",
        "no-evidence": "no worker or API log and no queue counters",
    },
}


def _clock(ts: datetime | None) -> str:
    return ts.strftime("%H:%M:%S") if ts is not None else "?"


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def _last_received(timeline: Any) -> datetime | None:
    for kind, ts in reversed(getattr(timeline, "events", ())):
        if kind == EventKind.RECEIVED:
            return ts  # type: ignore[no-any-return]
    return None


def infer(
    video_id: int,
    *,
    worker_log: Any | None,
    api_log: Any | None,
    queue: Any | None,
    now: datetime,
    visibility: int = WORKER_VISIBILITY,
    uploaded_at: datetime | None = None,
) -> MessageInference:
    """The message state of ``video_id`` from the logs' summaries (``LogSummary``) and the queue (``QueueInfo``);
    any of them may be ``None`` (not configured or unreadable). ``uploaded_at`` (the row's time) lets a missing
    enqueue line count only where the API log covers the upload; without it, the API log is taken as complete."""
    timeline = worker_log.timelines.get(video_id) if worker_log is not None else None
    enqueued = api_log.enqueued.get(video_id) if api_log is not None else None
    restarted = worker_log.last_line.get(EventKind.STARTED, 0) if worker_log is not None else 0
    guess = _from_logs(video_id, timeline, api_log, enqueued, queue, now, visibility, uploaded_at, restarted)
    return _capped(guess, queue)


def _from_logs(
    video_id: int,
    timeline: Any,
    api_log: Any,
    enqueued: datetime | None,
    queue: Any,
    now: datetime,
    visibility: int,
    uploaded_at: datetime | None = None,
    restarted: int = 0,
) -> MessageInference:
    if timeline is not None and timeline.received:
        received = _last_received(timeline)
        if timeline.stage == Stage.COMPLETED:
            return MessageInference(MessageState.GONE, "completed", enqueued, received)
        if timeline.stage == Stage.SKIPPED:
            return MessageInference(MessageState.GONE, "skipped", enqueued, received)
        if timeline.stage == Stage.FAILED:
            # Production sets visibility 0 after a failure: the message is back at once, and its next delivery
            # skips the FAILED row (deleting the message).
            if getattr(timeline, "redelivered", False):
                return MessageInference(MessageState.GONE, "failed-redelivered", enqueued, received)
            return MessageInference(MessageState.VISIBLE, "failed-visible", enqueued, received, received)
        if received is None:
            return MessageInference(MessageState.UNKNOWN, "no-time", enqueued)
        judged = getattr(timeline, "judged", None)
        if judged is not None and restarted > judged.last_line:
            # The worker started again after the job's last line: nobody extends the message any more.
            last = judged.ended_at or received
            until = last + timedelta(seconds=visibility)
            state = MessageState.IN_FLIGHT if now < until else MessageState.VISIBLE
            return MessageInference(state, "expired" if state is MessageState.VISIBLE else "running", enqueued,
                                    received, until)  # fmt: skip
        # The job runs: its worker extends the message every 240 s for as long as it does.
        return MessageInference(MessageState.IN_FLIGHT, "running", enqueued, received)
    if api_log is not None and video_id in api_log.enqueue_failures and enqueued is None:
        return MessageInference(MessageState.GONE, "enqueue-failed")
    if enqueued is None and api_log is not None and video_id not in api_log.enqueued:
        if uploaded_at is not None and api_log.covers(uploaded_at) is not True:
            # A log that begins after the upload (rotated) or misses its API instance cannot say "never sent".
            return MessageInference(MessageState.UNKNOWN, "outside-window")
        return MessageInference(MessageState.GONE, "never-enqueued")
    if queue is None or (enqueued is None and api_log is None):
        return MessageInference(MessageState.UNKNOWN, "no-evidence", enqueued)
    if queue.visible > 0:
        return MessageInference(MessageState.VISIBLE, "waiting", enqueued)
    if queue.in_flight > 0:
        return MessageInference(MessageState.IN_FLIGHT, "elsewhere-in-flight", enqueued)
    return MessageInference(MessageState.GONE, "elsewhere", enqueued)


def _capped(guess: MessageInference, queue: Any) -> MessageInference:
    """The counters overrule the logs: no message is in flight (or visible) when the queue says 0 are."""
    if queue is None:
        return guess
    times = (guess.enqueued_at, guess.received_at, guess.visible_again_at)
    if guess.state == MessageState.IN_FLIGHT and queue.in_flight == 0:
        if queue.visible > 0:
            return MessageInference(MessageState.VISIBLE, "counters-visible", *times)
        return MessageInference(MessageState.GONE, "counters-none-in-flight", *times)
    if guess.state == MessageState.VISIBLE and queue.visible == 0:
        if queue.in_flight > 0:
            return MessageInference(MessageState.IN_FLIGHT, "counters-in-flight", *times)
        return MessageInference(MessageState.GONE, "counters-none-visible", *times)
    return guess


def worker_visibility(env: dict[str, str] | None) -> int:
    """How long the worker hides a message after each extension: production's fixed 300 s (its code reads no
    setting for it; ``env`` is accepted for callers that pass the worker's environment)."""
    return WORKER_VISIBILITY
