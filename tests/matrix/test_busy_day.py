"""A busy day rehearsed, short form (issue 16, item 6; the full run is ``python -m bench.busy_day``).

Each case is one rehearsal (``--busy-day SEED``): a seeded day of mixed traffic through the stand-in, then
the checks. Healthy days must be judged healthy; a fault started mid-day must be named. The traffic is
asserted from what the day left behind (its log files, the API's access lines), not from the verdict alone:
a generator that produced no retries, duplicates or restarts would make a healthy verdict worthless.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from reference.stack.busy_day import events

VIDEOS = "20"


def _day(tmp_path: Path) -> Path:
    (workdir,) = [p for p in (tmp_path / "tmp").glob("rehearsal*") if not p.is_symlink()]
    return workdir


def _text(workdir: Path, pattern: str) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(workdir.glob(pattern)))


def _got(verdict: dict) -> str:
    root = verdict["root_cause"]
    return "healthy" if verdict["healthy"] else f"{root['layer']}/{root['cause']}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", [1, 4])
def test_a_healthy_busy_day_is_healthy(rehearse: Callable[..., tuple[dict, str]], tmp_path: Path, seed: int) -> None:
    plan = Counter(e.kind for e in events(seed, int(VIDEOS)))
    assert plan["retry"] and plan["duplicate"] and plan["delete"], f"seed {seed} lacks a kind of traffic: {plan}"
    verdict, output = rehearse(None, extra=("--busy-day", str(seed), "--busy-day-videos", VIDEOS))
    day = _day(tmp_path)
    worker = _text(day, "worker.log*")
    api = _text(day, "api*.log*")

    # Two deploys rotated the worker's log; the second API instance's log was rotated too.
    assert (day / "worker.log.1").exists() and (day / "worker.log.2").exists() and (day / "api-2.log.1").exists()
    # Restarts: two deploys (SIGTERM) and one SIGKILL. Starts = the first + deploys + kills; SIGTERM lines = deploys
    # + the rehearsal's tear-down: a start with no shutdown line before it is the SIGKILL's restart.
    starts, shutdowns = worker.count("Video Worker (SQS) started"), worker.count("Received SIGTERM")
    assert shutdowns >= 3 and starts - shutdowns >= 1, (starts, shutdowns)
    # Duplicate deliveries: a video received twice, the second skipped as already READY.
    received = Counter(re.findall(r"SQS_MESSAGE_RECEIVED \| request_id=\w+ \| video_id=(\d+)", worker))
    assert "VIDEO_ALREADY_READY_SKIP" in worker
    # Retries through the API: accepted, and the video encoded twice (two completions).
    retried = set(re.findall(r'"POST /api/v1/media/videos/(\d+)/retry/ HTTP/1.1" 202', api))
    completed = Counter(re.findall(r"SQS_JOB_COMPLETED \| request_id=\w+ \| video_id=(\d+)", worker))
    assert retried and all(completed[v] >= 2 and received[v] >= 2 for v in retried), (retried, completed)
    # Deletes through the API, and uploads served by both instances.
    assert re.search(r'"DELETE /api/v1/media/videos/\d+/ HTTP/1.1" 2\d\d', api)
    for name in ("api.log", "api-2.log*"):
        assert "Video job enqueued" in _text(day, name), name
    # Long (10 s) and short videos were encoded.
    summary = json.loads((day / "busy-day.json").read_text())
    lengths = {e["seconds"] for e in summary["plan"] if e["kind"] == "upload"}
    assert max(lengths) >= 8 and min(lengths) <= 3

    assert _got(verdict) == "healthy", output[-4000:]


#: A fault started mid-day: §9's stale lock among the day's locks, an API instance that stops enqueueing beside
#: one that still does, and a worker redeployed onto another Redis database.
FAULTS = [(6, "stale-lock"), (5, "api-skip-enqueue"), (7, "redis-db-mismatch")]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("seed", "fault"), FAULTS, ids=[f for _, f in FAULTS])
def test_a_fault_mid_day_is_named(
    rehearse: Callable[..., tuple[dict, str]], tmp_path: Path, seed: int, fault: str
) -> None:
    from reference.stack import resolve

    verdict, output = rehearse(fault, extra=("--busy-day", str(seed), "--busy-day-videos", VIDEOS))
    day = _day(tmp_path)
    # The day happened before the fault: many jobs completed, in rotated files and the current one.
    completed = _text(day, "worker.log*").count("SQS_JOB_COMPLETED")
    assert completed >= int(VIDEOS), completed
    assert _got(verdict) == resolve(fault).cause, output[-4000:]
