"""The fault matrix rows that make sense with the user's own code (``reference.stack.hooks``), as flows and
symptoms that read only what any implementation leaves behind: the row's status in the user's table, the
playlist in the bucket, the Redis lock, the queue, whether the worker process runs. No log line is waited
for: the user's worker may word them its own way (the checks read them afterwards).

Each row keeps its id, matrix row and expected cause, and its ``configure`` (the plan edit: a variable
dropped, another queue name, no worker); the flow and the symptom are replaced. Rows that need the stand-in's
own API, schema or switches are refused with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from reference.stack import hooks
from reference.stack.fault_steps import Scenario, Stack, all_of, queue_at_least, queue_empty
from reference.stack.faults import HEALTHY, REQUIRED_WORKER_VARS, Fault, resolve

STALE_LOCK_VALUE = "1"  # what the real idempotency lock holds (SET job:encode:{id}:lock 1 NX EX 14400)
STALE_LOCK_TTL = 14400  # VIDEO_LOCK_TTL_SECONDS' default: 4 h
#: How long a message must stay untouched beside a running worker before "it polls elsewhere" is the symptom:
#: a worker on the right queue takes a message within a long poll's first moments.
UNTOUCHED_FOR = 3.0

SUPPORTED = ("healthy", "stale-lock", "worker-stopped", "queue-name-mismatch", "config-missing:<VAR>")

_WHY_NOT: dict[str, str] = {
    "asg-desired-zero": "an autoscaling row: it rehearses the ASG and the scaler, not your code",
    "asg-max-1": "an autoscaling row: it rehearses the ASG and the scaler, not your code",
    "lambda-deleted": "an autoscaling row: it rehearses the ASG and the scaler, not your code",
    "rule-deleted": "an autoscaling row: it rehearses the ASG and the scaler, not your code",
    "rule-disabled": "an autoscaling row: it rehearses the ASG and the scaler, not your code",
    "api-sqs-unreachable": "it is injected into the stand-in API; your --enqueue-cmd is your own enqueue path",
    "api-skip-enqueue": "it is injected into the stand-in API; your --enqueue-cmd is your own enqueue path",
    "queue-deleted": "its symptom is the stand-in API's 503 on upload/complete",
    "redis-down": "its symptom is read through an API's progress route",
    "redis-db-mismatch": "its symptom is read through an API's progress route",
    "ffmpeg-failing": "your worker finds ffmpeg its own way (FFMPEG_BIN, its image), not on the stack's PATH",
    "ffmpeg-missing": "your worker finds ffmpeg its own way (FFMPEG_BIN, its image), not on the stack's PATH",
}
_NEEDS_STANDIN = "it needs the stand-in's API and schema (status changes, retry, delete, a second schema)"


def faults_for(requested: list[Any]) -> list[Fault]:
    """The rows to rehearse with the user's code (healthy when none); ValueError names what cannot be."""
    rows = [resolve(f) for f in requested] or [HEALTHY]
    if len(rows) > 1:
        raise ValueError("one fault at a time with your own code (--seed-cmd/--enqueue-cmd)")
    return [adapt(rows[0])]


def adapt(fault: Fault) -> Fault:
    if fault.id == HEALTHY.id:
        return replace(fault, symptom=healthy, flow=seeded(1))
    if fault.id == "stale-lock":
        # Three videos, as §9's example: the worker encodes the two others, so it is the lock, not the worker.
        return replace(fault, symptom=stale_lock_symptom, inject=_noop, flow=seeded(3, before_enqueue=stale_lock))
    if fault.id == "worker-stopped":
        return replace(fault, symptom=all_of(_worker_down, queue_at_least(visible=1), _all("UPLOADED")), flow=seeded(1))
    if fault.id == "queue-name-mismatch":
        return replace(fault, symptom=untouched_beside_running_worker(UNTOUCHED_FOR), flow=seeded(1))
    if fault.id.startswith("config-missing:"):
        exited = all_of(_worker_failed, queue_at_least(visible=1), _all("UPLOADED"))
        return replace(fault, symptom=exited, flow=seeded(1))
    why = _WHY_NOT.get(fault.id, _NEEDS_STANDIN)
    raise ValueError(
        f"fault {fault.id!r} cannot be rehearsed with your own code (--seed-cmd/--enqueue-cmd): {why}. "
        f"With your code: {', '.join(SUPPORTED)} (VAR one of {', '.join(REQUIRED_WORKER_VARS)})"
    )


def _noop(_stack: Stack) -> None:
    return None


# --- the flow ---------------------------------------------------------------------------------------------


def seeded(count: int, before_enqueue: Callable[[Stack, list[int]], None] | None = None) -> Callable[[Scenario], None]:
    """``count`` clips uploaded and seeded (ids in ``scenario.videos``), the fault's step, then each enqueued."""

    def flow(sc: Scenario) -> None:
        ids = []
        for n in range(1, count + 1):
            video_id = hooks.upload_and_seed(sc.stack, n)
            sc.videos.append(video_id)
            ids.append(video_id)
        if before_enqueue is not None:
            before_enqueue(sc.stack, ids)
        for video_id in ids:
            sc.record(video_id, hooks.enqueue(sc.stack, video_id))

    return flow


def stale_lock(stack: Stack, ids: list[int]) -> None:
    """The first video's lock, left by a worker that crashed mid-encode: set before its job is enqueued."""
    stack.redis().set(hooks.code_of(stack).lock_key.format(id=ids[0]), STALE_LOCK_VALUE, ex=STALE_LOCK_TTL)


# --- symptoms -----------------------------------------------------------------------------------------------


def healthy(s: Stack, sc: Scenario) -> bool:
    """Every seeded video READY with its playlist in the bucket, its lock released, the queue drained."""
    return all(hooks.encoded(s, v) and not hooks.lock_held(s, v) for v in sc.videos) and queue_empty(s)


def stale_lock_symptom(s: Stack, sc: Scenario) -> bool:
    """The locked video's job was taken and dropped (queue drained), the row still UPLOADED, the lock still
    there; the others encoded."""
    first, *others = sc.videos
    return (
        queue_empty(s)
        and all(hooks.encoded(s, v) for v in others)
        and hooks.video_status(s, first) == "UPLOADED"
        and hooks.lock_held(s, first)
    )


def _all(status: str) -> Callable[[Stack, Scenario], bool]:
    return lambda s, sc: all(hooks.video_status(s, v) == status for v in sc.videos)


def _worker_down(s: Stack) -> bool:
    return not s.worker_running()


def _worker_failed(s: Stack) -> bool:
    """Exited with a non-zero code (a config error exits 1)."""
    code = s.worker_exit_code()
    return not s.worker_running() and code not in (None, 0)


def untouched_beside_running_worker(seconds: float) -> Callable[[Stack, Scenario], bool]:
    """The worker runs, the message waits visible and every video is UPLOADED, all held for ``seconds``."""
    since: list[float] = []
    state = all_of(lambda s: s.worker_running(), queue_at_least(visible=1), _all("UPLOADED"))

    def check(s: Stack, sc: Scenario) -> bool:
        if not state(s, sc):
            since.clear()
            return False
        if not since:
            since.append(time.monotonic())
        return time.monotonic() - since[0] >= seconds

    return check
