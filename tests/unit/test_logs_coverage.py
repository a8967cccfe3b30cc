"""Each log source reports the time window it covers; a line's absence counts only inside it (issue 16)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runbook.logs import open_lines, summarize
from runbook.logs.coverage import CLOCK_SLACK, Coverage, covers, first_stamp, last_stamp

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
