"""§7 Redis: progress lives in Redis; API and worker must see the same one (encoding itself does not need it)."""

from __future__ import annotations

import pytest

from runbook import commands
from runbook.evidence import Evidence, permission_missing
from runbook.findings import fail, unknown
from runbook.target import Target

pytestmark = [
    pytest.mark.runbook(layer="progress", section="§7"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]

SIDES = {"api": "API", "worker": "워커"}


@pytest.mark.parametrize("side", ["api", "worker"])
def test_redis_reachable(evidence: Evidence, target: Target, side: str) -> None:
    settings = target.api if side == "api" else evidence.need("worker.side")
    _, error = evidence.attempt(f"redis.{side}")
    if error is not None and error.kind == "denied" and error.action:
        # It answered and refused a command (an ACL user without +ping / +info): reachable, not judged.
        permission_missing(f"redis.{side}", error)
    if error is not None:
        r = settings.redis
        fail(
            "redis-unreachable",
            side=SIDES[side],
            redis=r.describe(),
            error=str(error),
            host=r.host,
            port=r.port,
            db=r.db,
        )


def test_same_redis(evidence: Evidence, target: Target) -> None:
    worker = evidence.need("worker.side")
    a, w = target.api.redis, worker.redis
    if a.host is None or w.host is None:
        unknown("not-configured", setting="REDIS_HOST")
    # Passwords say "another server" only between logins as the same user: the run may log in as its own
    # read-only ACL user (docs/permissions), whose password is not the API's.
    same_login = (a.username or "default") == (w.username or "default")
    if (a.host, a.port, a.db) != (w.host, w.port, w.db) or (same_login and a.password != w.password):
        fail(
            "redis-mismatch",
            api_redis=a.describe(),
            worker_redis=w.describe(),
            restart_cmd=commands.restart_worker(target),
        )


def test_progress_endpoint(evidence: Evidence, target: Target, video_id: int | None) -> None:
    """``GET /media/videos/{id}/progress/`` knows the state of a video the database says is READY."""
    ids = (video_id,) if video_id is not None else tuple(evidence.need("videos"))
    rows = evidence.need("videos.rows")
    done = [vid for vid in ids if rows.get(vid) is not None and rows[vid].status == "READY"]
    if not done:
        unknown("not-configured", setting="--video-id (READY 상태 영상)")
    progress = evidence.need("videos.progress")
    for vid in done:
        answer = progress.get(vid)
        if answer is not None and answer.status != "READY":
            worker = evidence.need("worker.side")
            fail(
                "redis-mismatch",
                api_redis=target.api.redis.describe() + f" (video {vid} progress {answer.status})",
                worker_redis=worker.redis.describe(),
                restart_cmd=commands.restart_worker(target),
            )
