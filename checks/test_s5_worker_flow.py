"""§5 워커 로그로 단계별 확인: where did each video stop between SQS_MESSAGE_RECEIVED and SQS_JOB_COMPLETED?"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import fail, unknown
from runbook.target import Target
from runbook.verdict import refutation

pytestmark = [
    pytest.mark.runbook(layer="processing", section="§5"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]


def _judge(evidence: Evidence, target: Target, video_id: int) -> None:
    worker_log = evidence.need("log.worker")
    timeline = worker_log.timelines.get(video_id)
    facts = {
        "video_id": video_id,
        "api_container": target.api_container,
        "logs_cmd": commands.worker_logs(target),
        "ffmpeg_cmd": commands.ffmpeg_check(target),
        "retry_cmd": commands.retry_video(target, video_id),
    }
    if timeline is None or not timeline.received:
        api_log, _ = evidence.attempt("log.api")
        if api_log is not None and video_id in api_log.enqueued:
            enqueued_at = api_log.enqueued[video_id]
            # The receipt would follow the enqueue: the worker log must cover that time for its absence to count.
            misses = enqueued_at is None or worker_log.covers(enqueued_at) is not True
            judged = refutation("no-message-received", ["worker-log-misses-enqueue"] if misses else [])
            if judged is not None:
                unknown(
                    "log-window",
                    video_id=video_id,
                    what="API enqueue",
                    what_en="API enqueue",
                    when=enqueued_at.strftime("%Y-%m-%d %H:%M:%SZ") if enqueued_at else "?",
                    window="; ".join(c.describe() for c in worker_log.coverage) or "?",
                    line=f"SQS_MESSAGE_RECEIVED | ... | video_id={video_id}",
                    look=commands.logs_elsewhere(
                        target.log_specs("worker"), "--worker-log", video_id, enqueued_at or datetime.now(UTC)
                    ),
                )
            fail("no-message-received", **facts)
        return  # never enqueued: §6 says so
    if timeline.stage == "failed":
        error = timeline.error or ""
        if "not_found" in error:
            why = why_en = ""
            if timeline.row_exists is False:
                why = " — 행 삭제 또는 다른 DB (row exists=False)"
                why_en = ": the row was deleted, or the worker reads another database (row exists=False)"
            elif timeline.row_exists is True:
                why = " — 행은 있음: 연결/락 문제 (row exists=True)"
                why_en = ": the row exists: a connection or lock problem (row exists=True)"
            if timeline.redelivered:
                # The real worker sets visibility 0 after a failure: the message came back and was skipped.
                why += "; 재전달된 메시지는 `Cannot mark video ... as PROCESSING`으로 skip됨"
                why_en += "; the redelivered message was skipped (`Cannot mark video ... as PROCESSING`)"
            fail("complete-not-found", row_exists=timeline.row_exists, why=why, why_en=why_en, **facts)
        if error:
            fail("processing-exception", error=error, **facts)
        fail("job-failed", error="SQS_JOB_FAILED", **facts)


def test_video_flow(evidence: Evidence, target: Target, video_id: int | None) -> None:
    """One case per ``--video-id`` (or every video the logs mention, when none is given)."""
    if video_id is not None:
        _judge(evidence, target, video_id)
        return
    worker_log = evidence.need("log.worker")
    failed = {vid for vid, timeline in worker_log.timelines.items() if timeline.stage == "failed"}
    for vid in sorted(set(evidence.need("videos")) | failed):
        _judge(evidence, target, vid)
