"""Target 5: a 1 GB worker log parsed in constant memory, within 4 × ``grep -c -E`` of the same patterns.

    python -m bench.log_timeline [--short] [--size-mb 1024] [--log EXISTING_FILE]

Writes a synthetic worker log (``bench.synthetic_log``: the runbook's lines in a realistic mix with noise)
to a temporary file, reads it once so both contenders find it in the page cache, then times, alternately:

- ``LC_ALL=C grep -c -E "$GREP_PATTERN" FILE`` (``runbook.logs.GREP_PATTERN``: the parser's own prefilter
  anchors, i.e. the phase patterns);
- ``python -m bench._summarize_run FILE``: ``runbook.logs.summarize(open_lines(FILE))`` in a fresh
  process (interpreter start-up included, as grep's is), which reports its peak RSS and that of its
  worker processes (``resource.getrusage``).

In the full form a 20 MB log is parsed too: memory grows with distinct videos, not with lines.
Targets: parse wall / grep wall ≤ 4; peak RSS ≤ 100 MB.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._common import header, info, main_wrapper, median, parser, ratio_line, timed_run
from bench.synthetic_log import write_log

NAME = "log_timeline"


def generate(path: Path, size_mb: float) -> tuple[int, int]:
    with path.open("w", encoding="utf-8") as out:
        return write_log(out, int(size_mb * (1 << 20)))


def warm(path: Path) -> None:
    with path.open("rb", buffering=0) as f:
        while f.read(8 << 20):
            pass


def grep(path: Path) -> tuple[float, int]:
    from runbook.logs import GREP_PATTERN

    wall, proc = timed_run(["grep", "-c", "-E", GREP_PATTERN, str(path)], env={**os.environ, "LC_ALL": "C"})
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"grep failed ({proc.returncode}): {proc.stderr[-500:]}")
    return wall, int(proc.stdout.strip() or 0)


def parse(path: Path, workers: int | None = None) -> tuple[float, dict[str, Any]]:
    argv = [sys.executable, "-m", "bench._summarize_run", str(path)] + ([str(workers)] if workers else [])
    wall, proc = timed_run(argv, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"summarize failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return wall, result


def _peak(run: dict[str, Any]) -> float:
    return max(float(run["rss_self_mb"]), float(run["rss_children_mb"]))


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--size-mb", type=float, default=None, help="log size (default 1024; short: 20)")
    p.add_argument("--repeat", type=int, default=None, help="timed runs of each (default 2; short: 3)")
    p.add_argument("--log", type=Path, default=None, help="use this log instead of generating one")
    p.add_argument("--dir", type=Path, default=None, help="where to write the synthetic log (default: temp dir)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for summarize(workers=N) (default: the library's choice, which counts the "
        "cores the load average leaves idle)",
    )
    args = p.parse_args()
    size_mb = args.size_mb or (20.0 if args.short else 1024.0)
    repeat = args.repeat or (3 if args.short else 2)

    def body() -> None:
        header(
            NAME,
            args.short,
            size_mb=size_mb if args.log is None else "given",
            repeat=repeat,
            cpus_for_parse=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?",
        )
        with tempfile.TemporaryDirectory(prefix="bench-log-", dir=args.dir) as tmp:
            path = args.log
            if path is None:
                path = Path(tmp) / "worker.log"
                lines, jobs = generate(path, size_mb)
                info(NAME, f"generated {path.stat().st_size / 1e6:.0f} MB: {lines} lines, {jobs} jobs")
            warm(path)
            grep_walls: list[float] = []
            parse_walls: list[float] = []
            runs: list[dict[str, Any]] = []
            matched = 0
            for i in range(repeat):
                for step in ("grep", "parse") if i % 2 == 0 else ("parse", "grep"):
                    if step == "grep":
                        wall, matched = grep(path)
                        grep_walls.append(wall)
                    else:
                        wall, run = parse(path, args.workers)
                        parse_walls.append(wall)
                        runs.append(run)
            last = runs[-1]
            size = path.stat().st_size
            info(
                NAME,
                f"grep -c -E: {median(grep_walls):.2f}s ({', '.join(f'{w:.2f}' for w in grep_walls)}), "
                f"{matched} lines hold an anchor",
            )
            info(
                NAME,
                f"summarize: {median(parse_walls):.2f}s ({', '.join(f'{w:.2f}' for w in parse_walls)}; "
                f"{last['seconds']:.2f}s inside the process), {size / median(parse_walls) / 1e6:.0f} MB/s, "
                f"{last['lines']} lines, {last['events']} events, {last['videos']} videos",
            )
            info(
                NAME,
                f"processes scanning: {last['workers']} ("
                + ("--workers" if args.workers else "available_workers(): the cores the 1-minute load leaves idle")
                + f"); peak RSS: parsing process {last['rss_self_mb']:.0f} MB, largest "
                f"worker process {last['rss_children_mb']:.0f} MB",
            )
            if not args.short and args.log is None:
                small = Path(tmp) / "small.log"
                generate(small, 20)
                _, small_run = parse(small)
                per_video = (_peak(last) - _peak(small_run)) * 1024 / max(last["videos"] - small_run["videos"], 1)
                info(
                    NAME,
                    f"the same parse of a 20 MB log: peak RSS {_peak(small_run):.0f} MB ({small_run['videos']} "
                    f"videos): memory grows with distinct videos (~{per_video:.1f} KB each), not with lines",
                )
            ratio_line(NAME, "parse_wall/grep_wall", median(parse_walls) / median(grep_walls), "≤", 4)
            ratio_line(NAME, "peak_rss_mb", max(_peak(r) for r in runs), "≤", 100)

    return main_wrapper(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
