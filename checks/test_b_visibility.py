"""부록 B 0 and 3: a long job must not starve short ones; visibility must cover the longest encode."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import fail
from runbook.logs import EventKind, Stage
from runbook.target import Target

pytestmark = [
    pytest.mark.runbook(layer="visibility", section="부록 B"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]

#: What the worker sets when a job starts (부록 B 3).
WORKER_VISIBILITY = 21600


def _started(timeline: object) -> datetime | None:
    for kind, ts in getattr(timeline, "events", ()):
        if kind == EventKind.LOCK_ACQUIRED and ts is not None:
            return ts
    return None


def _workers(evidence: Evidence, target: Target) -> int | None:
    if target.deployment == "docker" or "docker" in target.deployments:
        info, _ = evidence.attempt("worker.container")
        return 1 if info is not None and info.running else 0
    if "local" in target.deployments:
        procs, _ = evidence.attempt("worker.processes")
        return len(procs) if procs is not None else None
    group, _ = evidence.attempt("asg")
    return group.in_service if group is not None else None


def test_long_job_not_blocking(evidence: Evidence, target: Target) -> None:
    queue = evidence.need("sqs.api")
    worker_log = evidence.need("log.worker")
    if queue.visible < 1 or queue.in_flight < 1 or _workers(evidence, target) != 1:
        return
    now = datetime.now(UTC)
    running = [
        (vid, _started(t))
        for vid, t in worker_log.timelines.items()
        if t.stage in (Stage.PROCESSING, Stage.ENCODED) and _started(t) is not None
    ]
    long_jobs = [
        (vid, (now - ts).total_seconds())
        for vid, ts in running
        if ts and (now - ts).total_seconds() >= target.long_job_after
    ]
    if long_jobs:
        vid, age = max(long_jobs, key=lambda item: item[1])
        fail(
            "long-job-blocking",
            long_id=vid,
            age=int(age),
            visible=queue.visible,
            restart_cmd=commands.restart_worker(target),
        )


def test_visibility_covers_longest_encode(evidence: Evidence, target: Target) -> None:
    worker = evidence.need("worker.side")
    queue = evidence.need("sqs.api")
    worker_log = evidence.need("log.worker")
    raw = worker.env.get("VIDEO_WORKER_VISIBILITY", "")
    visibility = int(raw) if raw.isdigit() else WORKER_VISIBILITY
    longest = 0.0
    for t in worker_log.timelines.values():
        start = _started(t)
        if start is not None and t.last_ts is not None:
            longest = max(longest, (t.last_ts - start).total_seconds())
    if longest > visibility:
        fail("visibility-too-short", visibility=visibility, longest=int(longest), queue_url=queue.url)
