"""부록 B 0 and 3: a long job must not starve short ones; visibility must cover the longest encode."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from runbook import commands, production
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


def _started(timeline: object) -> datetime | None:
    """When the judged attempt's job started (``Lock acquired``): one attempt, never across a redelivery."""
    judged = getattr(timeline, "judged", None)
    if judged is not None:
        return judged.started_at  # type: ignore[no-any-return]
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
    """부록 B 3 as production does it: no 6-hour visibility exists; while a job runs the worker extends its
    message by 300 s every 240 s, the first time 240 s after it starts (``runbook.production``). So the queue's
    own VisibilityTimeout must exceed those 240 s, or the message reappears mid-encode and another worker skips
    it on the lock and deletes it. A short VisibilityTimeout is a fault only when the log shows a job outlasting
    it (one attempt's duration) or a redelivery while the first attempt still ran."""
    queue = evidence.need("sqs.api")
    worker_log = evidence.need("log.worker")
    interval = production.VISIBILITY_EXTEND_INTERVAL_SECONDS
    visibility = queue.visibility_timeout
    if visibility > interval:
        return
    longest = 0.0
    overlapped: list[int] = []
    for vid, timeline in worker_log.timelines.items():
        attempts = getattr(timeline, "attempts", ())
        longest = max([longest, *(a.seconds or 0.0 for a in attempts)])
        for earlier, later in itertools.pairwise(attempts):
            if earlier.ended_at and later.received_at and later.received_at < earlier.ended_at:
                overlapped.append(vid)
                break
    if longest > visibility or overlapped:
        seen = f"; video {overlapped[0]} received again mid-encode" if overlapped else ""
        limit = f"; DLQ after {queue.max_receive_count} receives" if queue.max_receive_count else ""
        fail(
            "visibility-too-short",
            visibility=visibility,
            interval=interval,
            longest=int(longest),
            evidence=seen + limit,
            recommended=production.QUEUE_VISIBILITY_TIMEOUT,
            queue_url=queue.url,
        )
