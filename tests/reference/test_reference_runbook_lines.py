"""The runbook's log lines as the self-tests read them (no process needed)."""

from __future__ import annotations

from runbook_lines import RunbookLog, extract, to_regex

RB = RunbookLog()


def test_every_runbook_log_line_the_pipeline_emits_is_extracted() -> None:
    raws = {p.raw for p in RB.patterns}
    assert {
        "config error",
        "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20",
        "SQS unavailable (AWS credentials invalid or missing?)",
        "SQS_MESSAGE_RECEIVED | request_id=... | video_id=... | tenant_id=...",
        "[HANDLER] Lock acquired, marking as PROCESSING video_id=...",
        "[HANDLER] process_fn completed video_id=... hls_path=...",
        "SQS_JOB_COMPLETED | request_id=... | video_id=...",
        "SQS_JOB_FAILED | request_id=... | video_id=...",
        "Video processing failed: video_id=...",
        "Video job enqueued: video_id=<id>",
        "[HANDLER] Lock acquisition failed, skipping",
        "[HANDLER] Cannot mark video N as PROCESSING, skipping",
        "[HANDLER] Cancel requested for video_id=N, skipping",
        "Video processing failed: video_id=N, error=Failed to complete video: not_found",
        "row exists=True/False",
    } <= raws
    # File paths and variable names quoted near the word 로그 are not log lines.
    assert not any(raw.endswith(".py") or raw in ("API_BASE_URL", "complete_video") for raw in raws)


def test_placeholders_are_wildcards_and_literal_text_is_exact() -> None:
    started = RB.line("Video Worker (SQS) started")
    assert started.matches("Video Worker (SQS) started | queue=my-queue | wait_time=1")
    assert not started.matches("Video Worker (SQS) started | queue=my-queue")
    cannot = RB.line("[HANDLER] Cannot mark video")
    assert cannot.matches("[HANDLER] Cannot mark video 111 as PROCESSING, skipping")
    assert not cannot.matches("[HANDLER] Cannot mark video 111 as PROCESING, skipping")
    assert to_regex("row exists=True/False").search("row exists=False")
    assert not to_regex("row exists=True/False").search("row exists=maybe")
    not_found = RB.line("Video processing failed: video_id=N, error=")
    assert not not_found.matches("Video processing failed: video_id=5, error=ffmpeg exited with code 1")


def test_nonconforming_catches_drift_after_a_correct_prefix() -> None:
    messages = [
        "SQS_JOB_COMPLETED | request_id=abc | video_id=5",
        "[HANDLER] Cannot mark video five as PROCESSING, skipping",
        "unrelated line",
    ]
    assert [m for m, _ in RB.nonconforming(messages)] == [messages[1]]


def test_extract_reads_tables_headings_and_prose() -> None:
    text = "\n".join(
        [
            "## 5. x",
            "| 로그 패턴 | 의미 |",
            "|---|---|",
            "| `A \\| b=...` | `not a log` |",
            "",
            "### `Heading line N`",
            "- 로그에 `some text` 와 `path.py`",
            "```",
            "`in code` 로그",
            "```",
        ]
    )
    assert [p.raw for p in extract(text)] == ["A | b=...", "Heading line N", "some text"]
