"""Child process of ``bench.log_timeline``: summarize one log file, report time and peak memory as JSON.

    python -m bench._summarize_run PATH [WORKERS]

``WORKERS`` is passed to ``summarize(..., workers=)``; without it the library chooses.

Prints ``{"seconds", "lines", "events", "videos", "workers", "rss_self_mb", "rss_children_mb"}``: the peak resident
set of this process and of the largest of its descendants (the parallel scan's workers, via the forkserver), from
``resource.getrusage`` (``RUSAGE_SELF`` / ``RUSAGE_CHILDREN``; kilobytes on Linux).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

from runbook.logs import open_lines, summarize
from runbook.logs.parallel import PARALLEL_MIN_BYTES, available_workers


def main() -> int:
    path = sys.argv[1]
    forced = int(sys.argv[2]) if len(sys.argv) > 2 else None
    # What summarize() uses for a file of PARALLEL_MIN_BYTES or more.
    workers = forced if forced is not None else available_workers()
    started = time.perf_counter()
    with open_lines(path) as lines:
        summary = summarize(lines, source=path, workers=forced)
    seconds = time.perf_counter() - started
    # The scan's workers are the forkserver's children: stop it, so that their peak RSS reaches ours.
    from multiprocessing import forkserver

    forkserver._forkserver._stop()
    mb = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "lines": summary.lines,
                "events": summary.events,
                "videos": len(summary.timelines),
                "workers": workers if os.path.getsize(path) >= PARALLEL_MIN_BYTES else 1,
                "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mb,
                "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / mb,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
