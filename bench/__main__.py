"""Run every benchmark, short form by default (what CI runs): ``python -m bench [--full] [names...]``.

Each benchmark runs in its own process, one after another (they would skew each other's figures if run
together); their output is passed through, then the ratio lines are repeated as a summary. Exit 1 only
when a benchmark broke; a missed target is reported, not failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from bench._common import ROOT, loadavg

#: ``name: what = value (target ≤ x) OK|MISS``, as :func:`bench._common.ratio_line` prints it.
RATIO_LINE = re.compile(r"^(\w+): (.+) = (\S+) \(target ([≤≥]) ([\d.]+)\) (OK|MISS)\b")
BENCHMARKS = (
    "live_parallel",
    "dead_dependency",
    "rehearsal",
    "fault_matrix",
    "log_timeline",
    "stuck_videos",
    "cloudwatch_window",
    "busy_day",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="full sizes (minutes to tens of minutes)")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    summary: list[str] = []
    broken: list[str] = []
    for name in names:
        argv = [sys.executable, "-m", f"bench.{name}"] + ([] if args.full else ["--short"])
        print(f"$ {' '.join(argv[1:])}   # {loadavg()}", flush=True)
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout or ():
            print(line, end="", flush=True)
            if RATIO_LINE.match(line):
                summary.append(line.rstrip())
        if proc.wait() != 0:
            broken.append(name)
        print(f"# {name}: {time.perf_counter() - started:.0f}s, exit {proc.returncode}", flush=True)
    print("\n== ratios ==")
    for line in summary:
        print(line)
    if broken:
        print(f"BROKEN: {', '.join(broken)}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
