"""Summarize a large regular file on several cores.

Why: the per-line cost of Python is what separates :func:`~runbook.logs.parser.summarize` from
``grep -c``; a worker log of a gigabyte has room for every core. The file is cut at line starts into
ranges; worker processes find and classify the runbook's lines of their ranges (the expensive part)
and send back compact tuples; this process applies them in file order, so the result is exactly
the one of a sequential pass (same line numbers, same lock-skip attribution).

The workers come from a ``forkserver``: a clean single-threaded process that preloads this module only.
A plain ``fork`` would copy the caller mid-flight: a live run parses the worker log in one evidence thread
while a dozen others talk to AWS and Redis and the main thread writes to the terminal, and a lock one of
them held at the fork stays locked forever in the child (a self-test once hung 300 s that way). The
server costs one interpreter start (about 0.1 s, against seconds of parsing above ``PARALLEL_MIN_BYTES``)
and never imports the caller's ``__main__``, which ``spawn`` would (surprising a script without a
``__main__`` guard). Where it is unavailable the caller falls back to one process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from itertools import pairwise
from typing import BinaryIO, Final

from runbook.logs.classify import EventKind, Fields, classify
from runbook.logs.scan import iter_spans, scan_span
from runbook.logs.summary import Summarizer, timestamp_head

logger = logging.getLogger(__name__)

#: Below this size one process is faster than starting workers.
PARALLEL_MIN_BYTES: Final = 48 << 20
#: Target size of one range: several per worker, so that applying results overlaps the scanning.
_RANGE_BYTES: Final = 32 << 20

_START_METHOD: Final = "forkserver"

_KINDS: Final = tuple(EventKind)
_CODES: Final = {kind: code for code, kind in enumerate(_KINDS)}
# (line number within the range, kind code, video id, fields, raw timestamp head): an int code
# pickles and unpickles far faster than an Enum member.
_Found = tuple[int, int, int | None, Fields, bytes | None]


def available_workers() -> int:
    """Idle cores this process may use, counting itself: 1 where ``forkserver`` is unavailable.

    On a machine already busy (load average near the core count) more processes only add
    overhead, so the count is what the 1-minute load average leaves free, plus this process. Linux's
    autogroup scheduling shares the CPU between sessions, not processes: while other sessions keep
    every core busy, a second process of this one gets no more CPU (bench/RESULTS.md §5: 5.95 s with
    two processes against 4.39 s with one, at a load of 6 on 2 cores).
    """
    import multiprocessing  # here: importing it costs more than parsing a small log

    if _START_METHOD not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    try:
        idle = cores - os.getloadavg()[0] + 1  # the load counts this very process
    except OSError:
        idle = cores
    return max(1, min(cores, int(idle)))


def line_ranges(path: str, start: int, end: int, parts: int) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` of ``path`` into up to ``parts`` ranges that each begin at a line start."""
    cuts = [start]
    with open(path, "rb") as f:
        for i in range(1, parts):
            target = start + (end - start) * i // parts
            if target <= cuts[-1]:
                continue
            f.seek(target - 1)
            # Walk to the end of the line the cut falls in; a cut never splits a line.
            position = target - 1
            while position < end:
                piece = f.read(1 << 16)
                if not piece:
                    position = end
                    break
                newline = piece.find(b"\n")
                if newline >= 0:
                    position += newline + 1
                    break
                position += len(piece)
            if cuts[-1] < position < end:
                cuts.append(position)
    cuts.append(end)
    return list(pairwise(cuts))


def _range_reader(f: BinaryIO, start: int, end: int) -> Callable[[int], bytes]:
    """``read(n)`` over ``[start, end)`` of the open file ``f``."""
    f.seek(start)
    left = end - start

    def read(size: int) -> bytes:
        nonlocal left
        data = f.read(min(size, left)) if left > 0 else b""
        left -= len(data)
        return data

    return read


def _scan_range(task: tuple[str, int, int]) -> tuple[int, list[_Found]]:
    """In a worker: the line count of one range and its classified events."""
    path, start, end = task
    found: list[_Found] = []
    append = found.append
    lines = 0
    with open(path, "rb", buffering=0) as f:
        for data, lo, hi in iter_spans(_range_reader(f, start, end)):
            newlines, candidates = scan_span(data, lo, hi)
            base = lines + 1
            for index, line in candidates:
                raw = classify(line, full=False)
                if raw is not None:
                    append((base + index, _CODES[raw[0]], raw[1], raw[2], timestamp_head(line)))
            lines += newlines + (1 if data[hi - 1] != 10 else 0)  # 10: an unterminated last line
    return lines, found


def summarize_range(summarizer: Summarizer, path: str, start: int, end: int, workers: int) -> bool:
    """Feed ``[start, end)`` of the regular file ``path`` to ``summarizer`` using ``workers`` processes.

    ``start`` must be a line start. Returns ``False``, having fed nothing, when the worker
    processes cannot be started (the caller then reads the file itself). Raises ``OSError`` if the
    file cannot be read.
    """
    parts = max(workers, (end - start) // _RANGE_BYTES)
    tasks = [(path, a, b) for a, b in line_ranges(path, start, end, parts)]
    import multiprocessing

    try:
        context = multiprocessing.get_context(_START_METHOD)
        context.set_forkserver_preload([__name__])  # the workers need this module, never the caller's __main__
        pool = context.Pool(workers)
    except (OSError, ValueError) as exc:  # e.g. a process limit reached
        logger.warning("cannot start %d worker processes (%s); reading %s in this process", workers, exc, path)
        return False
    logger.debug("scanning %s in %d ranges with %d processes", path, len(tasks), workers)
    with pool:
        apply = summarizer.apply
        for lines, found in pool.imap(_scan_range, tasks):
            offset = summarizer.lines
            for line_no, code, vid, fields, ts in found:
                apply(_KINDS[code], vid, fields, ts, offset + line_no)
            summarizer.skip_lines(lines)
    return True
