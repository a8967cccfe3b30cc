"""Each log source reports the time window it covers; a line's absence counts only inside it (issue 16)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runbook.logs import open_lines, summarize, timezone_named
from runbook.logs.coverage import CLOCK_SLACK, Coverage, covers, first_stamp, last_stamp
from runbook.logs.multi import summarize_sources

NOW = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)


def line(at: datetime, text: str) -> str:
    return f"{at.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z INFO worker: {text}"


def write(path: Path, *lines: str, mtime: datetime | None = None) -> str:
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return str(path)


def test_block_stamps_skip_unstamped_lines() -> None:
    block = b"Traceback (most recent call last):\n" + line(NOW, "a").encode() + b"\n"
    block += line(NOW + timedelta(seconds=5), "b").encode() + b"\nNoneType: None\n  continuation\n"
    assert first_stamp(block) == NOW
    assert last_stamp(block) == NOW + timedelta(seconds=5)
    assert first_stamp(b"no stamps\n") is None and last_stamp(b"") is None


def test_a_file_covers_from_its_first_line_to_its_last_write(tmp_path: Path) -> None:
    """A file rotated two hours ago starts then; it is complete up to its last write, not just its last line."""
    path = write(
        tmp_path / "api.log",
        "API starting (no stamp)",
        line(NOW - timedelta(hours=2), "Video job enqueued: video_id=1"),
        line(NOW - timedelta(minutes=30), "Video job enqueued: video_id=2"),
        mtime=NOW - timedelta(minutes=1),
    )
    with open_lines(path) as lines:
        summary = summarize(lines, source="api")
    (cov,) = summary.coverage
    assert cov.first == NOW - timedelta(hours=2) and cov.last == NOW - timedelta(minutes=30)
    assert cov.start == cov.first and cov.end == NOW - timedelta(minutes=1) and not cov.truncated
    assert summary.covers(NOW - timedelta(hours=5)) is False  # before the rotation: cannot say
    assert summary.covers(NOW - timedelta(hours=1)) is True
    assert summary.covers(NOW - timedelta(seconds=30)) is False  # after the last write (a stale file)
    assert summary.covers(NOW - timedelta(hours=2) - CLOCK_SLACK / 2) is True  # clock slack


def test_a_byte_bound_truncates_the_newer_end(tmp_path: Path) -> None:
    lines = [line(NOW - timedelta(minutes=60 - i), f"Video job enqueued: video_id={i}") for i in range(60)]
    path = write(tmp_path / "api.log", *lines, mtime=NOW)
    with open_lines(path, max_bytes=len(lines[0]) * 10) as source:
        summary = summarize(source, source="api")
    (cov,) = summary.coverage
    assert cov.truncated and cov.end is not None and cov.end < NOW - timedelta(minutes=45)
    assert summary.covers(NOW - timedelta(minutes=5)) is False
    assert "truncated" in cov.describe()


def test_since_on_a_file_and_lines_in_memory(tmp_path: Path) -> None:
    path = write(
        tmp_path / "w.log",
        line(NOW - timedelta(hours=3), "Video Worker (SQS) started | queue=q | wait_time=20"),
        line(NOW - timedelta(hours=1), "SQS_MESSAGE_RECEIVED | request_id=r | video_id=7 | tenant_id=1"),
        mtime=NOW,
    )
    with open_lines(path, since=NOW - timedelta(hours=2)) as source:
        (cov,) = summarize(source, source="w").coverage
    assert cov.start == NOW - timedelta(hours=1) and cov.since == NOW - timedelta(hours=2) and cov.end == NOW
    # Lines handed over in memory cover what their own stamps span.
    summary = summarize([line(NOW - timedelta(minutes=9), "Video job enqueued: video_id=3")], source="mem")
    assert summary.covers(NOW - timedelta(minutes=9)) is True
    assert summary.covers(NOW - timedelta(hours=1)) is False
    assert summarize(["no stamp: Video job enqueued: video_id=3"]).covers(NOW) is None


def test_absence_across_several_sources_needs_every_one_to_cover_the_time() -> None:
    a = Coverage("api-a", NOW - timedelta(hours=5), NOW, NOW - timedelta(hours=5), NOW)
    b = Coverage("api-b", NOW - timedelta(hours=1), NOW, NOW - timedelta(hours=1), NOW)
    blind = Coverage("api-c", None, None, None, None)
    assert covers([a, b], NOW - timedelta(minutes=30)) is True
    assert covers([a, b], NOW - timedelta(hours=2)) is False  # instance b's log rotated since
    assert covers([a, blind], NOW) is None and covers([], NOW) is None


def test_naive_stamps_are_read_in_the_log_timezone(tmp_path: Path) -> None:
    """The real worker logs naive local time (Asia/Seoul): its window is nine hours before the naive clock."""
    seoul = timezone_named("Asia/Seoul")
    at = NOW.astimezone(seoul)
    real = f"{at.strftime('%Y-%m-%d %H:%M:%S')},123 [INFO] [VIDEO-WORKER-SQS] SQS_MESSAGE_RECEIVED | request_id=r"
    path = write(tmp_path / "worker.log", real + " | video_id=7 | tenant_id=1", mtime=NOW + timedelta(minutes=1))
    with open_lines(path) as lines:
        (cov,) = summarize(lines, source="worker", tz=seoul).coverage
    assert cov.first == NOW + timedelta(milliseconds=123) and cov.start == cov.first
    with open_lines(path) as lines:  # read as UTC, the same line would be nine hours off
        (utc,) = summarize(lines, source="worker").coverage
    assert utc.first == NOW + timedelta(hours=9, milliseconds=123)
    # Several sources (summarize_sources) and a stream read (a filtered file) read their stamps in it too.
    with open_lines(path) as one, open_lines(path, since=NOW - timedelta(hours=1)) as two:
        both = summarize_sources([one, two], source="both", tz=seoul).coverage
    assert [c.first for c in both] == [NOW + timedelta(milliseconds=123)] * 2


def test_access_log_lines_show_when_the_api_log_was_written(tmp_path: Path) -> None:
    """gunicorn's access lines (``[20/Feb/2026:21:00:05 +0900]``) are no runbook events, but a log holding only
    them still covers their time: an enqueue line missing between them is missing."""
    path = write(
        tmp_path / "api.log",
        "API listening on http://127.0.0.1:8000",
        '127.0.0.1 - - [20/Feb/2026:21:00:05 +0900] "POST /api/v1/media/videos/111/upload/complete/ HTTP/1.1" 200 9',
        mtime=NOW + timedelta(minutes=1),
    )
    with open_lines(path) as lines:
        summary = summarize(lines, source="api")
    assert summary.coverage[0].first == NOW + timedelta(seconds=5)
    assert summary.covers(NOW + timedelta(seconds=30)) is True


def test_a_rotated_file_and_its_successor_are_one_writer() -> None:
    """``worker.log.1`` and ``worker.log`` (logrotate's names) are one process's history, one after the other: a
    time either file covers is covered (the busy day's rotated logs, given as ``--worker-log worker.log*``,
    made every time after the rotation "outside the log read"). Two instances' files still each must cover it."""
    old = Coverage("/l/worker.log.1", NOW - timedelta(hours=5), NOW - timedelta(hours=2),
                   NOW - timedelta(hours=5), NOW - timedelta(hours=2))  # fmt: skip
    older = Coverage("/l/worker.log.2.gz", NOW - timedelta(hours=9), NOW - timedelta(hours=5),
                     NOW - timedelta(hours=9), NOW - timedelta(hours=5))  # fmt: skip
    new = Coverage("/l/worker.log", NOW - timedelta(hours=2), NOW, NOW - timedelta(hours=2), NOW)
    other = Coverage("/l/api-2.log", NOW - timedelta(hours=1), NOW, NOW - timedelta(hours=1), NOW)
    assert covers([older, old, new], NOW - timedelta(minutes=30)) is True
    assert covers([older, old, new], NOW - timedelta(hours=3)) is True
    assert covers([older, old, new], NOW - timedelta(hours=7)) is True
    assert covers([older, old, new], NOW - timedelta(hours=10)) is False
    assert covers([old, new, other], NOW - timedelta(hours=3)) is False  # api-2.log starts later
    # Not a rotation: two containers named alike, and a file beside a dated one of another name.
    w1 = Coverage("docker:worker-1", NOW - timedelta(hours=5), NOW, NOW - timedelta(hours=5), NOW)
    w2 = Coverage("docker:worker-2", NOW - timedelta(hours=1), NOW, NOW - timedelta(hours=1), NOW)
    assert covers([w1, w2], NOW - timedelta(hours=3)) is False
