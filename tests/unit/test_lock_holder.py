"""A lock is stale only when its holder is gone (issue 16, item 2): ``runbook.lock_holder`` on real log lines.

The production lines are those of ``tests/corpus`` (the real worker's), with docker's UTC stamp; the queue is
its counters. Each case says why a holder is alive, gone or cannot be told.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from runbook.lock_holder import Holder, judge, lock_set_at
from runbook.logs import Stage, summarize
from tests.production.handbuilt import lock_skip, received, started, worker_line

NOW = datetime.now(UTC)
M = timedelta(minutes=1)
TTL = 14400.0


def _log(*events: tuple[timedelta, str | list[str]]) -> object:
    lines = []
    for ago, messages in events:
        for i, message in enumerate([messages] if isinstance(messages, str) else messages):
            lines.append(worker_line(NOW - ago + timedelta(milliseconds=10 * i), message))
    return summarize(lines, source="worker.log")


def _encoding(vid: int) -> list[str]:
    return [
        f"[SQS_MAIN] Calling handler.handle() video_id={vid}",
        f"[HANDLER] Starting video processing video_id={vid} job_id=encode:{vid}",
        f"[HANDLER] Lock acquired, marking as PROCESSING video_id={vid}",
    ]


def _progress(vid: int) -> str:
    return f"[PROCESSOR] Transcode progress video_id={vid} current=120.4/600 step_percent=20% overall=57%"


def _queue(in_flight: int) -> object:
    return SimpleNamespace(in_flight=in_flight, visible=0)


def _judge(log: object, *, status: str = "PROCESSING", set_ago: timedelta, in_flight: int | None, **kw: object):  # type: ignore[no-untyped-def]
    queue = None if in_flight is None else _queue(in_flight)
    ttl = TTL - set_ago.total_seconds()
    return judge(9, status=status, lock_ttl_seconds=ttl, worker_log=log, queue=queue, now=NOW, **kw)  # type: ignore[arg-type]


def test_lock_set_at_counts_back_from_the_ttl() -> None:
    assert lock_set_at(TTL - 600, NOW, TTL) == NOW - timedelta(seconds=600)
    assert lock_set_at(None, NOW, TTL) is None  # a key without expiry says nothing about its birth


def test_an_open_attempt_writing_lately_is_a_live_holder_whatever_the_duplicate() -> None:
    log = _log((60 * M, started()), (5 * M, [received(9), *_encoding(9)]), (2 * M, [received(9), *lock_skip(9)]),
               (1 * M, _progress(9)))  # fmt: skip
    assert log.timelines[9].stage is Stage.SKIPPED  # the duplicate is the latest attempt
    assert _judge(log, set_ago=5 * M, in_flight=1).state is Holder.ALIVE


def test_a_holder_killed_mid_encode_is_gone_when_nothing_is_in_flight() -> None:
    log = _log((60 * M, started()), (50 * M, [received(9), *_encoding(9)]), (40 * M, started()),
               (2 * M, [received(9), *lock_skip(9)]))  # fmt: skip
    found = _judge(log, set_ago=50 * M, in_flight=0)
    assert (found.state, found.reason) == (Holder.GONE, "nothing-in-flight")


def test_a_log_reaching_the_lock_with_every_in_flight_message_another_live_job_is_gone() -> None:
    log = _log((60 * M, started()), (50 * M, [received(9), *_encoding(9)]), (40 * M, started()),
               (3 * M, [received(8), *_encoding(8)]), (2 * M, [received(9), *lock_skip(9)]), (1 * M, _progress(8)))  # fmt: skip
    found = _judge(log, set_ago=50 * M, in_flight=1)
    assert (found.state, found.reason) == (Holder.GONE, "log-shows-no-holder")
    assert _judge(log, set_ago=50 * M, in_flight=2).state is Holder.UNKNOWN  # one in flight nobody explains


def test_a_log_that_begins_after_the_lock_cannot_tell() -> None:
    log = _log((10 * M, started()), (1 * M, [received(9), *lock_skip(9)]))
    found = _judge(log, set_ago=20 * M, in_flight=1)
    assert (found.state, found.reason) == (Holder.UNKNOWN, "log-misses-lock")
    assert _judge(log, set_ago=20 * M, in_flight=None).state is Holder.UNKNOWN  # nor without the queue
    assert _judge(log, set_ago=20 * M, in_flight=1, progress_moved=True).state is Holder.ALIVE


def test_an_uploaded_row_under_a_lock_has_no_holder() -> None:
    """§9's story: a holder marks the row PROCESSING right after taking the lock."""
    log = _log((10 * M, started()), (1 * M, [received(9), *lock_skip(9)]))
    assert _judge(log, status="UPLOADED", set_ago=60 * M, in_flight=1).state is Holder.GONE


def test_a_quiet_open_attempt_is_not_proof_of_life() -> None:
    log = _log((120 * M, started()), (100 * M, [received(9), *_encoding(9)]), (2 * M, [received(9), *lock_skip(9)]))
    assert _judge(log, set_ago=100 * M, in_flight=1).state is not Holder.ALIVE


# -- attempts (item 1): durations come from one attempt --------------------------------------------------------


def test_a_job_whose_receive_line_was_lost_is_a_new_attempt_not_the_old_one_extended() -> None:
    """Video 9 was encoded three days ago; today's retry lost its ``SQS_MESSAGE_RECEIVED`` line. Its first lines
    open a new attempt: the old one keeps its own 100 s, the judged one started a minute ago."""
    day = timedelta(days=1)
    done = [
        "[HANDLER] process_fn completed video_id=9 hls_path=tenants/1/video/hls/9/master.m3u8 duration=42",
        "SQS_JOB_COMPLETED | request_id=r9 | video_id=9 | tenant_code=t | processing_duration=100.0 | "
        "queue_wait_sec=0.4",
    ]
    log = _log((4 * day, started()), (3 * day, [received(9), *_encoding(9)]), (3 * day - 100 * timedelta(seconds=1), done),
               (1 * M, _encoding(9)))  # fmt: skip
    timeline = log.timelines[9]
    assert [a.stage for a in timeline.attempts] == [Stage.COMPLETED, Stage.PROCESSING]
    assert 99 < (timeline.attempts[0].seconds or 0) < 101
    assert timeline.judged is not None and timeline.judged.started_at is not None
    assert NOW - timeline.judged.started_at < 2 * M
