"""Recent first (issue 16, item 5): a ``cloudwatch:`` source reads the last hours, and the report says which.

The worker logs to a CloudWatch group that holds two weeks of a busy day's lines. The suite reads the window
``--log-since`` (default 6 h) back from now, newest first within its page bound; what it read is in the
verdict (``log_windows``) and in the terminal, and lines older than the window are not read.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.production.handbuilt import HandBuilt, cloudwatch_group, encode, enqueued, lock_skip, received, started

pytestmark = pytest.mark.timeout(300)

M = timedelta(minutes=1)
GROUP = "/academy/video-worker"


def _busy_group(prod: HandBuilt) -> str:
    """Two weeks of encodes (videos 10000+, one every five minutes), video 950 done three days ago, and §9's
    night in the last hour: 111 and 222 skipped on a crashed worker's lock, 333 encoded."""
    events = []
    for i in range(0, 13 * 24 * 12):  # every five minutes for 13 days
        at = prod.ago(13 * 24 * 60 * M - 5 * M * i)
        vid = 10_000 + i
        events += [(at + timedelta(milliseconds=10 * k), m) for k, m in enumerate([received(vid), *encode(vid)])]
    events += [(prod.ago(72 * 60 * M), received(950))]
    events += [(prod.ago(72 * 60 * M - M), m) for m in encode(950)]
    events += [(prod.ago(200 * M), started())]
    for k, vid in enumerate((111, 222)):
        events += [(prod.ago(40 * M) + timedelta(seconds=k), m) for m in [received(vid), *lock_skip(vid)]]
    events += [(prod.ago(39 * M), m) for m in [received(333), *encode(333)]]
    return cloudwatch_group(prod, GROUP, events)


def _story_state(prod: HandBuilt) -> str:
    for vid in (111, 222):
        prod.video(vid, "UPLOADED", age=41 * M)
        prod.lock(vid, ttl=3 * 3600, value="crashed-worker")
    prod.video(333, "READY", age=41 * M, hls_path="tenants/1/video/hls/333/master.m3u8")
    api = prod.api_log("api.log", [(300 * M, enqueued(9)), (41 * M, [enqueued(111), enqueued(222), enqueued(333)])])
    return str(api)


def test_a_busy_cloudwatch_group_is_read_from_now_back_and_the_report_says_the_window(prod: HandBuilt) -> None:
    api = _story_state(prod)
    spec = _busy_group(prod)
    run = prod.run(worker_log=spec, api_logs=[api], video_ids=[111, 222, 333])
    assert run.root == "stuck-video/stale-lock", run.output[-4000:]
    (window,) = [w for w in run.verdict["log_windows"] if w["side"] == "worker"]
    assert window["source"] == spec and "asked from" in window["detail"] and not window["truncated"], window
    since = datetime.fromisoformat(window["since"])
    assert since == datetime.fromisoformat(window["start"]), window  # read back to where it was asked
    assert prod.ago(6 * 60 * M + 2 * M) < since < prod.ago(6 * 60 * M - 2 * M), window  # --log-since 6h
    assert datetime.fromisoformat(window["first"]) >= since, window  # nothing older was read
    assert spec in run.output and "asked from" in run.output  # the terminal says it too
    assert {111, 222, 333} <= {row["video_id"] for row in run.verdict["timelines"]}


def test_a_longer_window_on_request_reaches_back_further(prod: HandBuilt) -> None:
    api = _story_state(prod)
    spec = _busy_group(prod)
    run = prod.run(worker_log=spec, api_logs=[api], video_ids=[111, 222, 333], extra=["--log-since=80h"])
    assert run.root == "stuck-video/stale-lock", run.output[-4000:]
    (window,) = [w for w in run.verdict["log_windows"] if w["side"] == "worker"]
    assert datetime.fromisoformat(window["first"]) < prod.ago(79 * 60 * M), window  # 950's encode, 72 h ago, is in
