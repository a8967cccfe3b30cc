"""The real system's lines (``tests/corpus/production_lines.txt``) as shapes the stand-in's lines must take.

Test-side only, and independent of ``runbook.logs``: each corpus line becomes a pattern in which its values are
wildcards (numbers, ``key=value`` values, the queue's name, anything in parentheses, statuses, and everything after
the first ``: `` or an ``err=``/``cmd=``: the details); a stand-in record conforms when its message matches the pattern of a corpus line
printed at the same level. A phrase, a prefix or a level that drifts from production fails; values may differ.
"""

from __future__ import annotations

import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "production_lines.txt"
_WORKER = re.compile(r"^(?:\S+Z )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[([A-Z]+)\] \[VIDEO-WORKER-SQS\] (.*)$")
_API = re.compile(r"^\[([A-Z]+)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [\w.]+: (.*)$")
_TOKENS = re.compile(
    r"(?P<detail>(?:err|error|cmd|key)=.*)"
    r"|(?P<queue>\bacademy-video-jobs\b)"
    r"|(?P<value>(?<==)[^\s|,]+)"
    r"|(?P<paren>\([^()]*\))"
    r"|(?P<status>\b(?:PENDING|UPLOADED|PROCESSING|READY|FAILED)\b)"
    r"|(?P<number>\d+(?:\.\d+)?)"
)
_WILD = {
    "detail": r"\w+=.*",
    "queue": r"[\w.-]+",
    "value": r"[^\s|,]+",
    "paren": r"\([^()]*\)",
    "status": r"[A-Z]+",
    "number": r"\d+(?:\.\d+)?",
}


def pattern(message: str) -> re.Pattern[str]:
    """A corpus message with its values as wildcards."""
    head, sep, _ = message.partition(": ")
    parts: list[str] = []
    pos = 0
    for m in _TOKENS.finditer(head):
        parts.append(re.escape(head[pos : m.start()]))
        parts.append(_WILD[str(m.lastgroup)])
        pos = m.end()
    parts.append(re.escape(head[pos:]))
    return re.compile("".join(parts) + (r": .*" if sep else r"$"), re.S)


def shapes() -> set[tuple[str, re.Pattern[str]]]:
    """(level, pattern) of every corpus line in the worker's or the API's format."""
    found: set[tuple[str, re.Pattern[str]]] = set()
    for raw in CORPUS.read_text(encoding="utf-8").splitlines():
        if not raw or raw.startswith("#") or raw.split("\t", 1)[0] in ("+", "-"):
            continue
        m = _WORKER.match(raw.split("\t", 3)[3]) or _API.match(raw.split("\t", 3)[3])
        if m:
            found.add((m.group(1), pattern(m.group(2))))
    return found


SHAPES = shapes()


def strays(records: list[tuple[str, str, str, str]]) -> list[str]:
    """The records (time, level, logger, message) whose message has no production shape at its level."""
    return [
        f"[{level}] {message}"
        for _, level, _, message in records
        if not any(level == shape_level and shape.match(message) for shape_level, shape in SHAPES)
    ]
