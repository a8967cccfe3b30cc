"""The hermetic stack: the whole video pipeline of the runbook, isolated in a work dir.

    from reference.stack import Stack, FAULTS
    with Stack("embedded", faults=["stale-lock"]) as stack:
        stack.scenario.run()
        stack.api_env, stack.worker_env_file, stack.worker_log, stack.services

Modules: ``stack`` (Stack, Plan, lifecycle), ``clients`` (helpers mixed into Stack), ``scenario`` (the flow
and its bounded wait), ``faults`` (the CONTRACT fault matrix), ``aws`` (moto AWS + R2 emulators),
``moto_server`` (the moto child process), ``redis_``, ``database``, ``containers``, ``media`` (ffmpeg,
clips), ``processes`` (child processes, ``wait_for``). No pytest imports.
"""

from reference.stack.faults import FAULTS, HEALTHY, Fault, by_row, resolve
from reference.stack.media import decode_ok, make_clip, playlist_durations
from reference.stack.processes import wait_for
from reference.stack.scenario import Scenario, ScenarioResult
from reference.stack.stack import Plan, Stack

__all__ = ["FAULTS", "HEALTHY", "Fault", "Plan", "Scenario", "ScenarioResult", "Stack", "by_row",
           "decode_ok", "make_clip", "playlist_durations", "resolve", "wait_for"]
