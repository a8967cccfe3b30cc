"""The parser reads production as it is: every line of ``tests/corpus/production_lines.txt`` (the real system's
lines at 3bc9f472f, each under a comment naming the code that prints it) gets its expected classification.

The corpus is the test's own knowledge, written from the real code, not from ``runbook.logs.patterns``: a
pattern that drifts from production fails here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from runbook import production
from runbook.logs import EventKind, Stage, iter_records, parse_line, summarize, timezone_named

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "production_lines.txt"
_SOURCE = re.compile(r"^# (?:[\w./-]+\.py:\d+|\S+ \(runtime\)|django\.request|gunicorn)")


@dataclass(frozen=True)
class Entry:
    number: int  # line number in the corpus file
    kind: str  # EventKind value, "+" (continuation) or "-" (no event)
    video_id: int | None
    fields: dict[str, str] | None
    line: str
    source: str | None  # the comment naming the code


def entries() -> list[Entry]:
    found: list[Entry] = []
    source: str | None = None
    for number, raw in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("##"):
            continue
        if raw.startswith("#"):
            if _SOURCE.match(raw):
                source = raw[2:]
            continue
        kind, video, fields, line = raw.split("\t", 3)
        found.append(
            Entry(
                number,
                kind,
                None if video == "-" else int(video),
                None if fields == "-" else json.loads(fields),
                line,
                source,
            )
        )
    return found


ENTRIES = entries()


def test_every_corpus_line_names_its_source_and_commit() -> None:
    head = CORPUS.read_text(encoding="utf-8")[:400]
    assert production.COMMIT[:9] in head and production.COMMIT in head
    assert len(ENTRIES) > 100
    for entry in ENTRIES:
        assert entry.source is not None, f"corpus line {entry.number} has no source comment"


def test_every_line_is_classified_as_the_corpus_says() -> None:
    records = list(iter_records([e.line for e in ENTRIES]))
    by_line = {record.line_no: record for record in records}
    continued = {record.line_no + offset for record in records for offset in range(1, len(record.continuation) + 1)}
    wrong: list[str] = []
    for index, entry in enumerate(ENTRIES, 1):
        where = f"corpus line {entry.number} ({entry.source}): {entry.line[:100]}"
        if entry.kind == "+":
            if index not in continued:
                wrong.append(f"not attached to the record before it: {where}")
            continue
        record = by_line.get(index)
        if record is None:
            wrong.append(f"taken for a continuation: {where}")
            continue
        event = record.event
        got = "-" if event is None else str(event.kind)
        if got != entry.kind:
            wrong.append(f"{got} != {entry.kind}: {where}")
            continue
        if event is None:
            continue
        if event.video_id != entry.video_id:
            wrong.append(f"video {event.video_id} != {entry.video_id}: {where}")
        for name, value in (entry.fields or {}).items():
            if event.get(name) != value:
                wrong.append(f"{name}={event.get(name)!r} != {value!r}: {where}")
    assert not wrong, "\n".join(wrong)


def test_continuation_lines_are_never_events_of_their_own() -> None:
    for entry in ENTRIES:
        if entry.kind == "+":
            assert parse_line(entry.line) is None, entry.line


def test_the_corpus_covers_every_kind_of_the_production_profile() -> None:
    kinds = {entry.kind for entry in ENTRIES}
    profile = {line.kind for line in production.LINES}
    assert profile <= {str(kind) for kind in EventKind}, profile - {str(kind) for kind in EventKind}
    assert profile <= kinds, f"no corpus line for {sorted(profile - kinds)}"


_SAMPLE = {"%s": "17", "%d": "17", "%.2f": "1.50", "%.1f": "1.5", "%%": "%"}


@pytest.mark.parametrize("line", production.LINES, ids=[f"{line.kind}:{line.source}" for line in production.LINES])
def test_each_profile_template_rendered_in_the_worker_format_classifies_as_its_kind(
    line: production.LogLine,
) -> None:
    template = (  # values that are not ids: an operation, a job id, a boolean
        line.template.replace("SQS %s (%s)", "SQS receive_message (academy-video-jobs)")
        .replace("job_id=%s", "job_id=encode:17")
        .replace("row exists=%s", "row exists=False")
    )
    message = re.sub(r"%\.2f|%\.1f|%s|%d|%%", lambda m: _SAMPLE[m.group()], template)
    if line.kind == "config_error":
        message = "config error: Missing required env: R2_ENDPOINT"
    rendered = f"2026-02-20 14:03:11,123 [{line.level}] [VIDEO-WORKER-SQS] {message}"
    if "Service Unavailable" in message:
        rendered = "[ERROR] 2026-02-20 14:03:11,123 django.request: Service Unavailable: /api/v1/media/videos/17/retry/"
    event = parse_line(rendered)
    assert event is not None, rendered
    assert str(event.kind) == line.kind, rendered


def test_naive_timestamps_are_read_in_the_log_timezone() -> None:
    worker = "2026-02-20 14:03:11,123 [INFO] [VIDEO-WORKER-SQS] Video job enqueued: video_id=1"
    api = "[INFO] 2026-02-20 14:03:11,123 apps.support.video.services.sqs_queue: Video job enqueued: video_id=1"
    docker = "2026-02-20T05:03:11.123Z " + worker
    kst = ZoneInfo(production.TIME_ZONE)
    utc_reading = datetime(2026, 2, 20, 14, 3, 11, 123000, tzinfo=UTC)
    true_time = datetime(2026, 2, 20, 5, 3, 11, 123000, tzinfo=UTC)
    for line in (worker, api):
        assert parse_line(line).ts == utc_reading  # type: ignore[union-attr]
        assert parse_line(line, tz=kst).ts == true_time  # type: ignore[union-attr]
        assert summarize([line], tz=kst).enqueued[1] == true_time
    assert parse_line(docker, tz=kst).ts == true_time  # type: ignore[union-attr]  # docker's own stamp is UTC
    assert timezone_named("+09:00").utcoffset(None).total_seconds() == 9 * 3600  # type: ignore[union-attr]
    assert timezone_named("UTC") is UTC
    for bad in ("Mars/Olympus", "../etc/passwd", "+25:00", ""):
        with pytest.raises(ValueError):
            timezone_named(bad)


def _lines(section: str) -> list[str]:
    """The corpus lines of one ``## section`` (continuations included), in order."""
    text = CORPUS.read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n", 1)[1].split("\n## ", 1)[0]
    return [raw.split("\t", 3)[3] for raw in body.splitlines() if raw and not raw.startswith("#")]


def test_the_api_s_enqueue_failure_takes_its_reason_from_the_queue_client_line_before_it() -> None:
    summary = summarize(_lines("The API under base settings")[:2], source="api")
    assert "AccessDenied" in summary.enqueue_failures[17]
    assert summary.queue_failure["op"] == "send_message"


def test_a_failure_redelivered_and_skipped_is_still_the_failure() -> None:
    worker = "2026-02-20 14:{:02d}:00,000 [{}] [VIDEO-WORKER-SQS] {}"
    story = [
        (
            "INFO",
            "SQS_MESSAGE_RECEIVED | request_id=a1 | video_id=17 | tenant_id=1 | queue_wait_sec=0.50 | created_at=x",
        ),
        ("INFO", "[HANDLER] Lock acquired, marking as PROCESSING video_id=17"),
        ("INFO", "[HANDLER] process_fn completed video_id=17 hls_path=tenants/1/video/hls/17/master.m3u8 duration=3"),
        (
            "WARNING",
            "complete_video: video_id=17 not found (row exists=False). Possible: row/parent deleted during "
            "encode, or worker DB differs from API.",
        ),
        ("ERROR", "Video processing failed: video_id=17, error=Failed to complete video: not_found"),
        (
            "ERROR",
            "SQS_JOB_FAILED | request_id=a1 | video_id=17 | tenant_code=t | processing_duration=9.00 | "
            "queue_wait_sec=0.50",
        ),
        (
            "INFO",
            "SQS_MESSAGE_RECEIVED | request_id=b2 | video_id=17 | tenant_id=1 | queue_wait_sec=9.60 | created_at=x",
        ),
        ("INFO", "[HANDLER] Lock acquired, marking as PROCESSING video_id=17"),
        ("WARNING", "[HANDLER] Cannot mark video 17 as PROCESSING, skipping"),
    ]
    lines = [worker.format(i, level, message) for i, (level, message) in enumerate(story)]
    lines.insert(6, "NoneType: None")
    timeline = summarize(lines).timelines[17]
    assert (timeline.stage, timeline.redelivered, timeline.received) == (Stage.FAILED, True, 2)
    assert timeline.error == "Failed to complete video: not_found" and timeline.row_exists is False
    assert timeline.attempts[-1].stage is Stage.SKIPPED and timeline.attempts[-1].mark_status is None
    assert timeline.judged is timeline.attempts[0]
    assert timeline.judged.seconds == 4 * 60  # lock acquired (14:01) to its last line (14:05): one attempt
    # A skip of a row the API reset (a retry: status UPLOADED, then PENDING) is no redelivery of the failure.
    retried = [*lines, worker.format(30, "INFO", story[0][1].replace("a1", "c3"))]
    retried += [worker.format(31, "WARNING", "Cannot mark video 17 as PROCESSING: status=PENDING"), lines[-1]]
    assert summarize(retried).timelines[17].stage is Stage.SKIPPED
