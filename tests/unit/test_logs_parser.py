"""runbook.logs: each runbook line parsed to its event and values, and per-video stages."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runbook.logs import EventKind, SkipReason, Stage, parse_line, summarize
from runbook.logs.summary import Summarizer

# The prefixes a worker or API line arrives with: bare (print), Python logging's default format,
# docker --timestamps in front of Python logging, a bracketed timestamp, and a JSON-ish wrapper.
PREFIXES = [
    "",
    "2024-05-01 12:00:00,123 INFO video_worker.sqs_main ",
    "2024-05-01T12:00:00.123456789Z 2024-05-01 12:00:00,123 INFO video_worker.sqs_main ",
    "[2024-05-01 12:00:00+09:00] WARNING [video_worker] ",
]

CASES: list[tuple[str, EventKind, int | None, dict[str, str]]] = [
    (
        "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20",
        EventKind.STARTED,
        None,
        {"queue": "academy-video-jobs", "wait_time": "20"},
    ),
    (
        "config error: R2_ENDPOINT is required",
        EventKind.CONFIG_ERROR,
        None,
        {"variable": "R2_ENDPOINT", "error": "R2_ENDPOINT is required"},
    ),
    ("config error: missing settings", EventKind.CONFIG_ERROR, None, {"error": "missing settings"}),
    ("SQS unavailable (AWS credentials invalid or missing?)", EventKind.SQS_UNAVAILABLE, None, {}),
    (
        "SQS unavailable (AWS credentials invalid or missing?): An error occurred (InvalidClientTokenId)",
        EventKind.SQS_UNAVAILABLE,
        None,
        {"error": "An error occurred (InvalidClientTokenId)"},
    ),
    (
        "SQS_MESSAGE_RECEIVED | request_id=7f3a-1 | video_id=111 | tenant_id=3",
        EventKind.RECEIVED,
        111,
        {"request_id": "7f3a-1", "tenant_id": "3"},
    ),
    ("[HANDLER] Lock acquired, marking as PROCESSING video_id=333", EventKind.LOCK_ACQUIRED, 333, {}),
    (
        "[HANDLER] process_fn completed video_id=333 hls_path=tenants/3/videos/333/hls/master.m3u8",
        EventKind.PROCESS_COMPLETED,
        333,
        {"hls_path": "tenants/3/videos/333/hls/master.m3u8"},
    ),
    ("SQS_JOB_COMPLETED | request_id=7f3a-3 | video_id=333", EventKind.JOB_COMPLETED, 333, {"request_id": "7f3a-3"}),
    ("SQS_JOB_FAILED | request_id=7f3a-4 | video_id=17", EventKind.JOB_FAILED, 17, {"request_id": "7f3a-4"}),
    (
        "Video processing failed: video_id=17, error=Failed to complete video: not_found",
        EventKind.PROCESSING_FAILED,
        17,
        {"error": "Failed to complete video: not_found"},
    ),
    ("[HANDLER] Lock acquisition failed, skipping", EventKind.SKIP_LOCK, None, {}),
    ("[HANDLER] Cannot mark video 222 as PROCESSING, skipping", EventKind.SKIP_STATUS, 222, {}),
    ("[HANDLER] Cancel requested for video_id=444, skipping", EventKind.SKIP_CANCEL, 444, {}),
    ("complete_video failed: video_id=17 row exists=False", EventKind.ROW_EXISTS, 17, {"row_exists": "False"}),
    ("complete_video failed: video_id=18 row exists=True", EventKind.ROW_EXISTS, 18, {"row_exists": "True"}),
    ("Video job enqueued: video_id=555", EventKind.ENQUEUED, 555, {}),
    (
        "Video job enqueue failed: video_id=556, error=Could not connect to the endpoint URL",
        EventKind.ENQUEUE_FAILED,
        556,
        {"error": "Could not connect to the endpoint URL"},
    ),
]

ACCESS_LOG_503 = [
    '172.18.0.1 - - [01/May/2024:12:00:00 +0000] "POST /media/videos/557/upload/complete/ HTTP/1.1" 503 61 "-" "curl"',
    '[01/May/2024 12:00:00] "POST /media/videos/557/upload/complete/ HTTP/1.1" 503 61',
    'INFO:     172.18.0.1:51234 - "POST /media/videos/557/upload/complete/ HTTP/1.1" 503 Service Unavailable',
    '{"method": "POST", "path": "POST /media/videos/557/upload/complete/", "status": 503}',
    "WARNING django.request Service Unavailable: /media/videos/557/upload/complete/",
]


@pytest.mark.parametrize("prefix", PREFIXES, ids=["bare", "logging", "docker", "bracketed"])
@pytest.mark.parametrize(
    ("text", "kind", "expected_id", "fields"), CASES, ids=[c[1].value + str(i) for i, c in enumerate(CASES)]
)
def test_each_runbook_line_is_recognised_with_its_values(
    prefix: str, text: str, kind: EventKind, expected_id: int | None, fields: dict[str, str]
) -> None:
    for line in (prefix + text, (prefix + text).encode(), prefix + text + "\r\n"):
        event = parse_line(line, 7)
        assert event is not None, line
        assert (event.kind, event.video_id, event.line_no) == (kind, expected_id, 7)
        assert dict(event.fields) == fields
        for name, value in fields.items():
            assert event.get(name) == value


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", None),
        (PREFIXES[1], datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)),
        (PREFIXES[2], datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),  # docker's own stamp wins
        (PREFIXES[3], datetime(2024, 5, 1, 3, 0, 0, tzinfo=UTC)),  # +09:00 converted to UTC
    ],
)
def test_leading_timestamp_is_parsed_as_utc(prefix: str, expected: datetime | None) -> None:
    event = parse_line(prefix + "Video job enqueued: video_id=1")
    assert event is not None
    assert event.ts == expected


@pytest.mark.parametrize("line", ACCESS_LOG_503)
def test_upload_complete_answered_503_is_an_enqueue_failure(line: str) -> None:
    event = parse_line(line)
    assert event is not None
    assert (event.kind, event.video_id, event.get("error")) == (EventKind.ENQUEUE_FAILED, 557, "HTTP 503")


@pytest.mark.parametrize(
    "line",
    [
        '"POST /media/videos/557/upload/complete/ HTTP/1.1" 200 17',
        '"GET /media/videos/557/progress/ HTTP/1.1" 503 17',
        "INFO video_worker ffmpeg frame=  100 fps=48 speed=1.9x",
        "SQS_QUEUE_NAME=academy-video-jobs",
        "[HANDLER] something else entirely",
        "",
    ],
)
def test_other_lines_are_not_events(line: str) -> None:
    assert parse_line(line) is None


def test_row_exists_on_a_failure_line_is_kept_as_a_field() -> None:
    event = parse_line(
        "Video processing failed: video_id=17, error=Failed to complete video: not_found row exists=False"
    )
    assert event is not None
    assert event.kind is EventKind.PROCESSING_FAILED
    assert event.get("row_exists") == "False"


def _story(*lines: str) -> list[str]:
    return [f"2024-05-01 12:00:{i:02d},000 INFO worker {line}" for i, line in enumerate(lines)]


def test_stages_follow_section_5_order() -> None:
    summary = summarize(
        _story(
            "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20",
            "SQS_MESSAGE_RECEIVED | request_id=a | video_id=1 | tenant_id=1",
            "SQS_MESSAGE_RECEIVED | request_id=b | video_id=2 | tenant_id=1",
            "[HANDLER] Lock acquired, marking as PROCESSING video_id=2",
            "SQS_MESSAGE_RECEIVED | request_id=c | video_id=3 | tenant_id=1",
            "[HANDLER] Lock acquired, marking as PROCESSING video_id=3",
            "[HANDLER] process_fn completed video_id=3 hls_path=x",
            "SQS_MESSAGE_RECEIVED | request_id=d | video_id=4 | tenant_id=1",
            "[HANDLER] Lock acquired, marking as PROCESSING video_id=4",
            "[HANDLER] process_fn completed video_id=4 hls_path=x",
            "SQS_JOB_COMPLETED | request_id=d | video_id=4",
        ),
        source="worker",
    )
    assert [summary.stage(v) for v in (1, 2, 3, 4, 5)] == [
        Stage.RECEIVED,
        Stage.PROCESSING,
        Stage.ENCODED,
        Stage.COMPLETED,
        None,
    ]
    four = summary.timelines[4]
    assert four.kinds == (
        EventKind.RECEIVED,
        EventKind.LOCK_ACQUIRED,
        EventKind.PROCESS_COMPLETED,
        EventKind.JOB_COMPLETED,
    )
    assert (four.first_ts, four.last_ts) == (
        datetime(2024, 5, 1, 12, 0, 7, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 0, 10, tzinfo=UTC),
    )
    assert four.completed and four.received == 1
    assert (summary.started, summary.queue, summary.wait_time) == (1, "academy-video-jobs", 20)
    assert summary.source == "worker" and summary.lines == 11 and summary.events == 11
    assert summary.before(EventKind.STARTED, EventKind.RECEIVED) is True
    assert summary.before(EventKind.RECEIVED, EventKind.SKIP_LOCK) is None


def test_section_9_story_111_skipped_for_lock_222_for_status_333_completes() -> None:
    # Three workers, one stream per worker, as `docker logs` of each gives them.
    workers = [
        _story(
            "SQS_MESSAGE_RECEIVED | request_id=r1 | video_id=111 | tenant_id=1",
            "[HANDLER] Lock acquisition failed, skipping",
            "SQS_JOB_COMPLETED | request_id=r1 | video_id=111",  # the skipped message is deleted
        ),
        _story(
            "SQS_MESSAGE_RECEIVED | request_id=r2 | video_id=222 | tenant_id=1",
            "[HANDLER] Cannot mark video 222 as PROCESSING, skipping",
        ),
        _story(
            "SQS_MESSAGE_RECEIVED | request_id=r3 | video_id=333 | tenant_id=1",
            "[HANDLER] Lock acquired, marking as PROCESSING video_id=333",
            "[HANDLER] process_fn completed video_id=333 hls_path=hls/333/master.m3u8",
            "SQS_JOB_COMPLETED | request_id=r3 | video_id=333",
        ),
    ]
    merged = summarize([line for worker in workers for line in worker])
    for summary in [merged, *(summarize(w) for w in workers)]:
        for vid, timeline in summary.timelines.items():
            expected = {
                111: (Stage.SKIPPED, SkipReason.LOCK),
                222: (Stage.SKIPPED, SkipReason.STATUS),
                333: (Stage.COMPLETED, None),
            }[vid]
            assert (timeline.stage, timeline.skip_reason) == expected
    assert merged.videos(Stage.SKIPPED) == (111, 222)
    assert merged.timelines[111].completed is False
    assert merged.unattributed_skips == 0


def test_cancel_skip_and_retry_after_a_skip() -> None:
    summary = summarize(
        [
            "SQS_MESSAGE_RECEIVED | request_id=a | video_id=5 | tenant_id=1",
            "[HANDLER] Cancel requested for video_id=5, skipping",
            "SQS_MESSAGE_RECEIVED | request_id=b | video_id=5 | tenant_id=1",
            "[HANDLER] Lock acquired, marking as PROCESSING video_id=5",
        ]
    )
    timeline = summary.timelines[5]
    assert (timeline.stage, timeline.skip_reason, timeline.received) == (Stage.PROCESSING, None, 2)


def test_not_found_failure_with_row_exists_false() -> None:
    summary = summarize(
        _story(
            "SQS_MESSAGE_RECEIVED | request_id=a | video_id=17 | tenant_id=1",
            "[HANDLER] Lock acquired, marking as PROCESSING video_id=17",
            "[HANDLER] process_fn completed video_id=17 hls_path=hls/17/master.m3u8",
            "complete_video failed: video_id=17 row exists=False",
            "Video processing failed: video_id=17, error=Failed to complete video: not_found",
            "SQS_JOB_FAILED | request_id=a | video_id=17",
        )
    )
    timeline = summary.timelines[17]
    assert timeline.stage is Stage.FAILED
    assert timeline.error == "Failed to complete video: not_found"
    assert timeline.row_exists is False
    assert not timeline.completed


def test_source_level_facts_config_errors_sqs_and_api() -> None:
    summary = summarize(
        [
            "config error: API_BASE_URL is required",
            "config error: R2_BUCKET or R2_VIDEO_BUCKET is required",
            "config error: API_BASE_URL is required",
            "SQS unavailable (AWS credentials invalid or missing?): InvalidClientTokenId",
            "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20",
            "Video job enqueued: video_id=1",
            "Video job enqueue failed: video_id=2, error=boom",
            '"POST /media/videos/3/upload/complete/ HTTP/1.1" 503 10',
        ]
    )
    assert summary.config_variables == ("API_BASE_URL", "R2_BUCKET")
    assert summary.config_errors[-1] == "API_BASE_URL is required"
    assert summary.counts[EventKind.CONFIG_ERROR] == 3
    assert (summary.sqs_unavailable, summary.sqs_error) == (1, "InvalidClientTokenId")
    assert summary.last_line[EventKind.CONFIG_ERROR] < summary.first_line[EventKind.STARTED]
    assert set(summary.enqueued) == {1}
    assert dict(summary.enqueue_failures) == {2: "boom", 3: "HTTP 503"}
    assert summary.timelines == {}


def test_events_kept_per_video_are_bounded() -> None:
    lines = ["SQS_MESSAGE_RECEIVED | request_id=a | video_id=9 | tenant_id=1"] * 1000
    timeline = summarize(lines).timelines[9]
    assert len(timeline.events) == 32 and timeline.dropped_events == 968 and timeline.received == 1000


def test_block_and_line_paths_agree() -> None:
    text = "\n".join(line for prefix in PREFIXES for line, *_ in ((prefix + c[0],) for c in CASES))
    text += "\n" + "\n".join(ACCESS_LOG_503) + "\nnoise\r\n[HANDLER] Lock acquisition failed, skipping"
    by_line = Summarizer("x")
    for line in text.split("\n"):
        by_line.feed_line(line)
    by_block = Summarizer("x")
    by_block.feed_block(text.encode())
    assert by_block.result() == by_line.result()
    assert by_line.result().events == len(PREFIXES) * len(CASES) + len(ACCESS_LOG_503) + 1


def test_binary_file_objects_take_the_block_path_and_a_lone_string_is_refused(tmp_path: Path) -> None:
    lines = _story(
        "SQS_MESSAGE_RECEIVED | request_id=a | video_id=1 | tenant_id=1",
        "[HANDLER] Lock acquired, marking as PROCESSING video_id=1",
    )
    data = "\n".join(lines).encode()
    path = tmp_path / "w.log"
    path.write_bytes(data)
    with path.open("rb") as binary, path.open() as text:
        assert summarize(io.BytesIO(data)) == summarize(binary) == summarize(text) == summarize(lines)
    with pytest.raises(TypeError, match="open_lines"):
        summarize(str(path))
