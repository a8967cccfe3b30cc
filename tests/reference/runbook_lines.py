"""The runbook's literal log lines, read from ``docs/runbook.ko.md`` itself (test-side only).

The stand-in pipeline is judged against the runbook's text, so this module imports nothing from
``reference/``: a typo in the worker cannot hide behind the same typo in a shared constant.

Where log lines are in the runbook:

- tables with a column whose header contains 로그 (§5 "로그 패턴", §9 "Handler 로그");
- headings made of one code span (appendix ``### `[HANDLER] Cannot mark video N ...` ``);
- code spans with a space or ``=`` on a prose line that talks about logs (§3 "로그 맨 앞부분에
  `config error`", §6, appendix).

Placeholders become wildcards: ``...``, ``<id>``, a bare ``N``, and the value of every ``key=value``
(the runbook's ``queue=academy-video-jobs | wait_time=20`` are the production values, not the format).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.ko.md"

_CODE_SPAN = re.compile(r"`([^`]+)`")
_HEADING_SPAN = re.compile(r"^#{1,6}\s+`([^`]+)`\s*$")
# Tokens, tried in order at each position of a runbook line.
_TOKENS = re.compile(
    r"(?P<ellipsis>\.\.\.)"
    r"|(?P<angle><[^<>\s]+>)"
    # A value is an example only where a value can end: end of line, `|`, `,` or the next `key=`;
    # `error=Failed to complete video` is message text, not an example value.
    r"|(?P<value>(?<==)[A-Za-z0-9_./-]+(?=$|\s*\||,|\s+\w+=))"
    r"|(?P<n>\bN\b)"
)


@dataclass(frozen=True)
class LogPattern:
    """One runbook log line: its raw text, where it was found, and a regex for emitted messages."""

    raw: str
    section: str
    regex: re.Pattern[str]

    @property
    def anchor(self) -> str:
        """The literal text before the first placeholder: a message containing it claims to be this line."""
        match = _TOKENS.search(self.raw)
        return self.raw[: match.start()] if match else self.raw

    def matches(self, message: str) -> bool:
        """True when ``message`` contains this line (log lines carry more after the runbook's text)."""
        return self.regex.search(message) is not None


def to_regex(raw: str) -> re.Pattern[str]:
    """Runbook text -> regex: literal text escaped, placeholders as wildcards."""
    parts: list[str] = []
    pos = 0
    for match in _TOKENS.finditer(raw):
        parts.append(re.escape(raw[pos : match.start()]))
        kind = match.lastgroup
        if kind == "ellipsis":
            parts.append(r".+?")
        elif kind == "n" or kind == "angle":
            parts.append(r"\d+")
        else:
            value = match.group()
            # `row exists=True/False` lists the alternatives; any other value is an example.
            if "/" in value and all(word.isalpha() for word in value.split("/")):
                parts.append("(?:" + "|".join(map(re.escape, value.split("/"))) + ")")
            else:
                parts.append(r"[^\s|,]+")
        pos = match.end()
    parts.append(re.escape(raw[pos:]))
    return re.compile("".join(parts))


def _cells(row: str) -> list[str]:
    """Split a Markdown table row on unescaped pipes."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def extract(text: str | None = None) -> list[LogPattern]:
    """All log lines of the runbook, in document order, duplicates dropped."""
    text = RUNBOOK.read_text(encoding="utf-8") if text is None else text
    found: list[tuple[str, str]] = []
    section = ""
    log_column: int | None = None
    in_code_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code_block = not in_code_block
            continue
        if in_code_block:
            continue
        if line.startswith("## "):
            section = line[3:].strip()
        heading = _HEADING_SPAN.match(line)
        if heading:
            found.append((heading.group(1), section))
            continue
        if line.startswith("|"):
            cells = _cells(line)
            if all(set(cell) <= set("-: ") for cell in cells):
                continue  # the |---|---| separator
            if log_column is None and any("로그" in cell for cell in cells):
                log_column = next(i for i, cell in enumerate(cells) if "로그" in cell)
                continue  # the header row itself
            if log_column is not None and log_column < len(cells):
                found += [(span, section) for span in _CODE_SPAN.findall(cells[log_column])]
            continue
        log_column = None  # a table ended
        if "로그" in line:
            # Prose also quotes file paths and variable names near the word 로그; a log line has a
            # space or a key=value in it.
            found += [(span, section) for span in _CODE_SPAN.findall(line) if " " in span or "=" in span]
    seen: set[str] = set()
    patterns = []
    for raw, where in found:
        raw = raw.replace("\\|", "|").strip()
        if raw not in seen:
            seen.add(raw)
            patterns.append(LogPattern(raw, where, to_regex(raw)))
    return patterns


class RunbookLog:
    """Lookup over the extracted lines: ``line("SQS_JOB_COMPLETED")`` is the runbook's full form."""

    def __init__(self, patterns: list[LogPattern] | None = None) -> None:
        self.patterns = extract() if patterns is None else patterns

    def line(self, start: str) -> LogPattern:
        """The runbook line whose text is ``start``, else the longest one starting with it."""
        candidates = [p for p in self.patterns if p.raw.startswith(start)]
        if not candidates:
            raise LookupError(f"the runbook has no log line starting with {start!r}")
        exact = [p for p in candidates if p.raw == start]
        return exact[0] if exact else max(candidates, key=lambda p: len(p.raw))

    def nonconforming(self, messages: list[str]) -> list[tuple[str, list[str]]]:
        """Messages that contain a runbook line's anchor but match none of the lines with that anchor:
        the emitted text drifted from the runbook (a typo after a correct prefix)."""
        bad = []
        for message in messages:
            claimed = [p for p in self.patterns if p.anchor and p.anchor in message]
            if claimed and not any(p.matches(message) for p in claimed):
                bad.append((message, [p.raw for p in claimed]))
        return bad
