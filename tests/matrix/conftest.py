"""The fault matrix: each CONTRACT fault injected into its own rehearsal, the verdict compared.

Each case is a separate ``pytest`` run of the checks (its own stack: queues, Redis, database, worker), so
cases are isolated and the matrix can run under pytest-xdist in any order. The table of (row, fault,
expected, got) is printed at the end and written to ``reports/fault-matrix-<backend>.md``.

Each test worker keeps a :class:`~rehearsal_runner.RehearsalHost` for its rehearsals: moto servers that
every stack resets before use, and a pre-loaded process each rehearsal is forked from (see
``rehearsal_runner``; ``MATRIX_SHARED_MOTO=0`` / ``MATRIX_ZYGOTE=0`` turn either off).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from rehearsal_runner import RehearsalHost, run_rehearsal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rehearsal_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RehearsalHost]:
    host = RehearsalHost(tmp_path_factory.mktemp("rehearsal-host")).start()
    try:
        yield host
    finally:
        host.close()


@pytest.fixture
def rehearse(tmp_path: Path, rehearsal_host: RehearsalHost) -> Callable[..., tuple[dict, str]]:
    """``rehearse(fault, backend=..., extra=(...))``: one isolated rehearsal -> (verdict, output)."""
    return partial(run_rehearsal, tmp_path, host=rehearsal_host)


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == "matrix-row":
            _ROWS.append(tuple(value))  # type: ignore[arg-type]


_ROWS: list[tuple] = []  # type: ignore[type-arg]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    rows = sorted(_ROWS)
    if not rows:
        return
    lines = ["| row | fault | expected | got | seconds |", "|---|---|---|---|---|"]
    lines += [f"| {r} | {f} | {e} | {g}{'' if e == g else ' ✘'} | {s:.1f} |" for r, f, e, g, s in rows]
    terminalreporter.write_sep("=", "fault matrix")
    for line in lines:
        terminalreporter.write_line(line)
    out = ROOT / "reports" / f"fault-matrix-{os.environ.get('MATRIX_BACKEND', 'embedded')}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
