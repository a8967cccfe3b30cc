"""Target 4: every row of the fault matrix on embedded backends, two at a time, within 3 minutes here.

    python -m bench.fault_matrix [--short] [-n 2]

Runs ``python -m pytest tests/matrix/test_fault_matrix.py::test_fault_is_diagnosed -n 2`` (each row is
its own rehearsal in a subprocess) with ``MATRIX_BACKEND=embedded`` and prints each row's time from the
matrix table. The short form runs two rows (healthy and stale-lock) and scales the budget to them
(3 min × rows run / all rows); it puts back the full ``reports/fault-matrix-embedded.md`` it overwrites.

Target: wall / 3 min ≤ 1 (short: wall / scaled budget ≤ 1).
"""

from __future__ import annotations

import os
import re
import sys

from bench._common import ROOT, header, info, main_wrapper, parser, ratio_line, timed_run

NAME = "fault_matrix"
BUDGET = 180.0
SHORT_ROWS = ("healthy", "stale-lock")
_ROW = re.compile(r"^\| (\d+) \| (\S+) \| (\S+) \| (.+?) \| ([\d.]+) \|$")


def main() -> int:
    p = parser(__doc__)
    p.add_argument("-n", "--workers", default="2", help="pytest-xdist workers (default 2)")
    p.add_argument(
        "--pytest-addopts",
        default="",
        help="PYTEST_ADDOPTS for the matrix and every row's rehearsal (e.g. '-p no:hypothesispytest')",
    )
    args = p.parse_args()

    def body() -> None:
        from reference.stack import FAULTS

        total = 1 + len(FAULTS)  # healthy + every fault: the matrix's rows
        selected = len(SHORT_ROWS) if args.short else total
        budget = BUDGET * selected / total
        header(
            NAME,
            args.short,
            rows=f"{selected}/{total}",
            workers=args.workers,
            pytest_addopts=repr(args.pytest_addopts) if args.pytest_addopts else "none",
        )
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "tests/matrix/test_fault_matrix.py::test_fault_is_diagnosed",
            "-q",
            "-n",
            args.workers,
            "-p",
            "no:randomly",
        ]
        if args.short:
            argv += ["-k", " or ".join(SHORT_ROWS)]
        report = ROOT / "reports" / "fault-matrix-embedded.md"
        saved = report.read_bytes() if args.short and report.exists() else None
        try:
            env = {**os.environ, "MATRIX_BACKEND": "embedded"}
            if args.pytest_addopts:
                env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} {args.pytest_addopts}".strip()
            wall, proc = timed_run(argv, env=env, timeout=1800)
        finally:
            if saved is not None:
                report.write_bytes(saved)
        rows = [m.groups() for m in map(_ROW.match, proc.stdout.splitlines()) if m]
        if not rows:
            raise RuntimeError(f"no matrix table in the output (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
        for row, fault, expected, got, seconds in rows:
            mark = "" if got == expected else f"   got {got}"
            info(NAME, f"row {row:>2} {fault:<38} {float(seconds):5.1f}s{mark}")
        row_sum = sum(float(r[4]) for r in rows)
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        info(
            NAME,
            f"{len(rows)} rows in {wall:.1f}s wall (sum of row times {row_sum:.1f}s, "
            f"{row_sum / wall:.2f} rows at a time); pytest: {lines[-1].strip('= ') if lines else proc.returncode}",
        )
        ratio_line(
            NAME,
            f"wall/{budget:.0f}s",
            wall / budget,
            "≤",
            1,
            "" if not args.short else f"  (budget: 180 s × {selected}/{total} rows)",
        )

    return main_wrapper(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
