"""Target 4: every row of the fault matrix on embedded backends, two at a time, within 3 minutes here.

    python -m bench.fault_matrix [--short] [-n 2]

Runs ``python -m pytest tests/matrix/test_fault_matrix.py::test_fault_is_diagnosed -n 2`` (each row is
its own rehearsal in a subprocess) with ``MATRIX_BACKEND=embedded`` and prints each row's time from the
matrix table. The short form runs four rows (healthy, stale-lock, and two that delete what the next row on
the same shared moto server needs: queue-deleted, lambda-deleted) and scales the budget to them (3 min × rows
run / all rows); it puts back the full ``reports/fault-matrix-embedded.md`` it overwrites.
The whole pytest output goes to ``reports/fault-matrix-bench.log``; a failed row's reason is printed.

``--no-shared-moto`` / ``--no-zygote`` turn off the matrix's two start-up savings (``tests/matrix/
rehearsal_runner.py``: moto servers shared per test worker, rehearsals forked from a pre-loaded process)
to measure what each one buys.

Target: wall / 3 min ≤ 1 (short: wall / scaled budget ≤ 1).
"""

from __future__ import annotations

import os
import re
import sys

from bench._common import ROOT, header, info, main_wrapper, parser, ratio_line, timed_run

NAME = "fault_matrix"
BUDGET = 180.0
SHORT_ROWS = ("healthy", "stale-lock", "queue-deleted", "lambda-deleted")
_ROW = re.compile(r"^\| (\d+) \| (\S+) \| (\S+) \| (.+?) \| ([\d.]+) \|$")


def main() -> int:
    p = parser(__doc__)
    p.add_argument("-n", "--workers", default="2", help="pytest-xdist workers (default 2)")
    p.add_argument(
        "--pytest-addopts",
        default="",
        help="PYTEST_ADDOPTS for the matrix and every row's rehearsal (e.g. '-p no:hypothesispytest')",
    )
    p.add_argument("--no-shared-moto", action="store_true", help="every row starts its own moto servers")
    p.add_argument("--no-zygote", action="store_true", help="every row is a new 'python -m pytest' process")
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
            moto="per row" if args.no_shared_moto else "shared per worker",
            rehearsal="python -m pytest" if args.no_zygote else "forked from a pre-loaded process",
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
            env["MATRIX_SHARED_MOTO"] = "0" if args.no_shared_moto else "1"
            env["MATRIX_ZYGOTE"] = "0" if args.no_zygote else "1"
            if args.pytest_addopts:
                env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} {args.pytest_addopts}".strip()
            wall, proc = timed_run(argv, env=env, timeout=1800)
        finally:
            if saved is not None:
                report.write_bytes(saved)
        log = ROOT / "reports" / "fault-matrix-bench.log"
        log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
        rows = [m.groups() for m in map(_ROW.match, proc.stdout.splitlines()) if m]
        if not rows:
            raise RuntimeError(f"no matrix table in the output (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
        for row, fault, expected, got, seconds in rows:
            mark = "" if got == expected else f"   got {got}"
            info(NAME, f"row {row:>2} {fault:<38} {float(seconds):5.1f}s{mark}")
        for line in proc.stdout.splitlines():
            if line.startswith(("FAILED ", "ERROR ")):  # pytest's short summary: the row and its first line
                info(NAME, line[:300])
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
