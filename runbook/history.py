"""A run-by-run history of verdicts (JSON lines) and the strip of recent runs that the report shows.

Each line is one run: ``{"time", "mode", "healthy", "root_cause", "section", "failed"}``; ``root_cause`` is
``layer/cause`` or ``null``. Only ids and counts are kept (never messages or commands), so the file holds
nothing secret and can be cached between scheduled canary runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from runbook.texts import LABELS
from runbook.verdict import Verdict

log = logging.getLogger(__name__)

#: Runs shown in the report's strip.
SHOWN = 30
#: Bytes read from the end of a history file: enough for far more than ``SHOWN`` lines.
_TAIL = 256 * 1024

_COLORS = {True: "#1a7f37", False: "#cf222e"}


@dataclass(frozen=True)
class Run:
    """One run's verdict, reduced to what the strip needs."""

    time: str  # ISO 8601, UTC
    mode: str
    healthy: bool
    root_cause: str | None = None  # "layer/cause"
    section: str | None = None
    failed: int = 0

    @classmethod
    def of(cls, v: Verdict, now: datetime | None = None) -> Run:
        root = v.root_cause
        return cls(
            time=(now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
            mode=v.mode,
            healthy=v.healthy,
            root_cause=None if root is None else f"{root.layer}/{root.cause or 'error'}",
            section=None if root is None else root.section,
            failed=sum(1 for c in v.checks if c.outcome in ("failed", "error")),
        )


def append(path: str | Path, run: Run) -> None:
    """Add ``run`` as the last line of the history file (created with its folder when missing)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(run), ensure_ascii=False) + "\n")


def read(path: str | Path, limit: int = SHOWN) -> list[Run]:
    """The last ``limit`` runs of the file, oldest first; unreadable lines are skipped, a missing file is empty."""
    source = Path(path)
    try:
        with source.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL))
            raw = fh.read()
    except FileNotFoundError:
        return []
    lines = raw.decode("utf-8", "replace").splitlines()
    if len(raw) >= _TAIL:
        lines = lines[1:]  # the first one is probably cut
    runs: list[Run] = []
    for line in lines:
        try:
            doc = json.loads(line)
            runs.append(
                Run(
                    time=str(doc["time"]),
                    mode=str(doc.get("mode", "")),
                    healthy=bool(doc["healthy"]),
                    root_cause=doc.get("root_cause"),
                    section=doc.get("section"),
                    failed=int(doc.get("failed", 0)),
                )
            )
        except (ValueError, KeyError, TypeError):
            log.debug("history %s: skipped a malformed line", source)
    return runs[-limit:]


def strip_html(runs: Sequence[Run], lang: str = "ko") -> str:
    """A row of small squares, oldest first, the last one (this run) outlined; a summary line under it."""
    if not runs:
        return ""
    labels = LABELS[lang]
    cells = []
    for i, run in enumerate(runs):
        what = labels["healthy"] if run.healthy else f"{run.root_cause} {run.section or ''}".strip()
        last = i == len(runs) - 1
        title = f"{run.time} · {run.mode} · {what}" + (f" ({labels['this_run']})" if last else "")
        cells.append(
            f'<li class="rb-run{" rb-run-last" if last else ""}" data-healthy="{str(run.healthy).lower()}" '
            f'style="background:{_COLORS[run.healthy]}" title="{escape(title)}"><span>{escape(title)}</span></li>'
        )
    ok = sum(1 for r in runs if r.healthy)
    summary = labels["history_summary"].format(n=len(runs), ok=ok)
    last_fail = next((r for r in reversed(runs) if not r.healthy), None)
    if last_fail is not None:
        summary += f" · ✘ {last_fail.time} {last_fail.root_cause} {last_fail.section or ''}".rstrip()
    return (
        f'<div class="rb-history" id="rb-history"><b>{escape(labels["history"])}</b>'
        f'<ol class="rb-strip">{"".join(cells)}</ol><div class="rb-history-sum">{escape(summary)}</div></div>'
    )
