"""The hermetic stack: the whole video pipeline of the runbook, isolated in a work dir.

    from reference.stack import Stack, FAULTS
    with Stack("embedded", faults=["stale-lock"]) as stack:     # or "containers"
        result = stack.scenario.run()                            # flow + bounded wait for the end state
        stack.api_env, stack.worker_env, stack.worker_env_file   # what the checks are pointed at
        stack.worker_log, stack.api_log, stack.deployment, stack.services, stack.backend

``Stack(backend="embedded"|"containers", faults=(), *, workdir=None, keep_workdir=False, worker_cmd=None,
worker_image=None, worker_container="academy-video-worker", redis_image="redis:7", postgres_image="postgres:15",
app=None)``; ``app`` (``hooks.UserCode``): the user's migrations, seed, enqueue and API in place of the stand-in's.

Modules: ``stack`` (Stack and its lifecycle), ``plan`` (what faults change), ``clients`` (helpers mixed
into Stack: API calls, queue/bucket/Redis/DB views, logs, ``scaler_tick``), ``scenario`` (the flow and its
bounded wait), ``faults`` + ``fault_steps`` (the CONTRACT fault matrix), ``aws`` (moto AWS + R2 emulators),
``moto_server`` (the moto child process, IAM auth enforced), ``redis_``, ``database``, ``containers``,
``media`` (ffmpeg, clips, HLS checks), ``processes`` (child processes, ``wait_for``), ``lifecycle``
(atexit/SIGTERM safety net), ``hooks`` + ``hook_faults`` (the user's own code around the stack, the PR gate).
No pytest imports.
"""

from reference.stack.faults import FAULTS, HEALTHY, Fault, by_row, resolve
from reference.stack.media import decode_ok, make_clip, playlist_durations
from reference.stack.plan import Plan
from reference.stack.processes import wait_for
from reference.stack.scenario import Scenario, ScenarioResult
from reference.stack.stack import Stack

__all__ = [
    "FAULTS",
    "HEALTHY",
    "Fault",
    "Plan",
    "Scenario",
    "ScenarioResult",
    "Stack",
    "by_row",
    "decode_ok",
    "make_clip",
    "playlist_durations",
    "resolve",
    "wait_for",
]
