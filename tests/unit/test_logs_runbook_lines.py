"""The parser recognises the log lines exactly as docs/runbook.ko.md prints them.

The lines are read from the markdown here, not taken from runbook.logs.patterns: a typo in a pattern
cannot hide behind the same typo in a shared constant. Placeholders (``...``, ``N``, ``<id>``) are
replaced with concrete values before parsing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runbook.logs import EventKind, parse_line

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.ko.md"
VIDEO = 111

# Which event each runbook line must give, keyed by words of the line (the test's own knowledge).
EXPECTED = [
    ("Video Worker (SQS) started", EventKind.STARTED),
    ("SQS unavailable", EventKind.SQS_UNAVAILABLE),
    ("SQS_MESSAGE_RECEIVED", EventKind.RECEIVED),
    ("Lock acquired", EventKind.LOCK_ACQUIRED),
    ("process_fn completed", EventKind.PROCESS_COMPLETED),
    ("SQS_JOB_COMPLETED", EventKind.JOB_COMPLETED),
    ("SQS_JOB_FAILED", EventKind.JOB_FAILED),
    ("Video processing failed", EventKind.PROCESSING_FAILED),
    ("Lock acquisition failed", EventKind.SKIP_LOCK),
    ("Cannot mark video", EventKind.SKIP_STATUS),
    ("Cancel requested", EventKind.SKIP_CANCEL),
    ("Video job enqueued", EventKind.ENQUEUED),
    ("config error", EventKind.CONFIG_ERROR),
]


def _section(text: str, heading: str) -> str:
    """The body of the first section whose heading line starts with ``heading``."""
    match = re.search(rf"^#+ {re.escape(heading)}.*?$(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    assert match is not None, f"runbook has no section {heading!r}"
    return match.group(1)


def _table_spans(body: str, column: int) -> list[str]:
    spans = []
    for row in body.splitlines():
        if not row.startswith("|") or set(row) <= set("|- "):
            continue
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        if len(cells) > column:
            spans += re.findall(r"`([^`]+)`", cells[column])
    return spans


def runbook_lines() -> list[tuple[str, str]]:
    """(where, raw text) of every log line the runbook quotes in §3, §5, §6, §9 and the appendix."""
    text = RUNBOOK.read_text(encoding="utf-8")
    found = [("§5", s) for s in _table_spans(_section(text, "5."), 0)]
    found += [("§9", s) for s in _table_spans(_section(text, "9."), 1)]
    found += [("appendix", s) for s in re.findall(r"^### `([^`]+)`\s*$", text, re.M)]
    for where, heading, phrase in (
        ("§3", "3.", "Video Worker"),
        ("§3", "3.", "config error"),
        ("§6", "6.", "Video job"),
    ):
        found += [(where, s) for s in re.findall(r"`([^`]+)`", _section(text, heading)) if s.startswith(phrase)]
    return found


def concrete(raw: str) -> str:
    """A runbook line with its placeholders filled in, as a worker would print it."""
    line = raw.replace("\\|", "|")
    line = re.sub(r"video_id=(?:\.\.\.|<id>|N)", f"video_id={VIDEO}", line)
    line = re.sub(r"(\w+)=\.\.\.", r"\1=x-1", line)
    line = re.sub(r"\bN\b", str(VIDEO), line)
    if line.strip() == "config error":
        line = "config error: R2_ENDPOINT is required"
    return line.replace("config error: ...", "config error: R2_ENDPOINT is required")


def test_the_runbook_quotes_every_line_type() -> None:
    raws = " ".join(raw for _, raw in runbook_lines())
    for words, _ in EXPECTED:
        assert words in raws, f"no runbook line mentions {words!r}: the extraction is broken"


@pytest.mark.parametrize(("where", "raw"), runbook_lines(), ids=lambda v: str(v)[:40])
def test_runbook_line_is_recognised(where: str, raw: str) -> None:
    line = concrete(raw)
    kind = next(kind for words, kind in EXPECTED if words in line)
    for prefix in ("", "2024-05-01T03:00:00.000000001Z 2024-05-01 12:00:00,000 INFO video_worker "):
        event = parse_line(prefix + line)
        assert event is not None, f"{where}: {line!r} not recognised"
        assert event.kind is kind, f"{where}: {line!r}"
        if "video_id=" in line or " video " in line:
            assert event.video_id == VIDEO, f"{where}: {line!r}"
        if "wait_time=20" in line:
            assert event.get("queue") == "academy-video-jobs" and event.get("wait_time") == "20"
        if "not_found" in line:
            assert event.get("error") == "Failed to complete video: not_found"


def test_row_exists_values_the_appendix_names() -> None:
    appendix = RUNBOOK.read_text(encoding="utf-8").split("## 부록")[-2]
    (span,) = {s for s in re.findall(r"`([^`]+)`", appendix) if s.startswith("row exists=")}
    values = span.removeprefix("row exists=").split("/")
    assert values == ["True", "False"]
    for value in values:
        event = parse_line(f"ERROR video_worker complete_video failed: video_id={VIDEO} {span.split('=')[0]}={value}")
        assert event is not None
        assert (event.kind, event.video_id, event.get("row_exists")) == (EventKind.ROW_EXISTS, VIDEO, value)


def test_processing_failed_without_error_text_has_no_error_field() -> None:
    event = parse_line(concrete("Video processing failed: video_id=..."))
    assert event is not None
    assert event.kind is EventKind.PROCESSING_FAILED and event.video_id == VIDEO and event.get("error") is None
