"""Several log sources per side (issue 16, item 4): ``--api-log`` repeated, one source per value.

Production runs two API instances behind a load balancer; each enqueue line is in the log of the instance that
served the upload. Given both logs, the suite reads both, merged by time; an absence counts only where every
instance's log covers the upload.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.production.handbuilt import HandBuilt, encode, enqueued, received, started

pytestmark = pytest.mark.timeout(300)

M = timedelta(minutes=1)


def _two_instances(prod: HandBuilt, *, b_rotated: bool = False) -> tuple[str, str, str]:
    """Video 700 uploaded 20 min ago through instance B, waiting in the queue; 701 went through A and encoded."""
    prod.video(700, "UPLOADED", age=20 * M)
    prod.video(701, "READY", age=30 * M, hls_path="tenants/1/video/hls/701/master.m3u8")
    worker = prod.worker_log("worker.log", [(120 * M, started()), (30 * M, [received(701), *encode(701)])])
    api_a = prod.api_log("api-a.log", [(110 * M, enqueued(690)), (30 * M, enqueued(701)), (1 * M, enqueued(702))])
    b_events = [(10 * M, enqueued(703))] if b_rotated else [(100 * M, enqueued(691)), (20 * M, enqueued(700))]
    api_b = prod.api_log("api,b.log", b_events)  # a comma in the path: still one source
    return str(worker), str(api_a), str(api_b)


def test_the_enqueue_in_the_second_instance_log_is_found(prod: HandBuilt) -> None:
    worker, api_a, api_b = _two_instances(prod)
    run = prod.run(worker_log=worker, api_logs=[api_a, api_b], video_ids=[700])
    assert run.check("test_enqueue_logged[live-700]")["outcome"] == "passed", run.output[-4000:]
    windows = {w["source"] for w in run.verdict["log_windows"] if w["side"] == "api"}
    assert windows == {api_a, api_b}, run.verdict["log_windows"]


def test_an_instance_log_rotated_after_the_upload_leaves_the_absence_unknown(prod: HandBuilt) -> None:
    """Neither log has 700's enqueue line, but instance B's log begins ten minutes ago, after the upload: B may
    have logged it before the rotation. Unknown, naming both logs, never enqueue-not-logged."""
    worker, api_a, api_b = _two_instances(prod, b_rotated=True)
    run = prod.run(worker_log=worker, api_logs=[api_a, api_b], video_ids=[700])
    check = run.check("test_enqueue_logged[live-700]")
    assert check["outcome"] == "skipped", run.output[-4000:]
    assert "api,b.log" in check["message"] and "api-a.log" in check["message"], check
    assert "enqueue-not-logged" not in run.causes()
