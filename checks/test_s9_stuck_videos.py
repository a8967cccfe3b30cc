"""§9 and the log appendix: some videos never encode while others do.

One diagnosis per video from joined evidence: DB status, the Redis lock and its TTL, the cancel flag, the
video's phases in the worker log. Evidence is fetched in batches (one pipeline, one query per 1,000 ids), so
diagnosing 10,000 discovered videos costs a fixed number of round trips.
"""

from __future__ import annotations

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import fail, unknown
from runbook.logs import SkipReason, Stage
from runbook.target import Target

pytestmark = [
    pytest.mark.runbook(layer="stuck-video", section="§9"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]


def _diagnose(evidence: Evidence, target: Target, vid: int) -> None:
    rows = evidence.need("videos.rows")
    keys = evidence.need("videos.keys").get(vid)
    worker_log, _ = evidence.attempt("log.worker")
    timeline = worker_log.timelines.get(vid) if worker_log is not None else None
    row = rows.get(vid)
    status = row.status if row is not None else "(행 없음)"
    skipped = timeline.skip_reason if timeline is not None and timeline.stage == Stage.SKIPPED else None
    redis_cli = commands.redis_cli(target.api)
    retry = commands.retry_video(target, vid)
    if keys is not None and keys.cancel_present and (skipped == SkipReason.CANCEL or status == "UPLOADED"):
        fail(
            "cancel-requested",
            video_id=vid,
            key=target.cancel_key.format(id=vid),
            ttl=_ttl(keys.cancel_ttl_seconds),
            retry_cmd=retry,
        )
    if keys is not None and keys.lock_present and (skipped == SkipReason.LOCK or status == "UPLOADED"):
        # Nobody marked it PROCESSING, yet the lock stands: a crashed worker's lock (TTL 4 h).
        fail(
            "stale-lock",
            video_id=vid,
            key=target.lock_key.format(id=vid),
            ttl=_ttl(keys.lock_ttl_seconds),
            status=status,
            redis_cli=redis_cli,
            retry_cmd=retry,
        )
    if skipped == SkipReason.STATUS and status != "READY":
        fail("status-not-uploaded", video_id=vid, status=status, retry_cmd=retry)
    if skipped == SkipReason.LOCK:
        fail(
            "stale-lock",
            video_id=vid,
            key=target.lock_key.format(id=vid),
            ttl="?",
            status=status,
            redis_cli=redis_cli,
            retry_cmd=retry,
        )


def _ttl(seconds: float | None) -> str:
    return "∞" if seconds is None else str(int(seconds))


def test_stuck_video(evidence: Evidence, target: Target, video_id: int | None) -> None:
    """Per ``--video-id``; without ids, every video stuck longer than ``--stuck-after`` (one table check)."""
    ids = (video_id,) if video_id is not None else tuple(evidence.need("videos"))
    if not ids:
        unknown("not-configured", setting="--video-id (또는 DB에서 찾은 멈춘 영상)")
    for vid in ids:
        _diagnose(evidence, target, vid)
