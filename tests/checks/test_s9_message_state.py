"""§9 with each video's SQS message state, per id and as one table over the discovered videos.

Hand-made evidence of the shapes the probes return; the rehearsal (tests/live) compares the inferred state with
moto's own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from runbook.findings import CheckFailed
from runbook.logs import summarize
from runbook.message_state import MessageState, infer
from runbook.model import CheckResult
from runbook.probes.database import VideoRow
from runbook.probes.redis_ import VideoKeys
from runbook.render import video_table
from tests.checks.test_check_branches import ENV, FakeEvidence, _load, queue, target

s9 = _load("test_s9_stuck_videos")
NOW = datetime.now(UTC)
NO_KEYS = VideoKeys(None, None, False, None, None)
LOCK = VideoKeys("crashed-worker", 14000.0, False, None, None)


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def row(vid: int, status: str) -> VideoRow:
    return VideoRow(vid, status, None, NOW - timedelta(hours=1))


def worker_log(*lines: tuple[timedelta, str]) -> Any:
    return summarize([f"{stamp(NOW - ago)} INFO worker: {text}" for ago, text in lines], source="worker.log")


def api_log(*ids: int, ago: timedelta = timedelta(minutes=5)) -> Any:
    return summarize([f"{stamp(NOW - ago)} INFO api: Video job enqueued: video_id={vid}" for vid in ids], source="api")


def received(vid: int) -> str:
    return f"SQS_MESSAGE_RECEIVED | request_id=r{vid} | video_id={vid} | tenant_id=1"


def story() -> dict[str, Any]:
    """§9: 111 and 222 keep a crashed worker's lock (skipped, messages deleted), 333 encodes."""
    m = timedelta(minutes=4)
    log = worker_log(
        (m, received(111)),
        (m, "[HANDLER] Lock acquisition failed, skipping"),
        (m, received(222)),
        (m, "[HANDLER] Lock acquisition failed, skipping"),
        (m, received(333)),
        (m, "[HANDLER] Lock acquired, marking as PROCESSING video_id=333"),
        (m, "[HANDLER] process_fn completed video_id=333 hls_path=hls/333/index.m3u8"),
        (m, "SQS_JOB_COMPLETED | request_id=r333 | video_id=333"),
    )
    return {
        "videos": (111, 222, 333),
        "videos.rows": {111: row(111, "UPLOADED"), 222: row(222, "UPLOADED"), 333: row(333, "READY")},
        "videos.keys": {111: LOCK, 222: LOCK, 333: NO_KEYS},
        "log.worker": log,
        "log.api": api_log(111, 222, 333),
        "sqs.api": queue(0, 0),
    }


def run(values: dict[str, Any], video_id: int | None, lang: str = "ko") -> tuple[str | None, dict[str, Any], Any]:
    props: list[tuple[str, object]] = []
    request = SimpleNamespace(node=SimpleNamespace(user_properties=props))
    cause, facts = None, {}
    try:
        s9.test_stuck_video(FakeEvidence(values), target(lang=lang), video_id, request)
    except CheckFailed as exc:
        cause, facts = exc.cause, exc.facts
    tables = [json.loads(str(v)) for k, v in props if k == s9.ROWS_PROPERTY]
    assert len(tables) == 1
    return cause, facts, tables[0]


def test_discovered_story_fails_once_with_a_table() -> None:
    cause, facts, table = run(story(), None)
    assert cause == "stale-lock" and facts["video_id"] == 111
    assert "stale-lock 2" in str(facts["more"]) and "영상 3개" in str(facts["more"])
    assert "DEL job:encode:222:lock" in str(facts["more_fix"])  # the next command, with the real id
    assert table["total"] == 3
    by_id = {r["video_id"]: r for r in table["rows"]}
    assert [r["video_id"] for r in table["rows"]] == [111, 222, 333]  # failing rows first
    assert by_id[111]["message_state"] == "gone" and "skip" in by_id[111]["message"]
    assert by_id[111]["lock"] == "14000" and by_id[111]["cause"] == "stale-lock"
    assert "추정" in by_id[111]["message"]  # labelled as inferred
    assert by_id[333]["message_state"] == "gone" and by_id[333]["cause"] == "" and by_id[333]["command"] == ""
    assert by_id[111]["enqueue"] != "✗"
    assert "DEL job:encode:111:lock" in by_id[111]["command"]


def test_per_id_cases_keep_one_case_each() -> None:
    values = story()
    cause, facts, table = run(values, 222, lang="en")
    assert cause == "stale-lock" and facts["video_id"] == 222
    assert "SQS message gone (inferred)" in str(facts["evidence"]) and "lock 14000" in str(facts["evidence"])
    assert table["total"] == 1
    cause, _, table = run(values, 333)
    assert cause is None and table["rows"][0]["message_state"] == "gone"


def test_long_job_in_flight_and_short_one_waiting_pass() -> None:
    log = worker_log(
        (timedelta(minutes=20), received(17)),
        (timedelta(minutes=20), "[HANDLER] Lock acquired, marking as PROCESSING video_id=17"),
    )
    values = {
        "videos": (17, 1111),
        "videos.rows": {17: row(17, "PROCESSING"), 1111: row(1111, "UPLOADED")},
        "videos.keys": {17: LOCK, 1111: NO_KEYS},
        "log.worker": log,
        "log.api": api_log(17, 1111),
        "sqs.api": queue(visible=1, in_flight=1),
    }
    cause, _, table = run(values, None)
    assert cause is None
    states = {r["video_id"]: r["message_state"] for r in table["rows"]}
    assert states == {17: "in-flight", 1111: "visible"}


def test_processing_with_no_worker_on_it_is_status_not_uploaded() -> None:
    """Received 7 h ago, marked PROCESSING, then the worker restarted: nobody extends its message. Gone from the
    queue (deleted, nothing in flight or visible), no worker will ever finish it; the message state turns a
    silent PROCESSING into a diagnosis."""
    log = worker_log(
        (timedelta(hours=7), received(18)),
        (timedelta(hours=7), "[HANDLER] Lock acquired, marking as PROCESSING video_id=18"),
        (timedelta(hours=6), "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20s"),
    )
    values = {
        "videos": (18,),
        "videos.rows": {18: row(18, "PROCESSING")},
        "videos.keys": {18: NO_KEYS},
        "log.worker": log,
        "log.api": api_log(18, ago=timedelta(hours=7)),
        "sqs.api": queue(visible=0, in_flight=0),
    }
    cause, facts, table = run(values, 18)
    assert cause == "status-not-uploaded" and table["rows"][0]["message_state"] == "gone"
    assert "/api/v1/media/videos/18/retry/" in str(facts["retry_cmd"])
    # Visible again, the next receive re-encodes it (the real mark_processing accepts a PROCESSING row) ...
    values["sqs.api"] = queue(visible=1, in_flight=0)
    assert run(values, 18)[0] is None
    # ... unless the crashed worker's lock stands: that delivery is skipped and deleted (appendix B 0).
    values["videos.keys"] = {18: LOCK}
    values["log.worker"] = worker_log(
        *[
            (timedelta(hours=7), line)
            for line in (received(18), "[HANDLER] Lock acquired, marking as PROCESSING video_id=18")
        ],
        (timedelta(hours=6), "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20s"),
        (timedelta(hours=6), received(18)),
        (timedelta(hours=6), "[HANDLER] Lock acquisition failed, skipping video_id=18"),
    )
    values["sqs.api"] = queue(visible=0, in_flight=0)
    assert run(values, 18)[0] == "stale-lock"
    # The same video with a worker still on it (no restart since) is being encoded: not stuck.
    values["videos.keys"] = {18: NO_KEYS}
    values["log.worker"] = worker_log(
        (timedelta(hours=1), received(18)),
        (timedelta(hours=1), "[HANDLER] Lock acquired, marking as PROCESSING video_id=18"),
    )
    values["sqs.api"] = queue(visible=0, in_flight=1)
    assert run(values, 18)[0] is None


def test_a_skip_without_the_repository_s_status_line_is_a_row_missing_in_the_worker_s_database() -> None:
    """The real worker logs ``Cannot mark video N as PROCESSING: status=S`` for a row it found: the skip alone
    means its database has no video N, while the API's has it UPLOADED (fault 18's real shape)."""
    skip = "[HANDLER] Cannot mark video 31 as PROCESSING, skipping"
    values = {
        "videos": (31,),
        "videos.rows": {31: row(31, "UPLOADED")},
        "videos.keys": {31: NO_KEYS},
        "log.worker": worker_log((timedelta(minutes=2), received(31)), (timedelta(minutes=2), skip)),
        "log.api": api_log(31),
        "sqs.api": queue(0, 0),
    }
    cause, facts, _ = run(values, 31)
    assert cause == "db-mismatch" and "without `status=`" in str(facts["worker_db"])
    refused = "Cannot mark video 31 as PROCESSING: status=FAILED"
    values["log.worker"] = worker_log(*[(timedelta(minutes=2), line) for line in (received(31), refused, skip)])
    values["videos.rows"] = {31: row(31, "FAILED")}
    cause, facts, _ = run(values, 31, lang="en")
    assert cause == "status-not-uploaded" and "status=FAILED" in str(facts["why_en"])


def test_enqueued_never_received_queue_empty_went_elsewhere() -> None:
    # The worker log runs from two hours ago to a minute ago: the enqueue (5 min ago) is inside it.
    covering = worker_log(
        (timedelta(hours=2), "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20"),
        (timedelta(minutes=1), received(56)),
    )
    values = {
        "videos": (55,),
        "videos.rows": {55: row(55, "UPLOADED")},
        "videos.keys": {55: NO_KEYS},
        "log.worker": covering,
        "log.api": api_log(55),
        "sqs.api": queue(0, 0),
    }
    cause, facts, table = run(values, 55)
    assert cause == "no-message-received" and table["rows"][0]["message_state"] == "gone"
    assert "다른 소비자" in str(facts["evidence"])
    # Still waiting in the queue: not a §9 fault (a long job may hold the worker: appendix B 0).
    values["sqs.api"] = queue(1, 0)
    assert run(values, 55)[0] is None
    # A worker log that covers nothing (empty, or begun after the enqueue) cannot show the receipt is missing.
    values["sqs.api"] = queue(0, 0)
    values["log.worker"] = worker_log()
    assert run(values, 55)[0] is None
    values["log.worker"] = worker_log((timedelta(minutes=2), received(56)), (timedelta(minutes=1), received(57)))
    assert run(values, 55)[0] is None


def test_missing_logs_leave_the_state_unknown_not_the_check() -> None:
    values = {
        "videos": (111,),
        "videos.rows": {111: row(111, "UPLOADED")},
        "videos.keys": {111: LOCK},
        "sqs.api": queue(0, 0),
    }
    cause, _, table = run(values, 111)  # log.worker, log.api, worker.side not configured
    assert cause == "stale-lock" and table["rows"][0]["message_state"] == "unknown"


@pytest.mark.parametrize(
    ("in_flight", "visible", "expected"),
    [(1, 0, MessageState.IN_FLIGHT), (0, 0, MessageState.GONE), (0, 2, MessageState.VISIBLE)],
)
def test_counters_cap_the_log(in_flight: int, visible: int, expected: MessageState) -> None:
    log = worker_log((timedelta(minutes=1), received(9)))
    got = infer(9, worker_log=log, api_log=None, queue=queue(visible, in_flight), now=NOW)
    assert got.state == expected


def test_report_table_rows_capped_with_total() -> None:
    values = story()
    values["videos"] = tuple(range(1, 251))
    values["videos.rows"] = {vid: row(vid, "UPLOADED") for vid in values["videos"]}
    values["videos.keys"] = {vid: LOCK for vid in values["videos"]}
    cause, _, table = run(values, None)
    assert cause == "stale-lock" and table["total"] == 250 and len(table["rows"]) == s9.MAX_ROWS
    result = CheckResult("n", "stuck-video", "§9", "failed", "stale-lock", evidence={"table": table})
    html = video_table(result.evidence["table"], "ko")  # type: ignore[arg-type]
    assert html.count("<tr data-video=") == 200 and "200/250" in html
    assert result.as_json()["table"] == table
    assert ENV["AWS_REGION"]
