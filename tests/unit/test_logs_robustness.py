"""runbook.logs never raises on bad input and stays fast and bounded on huge input."""

from __future__ import annotations

import io
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook.logs import EventKind, Stage, open_lines, parse_line, summarize
from runbook.logs.patterns import MAX_SCAN
from runbook.logs.summary import Summarizer

RECEIVED = "SQS_MESSAGE_RECEIVED | request_id=r | video_id={} | tenant_id=1"
LOCK_FAILED = "[HANDLER] Lock acquisition failed, skipping"

# Fragments of real lines, so that fuzzing reaches the classifier and not only the prefilter.
FRAGMENTS = [
    "SQS_MESSAGE_RECEIVED | request_id=",
    "SQS_JOB_FAILED | video_id=",
    "[HANDLER] Lock acquired, marking as PROCESSING video_id=",
    "[HANDLER] Cannot mark video ",
    "[HANDLER] Cancel requested for video_id=",
    "Video processing failed: video_id=",
    "Video job enqueue failed: video_id=",
    "config error: ",
    "row exists=",
    "POST /media/videos/1/upload/complete/",
    "Video Worker (SQS) started | queue=",
    "SQS unavailable (AWS credentials invalid or missing?): ",
    "2024-05-01T12:00:00.123Z ",
    "9999999999999999999999999999",
    "\r\n",
    "\n",
    "\udcff",
]
line_strategy = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=10), max_size=8).map("".join)
lines_strategy = st.lists(line_strategy, max_size=30)
bytes_strategy = st.lists(
    st.binary(max_size=200) | line_strategy.map(lambda line: line.encode("utf-8", "surrogatepass")),
    max_size=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=500) | st.text(max_size=500) | line_strategy)
def test_parse_line_never_raises(line: str | bytes) -> None:
    event = parse_line(line)
    assert event is None or isinstance(event.kind, EventKind)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines_strategy | bytes_strategy)
def test_summarize_never_raises_and_block_path_agrees(lines: list[str] | list[bytes]) -> None:
    summary = summarize(lines)
    assert summary.lines == len(lines)
    data = [line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line for line in lines]
    if not any(b"\n" in line for line in data):  # joined, they stay the same lines
        by_block = Summarizer()
        by_block.feed_block(b"\n".join(data) + b"\n" if data else b"")
        assert by_block.result().timelines == summary.timelines


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    event = parse_line(b"Video processing failed: video_id=3, error=caf\xe9 \xff\xfe broke")
    assert event is not None and event.video_id == 3
    assert event.get("error") == "caf\ufffd \ufffd\ufffd broke"


def test_crlf_lines_give_the_same_summary() -> None:
    lines = [RECEIVED.format(1), "[HANDLER] Lock acquired, marking as PROCESSING video_id=1", "config error: R2_BUCKET"]
    assert summarize([line + "\r\n" for line in lines]) == summarize(lines)


def test_truncated_lines_give_no_event_or_a_partial_one() -> None:
    line = RECEIVED.format(123456)
    for cut in range(len(line) + 1):
        event = parse_line(line[:cut])
        assert event is None or (
            event.kind is EventKind.RECEIVED and event.video_id in (None, 1, 12, 123, 1234, 12345, 123456)
        )
    summary = summarize(["SQS_MESSAGE_RECEIVED | request_id=r | video_", LOCK_FAILED])
    assert summary.timelines == {} and summary.unattributed_skips == 1  # no guess from a cut line


def test_interleaved_workers_attribute_lock_skips_to_the_last_receive_of_the_stream() -> None:
    # Documented limitation: one stream, two workers -> the skip lands on the last received video.
    worker_a = [RECEIVED.format(111), LOCK_FAILED]
    worker_b = [RECEIVED.format(222), "[HANDLER] Lock acquired, marking as PROCESSING video_id=222"]
    interleaved = summarize([worker_a[0], worker_b[0], worker_a[1], worker_b[1]])
    assert interleaved.stage(111) is Stage.RECEIVED
    assert interleaved.stage(222) is Stage.PROCESSING  # the skip went to 222, then 222's lock reopened it
    assert interleaved.timelines[222].kinds == (EventKind.RECEIVED, EventKind.SKIP_LOCK, EventKind.LOCK_ACQUIRED)
    # Read per worker (one source each), the attribution is right.
    assert summarize(worker_a).stage(111) is Stage.SKIPPED
    assert summarize(worker_b).stage(222) is Stage.PROCESSING


def test_empty_input_and_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    for summary in (summarize([]), summarize(open_lines(str(empty)))):
        assert (summary.lines, summary.events, summary.first_ts, dict(summary.timelines)) == (0, 0, None, {})


def test_a_100_mb_single_line_is_cut_quickly_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with path.open("wb") as f:
        f.write(b"SQS_MESSAGE_RECEIVED | request_id=r | video_id=7 | tenant_id=1 ")
        block = b"A" * (1 << 20)
        for _ in range(100):
            f.write(block)
        f.write(b" [HANDLER] Lock acquired, marking as PROCESSING video_id=8\n")  # beyond the scan window
        f.write(b"SQS_JOB_COMPLETED | request_id=r | video_id=9\n")
    for workers in (1, 2):
        tracemalloc.start()
        started = time.monotonic()
        with open_lines(str(path)) as lines:
            summary = summarize(lines, workers=workers)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert summary.lines == 2
        assert {vid: t.stage for vid, t in summary.timelines.items()} == {7: Stage.RECEIVED, 9: Stage.COMPLETED}
        assert elapsed < 20, f"{elapsed:.1f}s for a 100 MB line"
        assert peak < 32 << 20, f"peak {peak >> 20} MiB"

    started = time.monotonic()
    line = b"x" * (100 << 20) + b" SQS_JOB_COMPLETED | video_id=1"
    assert parse_line(line) is None  # only the first MAX_SCAN bytes are looked at
    assert parse_line(line[:100] + line[-31:]) is not None
    assert time.monotonic() - started < 5
    assert MAX_SCAN == 64 * 1024


def test_lines_iterated_from_a_file_are_cut_and_stripped(tmp_path: Path) -> None:
    path = tmp_path / "w.log"
    path.write_bytes(b"a\r\n" + b"b" * (MAX_SCAN + 10) + b"\nlast")
    with open_lines(str(path)) as lines:
        got = list(lines)
    assert got == [b"a", b"b" * MAX_SCAN, b"last"]
    assert lines.closed


def test_parallel_scan_gives_the_sequential_result(tmp_path: Path) -> None:
    from runbook.logs.parallel import line_ranges, summarize_range

    lines = []
    for vid in range(400):
        lines += [RECEIVED.format(vid), LOCK_FAILED if vid % 3 else "noise " * (vid % 7)]
        lines.append(f"2024-05-01T12:00:{vid % 60:02d}Z [HANDLER] Lock acquired, marking as PROCESSING video_id={vid}")
    path = tmp_path / "w.log"
    path.write_text("\r\n".join(lines))  # no newline at the end
    sequential = summarize(lines, source="w")
    size = path.stat().st_size
    for workers in (2, 3, 5):
        ranges = line_ranges(str(path), 0, size, workers)
        assert ranges[0][0] == 0 and ranges[-1][1] == size and len(ranges) == workers
        data = path.read_bytes()
        assert all(data[start - 1 : start] == b"\n" for start, _ in ranges[1:])
        parallel = Summarizer("w")
        assert summarize_range(parallel, str(path), 0, size, workers)
        assert parallel.result() == sequential


def test_parallel_scan_does_not_inherit_a_lock_another_thread_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live run parses the log in one thread while others work. A forked child would inherit their locks as
    they were: here a thread waits in a buffered read of ``sys.stdin`` (holding its lock), and a forked worker,
    which closes ``sys.stdin`` first thing, would wait for that lock forever."""
    from runbook.logs.parallel import summarize_range

    lines = [RECEIVED.format(vid) for vid in range(200)]
    path = tmp_path / "w.log"
    path.write_text("\n".join(lines) + "\n")
    read_end, write_end = os.pipe()
    stdin = io.TextIOWrapper(os.fdopen(read_end, "rb"))
    monkeypatch.setattr(sys, "stdin", stdin)
    waiting = threading.Thread(target=stdin.buffer.read, args=(1,), daemon=True)
    waiting.start()
    time.sleep(0.2)  # the reader now holds the buffer's lock, blocked in read()
    done: list[bool] = []
    parse = threading.Thread(
        target=lambda: done.append(summarize_range(Summarizer("w"), str(path), 0, path.stat().st_size, 2)),
        daemon=True,
    )
    try:
        parse.start()
        parse.join(60)
        assert done == [True], "the worker processes never answered: a lock was inherited locked"
    finally:
        os.write(write_end, b"x")
        waiting.join(10)
        os.close(write_end)


def test_block_scan_agrees_with_line_scan_whether_probe_bytes_are_rare_or_common() -> None:
    events = [
        RECEIVED.format(1),
        "[HANDLER] Lock acquired, marking as PROCESSING video_id=1",
        "Video processing failed: video_id=1, error=x",
        "Video job enqueued: video_id=2",
        "config error: R2_ENDPOINT",
        "complete_video failed: video_id=1 row exists=True",
        '"POST /media/videos/3/upload/complete/ HTTP/1.1" 503 1',
    ]
    rare = "2024-05-01 12:00:00,000 INFO worker ffmpeg frame=1 fps=25"
    common = "[INFO] [Q] Video QUEUE [VQ] [[[ Vx Qy"  # every probe byte, many times a line
    for noise in (rare, common):
        lines = [line for i in range(20_000) for line in ([noise] if i % 50 else [noise, events[i // 50 % 7]])]
        by_line = summarize(lines)
        by_block = Summarizer()
        by_block.feed_block("\n".join(lines).encode())
        assert by_block.result() == by_line
        assert by_line.events == 400


def test_the_spelled_out_prefilter_is_the_anchor_list() -> None:
    from runbook.logs.patterns import ANCHORS
    from runbook.logs.scan import has_anchor

    for anchor in ANCHORS:
        assert has_anchor(b"x " + anchor + b" y")
        assert not has_anchor(b"x " + anchor[:-1] + b" y")
    assert not has_anchor(b"2024-05-01 INFO worker ffmpeg frame=1")


# Pieces that put anchors, CRLF, over-long lines and short lines across read boundaries.
SPAN_PIECES = [
    b"SQS_MESSAGE_RECEIVED | request_id=r | video_id=",
    b"[HANDLER] Lock acquired, marking as PROCESSING video_id=",
    b"complete_video failed: video_id=4 row exists=False",
    b"config error: R2_ENDPOINT",
    b"POST /media/videos/5/upload/complete/ HTTP/1.1 503 0",
    b"12",
    b"\n",
    b"\r\n",
    b"\r",
    b"x" * 1000,
    b"y" * (MAX_SCAN + 5000),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(SPAN_PIECES), max_size=30).map(b"".join),
    st.sampled_from([1, 7, 100, 4096, MAX_SCAN - 1, MAX_SCAN + 1, 1 << 20]),
)
def test_spans_read_the_same_lines_as_blocks(data: bytes, chunk_size: int) -> None:
    import io

    from runbook.logs.scan import iter_blocks, iter_spans, scan_span, split_block

    blocks = list(iter_blocks(io.BytesIO(data).read, chunk_size))
    spans = list(iter_spans(io.BytesIO(data).read, chunk_size))
    assert [line for block in blocks for line in split_block(block)] == [
        line for chunk, start, end in spans for line in split_block(chunk[start:end])
    ]
    for chunk, start, end in spans:  # the scan of a span in place is the scan of its copy
        newlines, found = scan_span(chunk, start, end)
        copy = chunk[start:end]
        assert (newlines, found) == (copy.count(b"\n"), scan_span(copy, 0, len(copy))[1])
    by_block, by_span = Summarizer(), Summarizer()
    for block in blocks:
        by_block.feed_block(block)
    for span in spans:
        by_span.feed_span(*span)
    assert by_span.result() == by_block.result()


def test_memmem_and_bytes_find_find_the_same_anchors(monkeypatch: pytest.MonkeyPatch) -> None:
    from runbook.logs import scan

    data = b"row exists=\nconfig error config error\nx/upload/complete\nconfig erro\nrow exists="
    spans = [(lo, hi) for lo in range(len(data) + 1) for hi in range(lo, len(data) + 1)]
    with_memmem = [scan.scan_span(data, lo, hi) for lo, hi in spans]
    monkeypatch.setattr(scan, "_MEMMEM", None)
    assert [scan.scan_span(data, lo, hi) for lo, hi in spans] == with_memmem
    assert with_memmem[spans.index((0, len(data)))] == (
        4,
        [(0, b"row exists="), (1, b"config error config error"), (2, b"x/upload/complete"), (4, b"row exists=")],
    )


def test_a_file_is_scanned_through_its_reads_with_the_result_of_its_lines(tmp_path: Path) -> None:
    lines = [RECEIVED.format(1), "noise " * 30, "[HANDLER] Lock acquired, marking as PROCESSING video_id=1"] * 3000
    lines.append("x" * (MAX_SCAN + 10) + " SQS_JOB_COMPLETED | video_id=1")  # cut before its phrase
    path = tmp_path / "w.log"
    path.write_text("\r\n".join(lines))
    with open_lines(str(path)) as source:
        assert source.reader() is not None
        assert summarize(source, workers=1) == summarize(lines)
    with open_lines(str(path)) as source:
        next(source)  # once read line by line, it is scanned from where it stands
        assert source.reader() is None
        assert summarize(source).lines == len(lines) - 1


def test_sqs_lines_that_can_be_no_event_are_left_out_of_the_candidates() -> None:
    from runbook.logs.scan import candidate_lines

    lines = [
        b"DEBUG botocore.endpoint: headers={'X-Amz-Target': b'AmazonSQS.ReceiveMessage'}",  # no phrase possible
        b"SQS_JOB_COMPLETED | video_id=1",
        b"Video Worker (SQS) started | queue=q",
        b"SQS unavailable (AWS credentials invalid or missing?)",
        b"AmazonSQS.ReceiveMessage then [HANDLER] Lock acquired video_id=2",  # kept for its other anchor
        b"ends with SQS",  # the end of the block: kept, harmlessly
    ]
    lines = [line for pair in zip([b"noise " * 200] * len(lines), lines, strict=True) for line in pair]  # sparse
    assert [index for index, _ in candidate_lines(b"\n".join(lines))] == [3, 5, 7, 9, 11]
    text = [line.decode() for line in lines]
    by_block = Summarizer()
    by_block.feed_block(b"\n".join(lines))
    assert by_block.result() == summarize(text) and summarize(text).events == 4
