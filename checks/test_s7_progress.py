"""§7 Redis: progress lives in Redis; API and worker must see the same one (encoding itself does not need it)."""

from __future__ import annotations

import pytest

from runbook import commands
from runbook.evidence import Evidence, permission_missing
from runbook.findings import fail, unknown
from runbook.probes import redis_
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
    """One Redis server and database for both: the server's ``run_id`` (or the resolved address and port) and
    ``REDIS_DB``, never the spelling of ``REDIS_HOST`` (``localhost`` and ``127.0.0.1`` are one server)."""
    worker = evidence.need("worker.side")
    a, w = target.api.redis, worker.redis
    if a.host is None or w.host is None:
        unknown("not-configured", setting="REDIS_HOST")
    api, api_error = evidence.attempt("redis.api")
    wrk, worker_error = evidence.attempt("redis.worker")
    same = redis_.same_server(api, wrk) if api is not None and wrk is not None else None
    if same is None:
        error = api_error or worker_error
        if error is not None and error.kind == "denied" and error.action:
            permission_missing("redis.api" if api_error else "redis.worker", error)
        unknown(
            "identity-unreadable",
            what="Redis",
            why=str(error) if error is not None else "INFO server에 run_id 없음 / no run_id in INFO server",
            api=a.describe(),
            worker=w.describe(),
            look=f"{commands.redis_cli(target.api)} INFO server | grep run_id  # 워커 쪽에서도 같은 명령 / "
            "and the same on the worker's host",
        )
    if not same or api.db != wrk.db:
        fail(
            "redis-mismatch",
            api_redis=api.describe(),
            worker_redis=wrk.describe(),
            restart_cmd=commands.restart_worker(target),
        )


def test_progress_endpoint(evidence: Evidence, target: Target, video_id: int | None) -> None:
    """``GET /media/videos/{id}/progress/`` knows the state of a video the database says is READY."""
    ids = (video_id,) if video_id is not None else tuple(evidence.need("videos"))
    rows = evidence.need("videos.rows")
    done = [vid for vid in ids if rows.get(vid) is not None and rows[vid].status == "READY"]
    if not done:
        unknown("not-configured", setting="--video-id (READY 상태 영상)")
    progress, error = evidence.attempt("videos.progress")
    if error is not None and error.kind in ("auth", "denied"):
        # The real API wants a staff user's token for its tenant (runbook.production): without one it cannot be
        # asked, and a 401 is no verdict on Redis.
        unknown("not-configured", setting=f"RUNBOOK_API_TOKEN ({error})")
    if error is not None and error.kind == "not-found":
        unknown("not-configured", setting=f"--api-prefix / --api-tenant ({error})")
    if error is not None:
        unknown("probe-error", dependency=error.dependency, error=str(error))
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
