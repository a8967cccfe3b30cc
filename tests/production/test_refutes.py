"""Evidence refutes (issue 16, item 3), on hand-built productions.

A cause whose premise another fact contradicts is not a root cause: a worker that received a video's message
proves the API enqueued it, whatever one API instance's log says. And a log that begins after an event cannot
prove that the event's line is missing: that absence is ``unknown``, with what to look at.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.production.handbuilt import HandBuilt, encode, enqueued, lock_skip, received, started

pytestmark = pytest.mark.timeout(300)

M = timedelta(minutes=1)


def test_s9_story_with_the_enqueues_in_another_api_instance_names_the_stale_locks(prod: HandBuilt) -> None:
    """§9's night on two API instances: 111 and 222 were enqueued by instance B (its log is not given), the worker
    received both and skipped them on a crashed worker's lock. The receipts prove the enqueues: the root cause is
    the stale lock, not "never enqueued"."""
    for vid in (111, 222):
        prod.video(vid, "UPLOADED", age=40 * M)
        prod.lock(vid, ttl=3 * 3600, value="crashed-worker")
    prod.video(333, "READY", age=40 * M, hls_path="tenants/1/video/hls/333/master.m3u8")
    worker = prod.worker_log(
        "worker.log",
        [
            (120 * M, started()),
            (39 * M, [received(111), *lock_skip(111)]),
            (39 * M, [received(222), *lock_skip(222)]),
            (39 * M, [received(333), *encode(333)]),
        ],
    )
    # Instance A: up for two hours, it enqueued other videos (333 among them), never 111 or 222.
    api_a = prod.api_log(
        "api-a.log", [(120 * M, enqueued(90)), (60 * M, enqueued(91)), (40 * M, enqueued(333)), (5 * M, enqueued(92))]
    )
    run = prod.run(worker_log=worker, api_logs=[api_a], video_ids=[111, 222, 333])
    assert run.root == "stuck-video/stale-lock", run.output[-4000:]
    for vid in (111, 222):
        assert run.check(f"test_enqueue_logged[live-{vid}]")["outcome"] == "passed", run.output[-3000:]
    assert "enqueue-not-logged" not in run.causes()


def test_uploaded_for_hours_with_a_rotated_api_log_is_not_called_never_enqueued(prod: HandBuilt) -> None:
    """Video 500 has been UPLOADED for five hours; the API's log was rotated two hours ago and the worker's too.
    Neither log can say whether 500 was enqueued: §6 is unknown and says which logs to read, nothing calls 500
    "never enqueued"."""
    prod.video(500, "UPLOADED", age=5 * 60 * M)
    worker = prod.worker_log("worker.log", [(120 * M, started()), (30 * M, [received(501), *encode(501)])])
    prod.video(501, "READY", age=31 * M, hls_path="tenants/1/video/hls/501/master.m3u8")
    api = prod.api_log("api.log", [(119 * M, enqueued(498)), (31 * M, enqueued(501))])
    run = prod.run(worker_log=worker, api_logs=[api], video_ids=[500])
    enqueue = run.check("test_enqueue_logged[live-500]")
    assert enqueue["outcome"] == "skipped", run.output[-4000:]
    assert "api.log" in enqueue["message"] and "500" in enqueue["message"], enqueue
    assert "enqueue-not-logged" not in run.causes()
    stuck = run.check("test_stuck_video[live-500]")
    assert stuck["outcome"] != "failed" or "never" not in stuck["message"], stuck
    assert "보내지지 않음" not in str(run.verdict) and "never sent" not in str(run.verdict)


def test_upload_inside_the_api_log_window_without_its_line_is_still_enqueue_not_logged(prod: HandBuilt) -> None:
    """CONTRACT row 11 on the same production: the API log covers the upload (it was written before and after)
    and no worker ever received 600: the missing line is evidence, and §6 names it."""
    prod.video(600, "UPLOADED", age=50 * M)
    worker = prod.worker_log("worker.log", [(120 * M, started()), (30 * M, [received(601), *encode(601)])])
    prod.video(601, "READY", age=31 * M, hls_path="tenants/1/video/hls/601/master.m3u8")
    api = prod.api_log("api.log", [(119 * M, enqueued(598)), (31 * M, enqueued(601)), (2 * M, enqueued(602))])
    run = prod.run(worker_log=worker, api_logs=[api], video_ids=[600])
    assert run.check("test_enqueue_logged[live-600]")["outcome"] == "failed", run.output[-4000:]
    assert run.root == "api-enqueue/enqueue-not-logged", run.output[-4000:]
