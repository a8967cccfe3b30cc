"""§6 API에서 enqueue 성공 여부: ``Video job enqueued: video_id=N`` in the API log, no 503 / enqueue failure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import Unknown, fail, unknown
from runbook.target import Target
from runbook.verdict import refutation

pytestmark = [
    pytest.mark.runbook(layer="api-enqueue", section="§6"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]


def _optional(evidence: Evidence, key: str) -> Any:
    """Evidence that can refute a finding but is not needed to make one (``None`` if missing or unreadable)."""
    try:
        value, _ = evidence.attempt(key)
    except Unknown:
        return None
    return value


def test_no_enqueue_failures(evidence: Evidence, target: Target) -> None:
    api_log = evidence.need("log.api")
    failures = {vid: err for vid, err in api_log.enqueue_failures.items() if vid not in api_log.enqueued}
    if failures:
        vid, err = next(iter(sorted(failures.items())))
        fail("enqueue-failed", count=len(failures), video_id=vid, error=err, api_container=target.api_container)


def _clock(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts is not None else "?"


def test_enqueue_logged(evidence: Evidence, target: Target, video_id: int | None) -> None:
    """No enqueue line for a video that is not READY, where the API log covers its upload and no worker received
    it: never enqueued. A receipt refutes that; an upload outside the log's window leaves it unknown."""
    api_log = evidence.need("log.api")
    worker_log = _optional(evidence, "log.worker")
    ids = (video_id,) if video_id is not None else tuple(evidence.need("videos"))
    rows = evidence.attempt("videos.rows")[0] or {}
    undecided: list[tuple[int, datetime | None]] = []
    for vid in ids:
        row = rows.get(vid)
        if vid in api_log.enqueued or vid in api_log.enqueue_failures:
            continue
        if row is not None and row.status in ("READY",):
            continue  # done long ago; its enqueue line may have rotated out of the log
        facts = []
        timeline = worker_log.timelines.get(vid) if worker_log is not None else None
        if timeline is not None and timeline.received:
            facts.append("worker-received")
        uploaded = row.updated_at if row is not None else None
        if uploaded is None or api_log.covers(uploaded) is not True:
            facts.append("api-log-misses-upload")
        judged = refutation("enqueue-not-logged", facts)
        if judged is None:
            fail("enqueue-not-logged", video_id=vid, retry_cmd=commands.retry_video(target, vid))
        if judged[0] == "unknown":
            undecided.append((vid, uploaded))
    if undecided:
        vid, uploaded = undecided[0]
        window = "; ".join(c.describe() for c in api_log.coverage) or "?"
        more = f" (+{len(undecided) - 1})" if len(undecided) > 1 else ""
        unknown(
            "log-window",
            video_id=f"{vid}{more}",
            what="업로드 완료",
            what_en="upload",
            when=_clock(uploaded),
            window=window,
            line=f"Video job enqueued: video_id={vid}",
            look=commands.logs_elsewhere(target.log_specs("api"), "--api-log", vid, uploaded or datetime.now(UTC)),
        )
