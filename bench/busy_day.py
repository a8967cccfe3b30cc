"""Issue 16: a busy day rehearsed. No false alarm on a healthy busy day, every fault named right mid-day.

    python -m bench.busy_day [--short] [--days 20] [--videos 40] [--faults all|none|ID,ID] [--seed 1] [-j 1]

Each day is one rehearsal (``pytest checks --backend embedded --busy-day SEED``, a process of its own, its own
stack): ``reference.stack.busy_day`` drives a seeded day of mixed traffic through the stand-in (uploads through
two API instances, short and long videos, duplicate deliveries, retries, deletes, worker restarts with log
rotation, a SIGKILL, the second API's log rotated), then the checks judge it. Healthy days use seeds
``SEED .. SEED+days-1``; the fault days inject each CONTRACT fault (rows 1-23) mid-day into the day of seed
``SEED+days+i``: the same arguments give the same days, event for event.

Days share what they can without sharing state: the moto servers (reset per day) and a pre-loaded process
each day is forked from (``tests/matrix/rehearsal_runner.py``, as the fault matrix runs).

Prints the false-alarm rate (healthy days whose verdict is not healthy / healthy days; target 0) and the
accuracy (faults whose root cause is the expected one / faults injected; target 1), every wrong verdict (seed,
fault, got, expected, the verdict's message), and the wall time. Each day's verdict is kept under
``reports/busy-day/`` (``--keep``: the whole rehearsal directory, logs included). The short form (what CI
runs): 1 healthy day and 1 fault, 12 videos a day; ``tests/matrix/test_busy_day.py`` runs 2 days and 3 faults.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Queue
from typing import Any

from bench._common import ROOT, header, info, loadavg, main_wrapper, parser, ratio_line

NAME = "busy_day"
SHORT_FAULTS = ("api-skip-enqueue",)
REPORTS = ROOT / "reports" / "busy-day"


def contract_faults() -> list[str]:
    """Every fault of CONTRACT's matrix (rows 1-23; the fleet's boot rows are judged on a fleet, not here)."""
    from reference.stack import FAULTS

    return [f.id for f in FAULTS.values() if 1 <= f.row <= 23]


def got(verdict: dict[str, Any]) -> str:
    root = verdict.get("root_cause") or {}
    return "healthy" if verdict.get("healthy") else f"{root.get('layer')}/{root.get('cause')}"


def run_day(host: Any, work: Path, seed: int, fault: str | None, videos: int, workers: int = 1) -> dict[str, Any]:
    from rehearsal_runner import run_rehearsal  # tests/matrix, on sys.path (see main)

    # No ':' (config-missing:VAR) in the name: the day's bin directory goes on the worker's PATH.
    day_dir = work / f"day-{seed}-{(fault or 'healthy').replace(':', '-')}"
    day_dir.mkdir(parents=True)
    started = time.monotonic()
    extra = ("--busy-day", str(seed), "--busy-day-videos", str(videos), "--busy-day-workers", str(workers))
    try:
        verdict, output = run_rehearsal(day_dir, fault, backend="embedded", extra=extra, host=host)
    except Exception as exc:  # no verdict: the day itself broke; counted as wrong, with its reason
        verdict, output = {"healthy": False, "root_cause": {"layer": "no-verdict", "cause": type(exc).__name__,
                                                            "message": str(exc)[-600:]}}, str(exc)  # fmt: skip
    summary = next(day_dir.glob("tmp/rehearsal*/busy-day.json"), None)
    day = json.loads(summary.read_text()) if summary else {}
    day.pop("plan", None)
    return {
        "seed": seed,
        "fault": fault,
        "expected": "healthy" if fault is None else _cause(fault),
        "got": got(verdict),
        "message": ((verdict.get("root_cause") or {}).get("message") or "")[:400],
        "seconds": round(time.monotonic() - started, 1),
        "day": day,
        "dir": str(day_dir),
        "tail": output[-1500:] if got(verdict).startswith("no-verdict") else "",
    }


def _cause(fault: str) -> str:
    from reference.stack import resolve

    return resolve(fault).cause


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--days", type=int, default=None, help="healthy days (default 20; short: 1)")
    p.add_argument("--videos", type=int, default=None, help="videos uploaded per day (default 40; short: 12)")
    p.add_argument("--faults", default=None, help="all (default), none, or fault ids separated by commas")
    p.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    p.add_argument("--workers", type=int, default=1, help="workers on each day (2: a second until the fault)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="days run side by side (default 1: 2 shared cores)")
    p.add_argument("--keep", action="store_true", help="keep every day's rehearsal directory (logs, DB summary)")
    args = p.parse_args()

    def body() -> None:
        days = args.days if args.days is not None else (1 if args.short else 20)
        videos = args.videos if args.videos is not None else (12 if args.short else 40)
        wanted = args.faults or ("short" if args.short else "all")
        faults = {"all": contract_faults(), "none": [], "short": list(SHORT_FAULTS)}.get(
            wanted, [f for f in wanted.split(",") if f]
        )
        header(
            NAME, args.short, days=days, faults=len(faults), videos=videos, workers=args.workers, seed=args.seed,
            jobs=args.jobs,
        )  # fmt: skip
        cases = [(args.seed + i, None) for i in range(days)]
        cases += [(args.seed + days + i, fault) for i, fault in enumerate(faults)]
        sys.path.insert(0, str(ROOT / "tests" / "matrix"))
        from rehearsal_runner import RehearsalHost

        work = Path(tempfile.mkdtemp(prefix="busy-day-"))
        started = time.monotonic()
        hosts: Queue[Any] = Queue()
        for i in range(max(1, args.jobs)):
            (work / f"host-{i}").mkdir()
            hosts.put(RehearsalHost(work / f"host-{i}").start())

        def one(case: tuple[int, str | None]) -> dict[str, Any]:
            host = hosts.get()
            try:
                result = run_day(host, work, case[0], case[1], videos, args.workers)
            finally:
                hosts.put(host)
            mark = "ok" if result["got"] == result["expected"] else "WRONG"
            d = result["day"]
            info(
                NAME,
                f"seed {result['seed']:>3} {result['fault'] or 'healthy':<28} got {result['got']:<38} {mark} "
                f"({result['seconds']:.0f}s; {d.get('videos', '?')} videos, events {d.get('events', {})})",
            )
            return result

        try:
            with ThreadPoolExecutor(max(1, args.jobs)) as pool:
                results = list(pool.map(one, cases))
        finally:
            while not hosts.empty():
                hosts.get().close()
        wall = time.monotonic() - started
        _report(results, wall, days, faults, videos, args)
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
        if args.keep:
            info(NAME, f"rehearsals kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    return main_wrapper(NAME, body)


def _report(results: list[dict[str, Any]], wall: float, days: int, faults: list[str], videos: int, args: Any) -> None:
    healthy = [r for r in results if r["fault"] is None]
    faulty = [r for r in results if r["fault"] is not None]
    alarms = [r for r in healthy if r["got"] != "healthy"]
    right = [r for r in faulty if r["got"] == r["expected"]]
    wrong = alarms + [r for r in faulty if r["got"] != r["expected"]]
    for r in wrong:
        info(NAME, f"WRONG seed {r['seed']} fault {r['fault'] or 'none'}: got {r['got']}, expected {r['expected']}")
        info(NAME, f"      {r['message']}")
        if r["tail"]:
            info(NAME, f"      {r['tail'][-600:]}")
    uploads = sum(int(r["day"].get("events", {}).get("upload", 0)) for r in results)
    info(NAME, f"{len(results)} days, {uploads} videos uploaded in all, wall {wall:.0f}s ({loadavg()} at the end)")
    if healthy:
        ratio_line(NAME, f"false-alarm rate ({len(alarms)}/{len(healthy)} healthy days)",
                   len(alarms) / len(healthy), "≤", 0)  # fmt: skip
    if faulty:
        ratio_line(NAME, f"accuracy ({len(right)}/{len(faulty)} faults named right)",
                   len(right) / len(faulty), "≥", 1)  # fmt: skip
    info(NAME, f"wall time {wall:.0f}s for {len(results)} days of {videos} videos (-j {args.jobs})")


if __name__ == "__main__":
    sys.exit(main())
