"""Child process of ``bench.log_timeline``: summarize one log file, report time and peak memory as JSON.

    python -m bench._summarize_run PATH

Prints ``{"seconds", "lines", "events", "videos", "rss_self_mb", "rss_children_mb"}``: the peak resident
set of this process and of the largest of its children (the parallel scan's worker processes), from
``resource.getrusage`` (``RUSAGE_SELF`` / ``RUSAGE_CHILDREN``; kilobytes on Linux).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from runbook.logs import open_lines, summarize


def main() -> int:
    path = sys.argv[1]
    started = time.perf_counter()
    with open_lines(path) as lines:
        summary = summarize(lines, source=path)
    seconds = time.perf_counter() - started
    mb = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "lines": summary.lines,
                "events": summary.events,
                "videos": len(summary.timelines),
                "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mb,
                "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / mb,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
