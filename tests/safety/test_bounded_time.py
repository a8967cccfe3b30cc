"""Proof 3 — bounded time: a dead dependency costs its timeout once, and the run still answers.

For each dependency (AWS endpoint, R2 endpoint, Redis, database, API, Docker socket) a black hole — a server
that accepts connections and never answers — replaces it, and ``pytest -m live`` must:

- finish within ``--runbook-timeout`` plus a constant for start-up (wall time of the subprocess);
- spend that timeout once for the dependency, not once per check: with every probe started together and
  shared, at most one check waits about a timeout (per-check durations from the JUnit XML; re-probing per
  check makes every check that needs the dependency wait the full timeout);
- say ``timeout`` and name the dependency in the layers that need it, and judge every other layer as
  with everything up.

The same for a host name that does not resolve, for all dependencies at once (it fails fast; the point is
that nothing waits on it and the verdict still comes); refused ports are ``test_degraded.py``'s "down", one
dependency at a time, under the same time bound.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from blackhole import UNRESOLVABLE_HOST, BlackHole
from safety_harness import (
    DEPENDENCIES,
    LAYERS_OF,
    MARKER,
    LiveRun,
    Production,
    check_durations,
    judged_without,
    run_with_dead,
    slowness,
    time_bound,
)

from runbook.config import side_from_env
from runbook.evidence import Evidence
from runbook.target import Target

#: ``--runbook-timeout``: the documented default.
TIMEOUT = 3.0
pytestmark = pytest.mark.timeout(300)


def started(marker: str) -> list[str]:
    """The probes a ``live and <marker>`` run starts (``evidence_seconds`` lists those that finished before the
    session ended; one only another deployment reads is never started, so it is not "still waiting")."""
    return Evidence(Target(mode="live", api=side_from_env({}, "api"), deployments=(marker,))).started_keys()


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_black_hole_costs_its_timeout_once(
    production: Production, baselines: dict[str, LiveRun], tmp_path: Path, dependency: str
) -> None:
    marker = MARKER.get(dependency, "local")
    with BlackHole() as hole:
        run = run_with_dead(
            production,
            tmp_path,
            [dependency],
            hole.host,
            hole.port,
            marker,
            TIMEOUT,
            limit=time_bound(baselines[marker], TIMEOUT) + 30,
        )
    assert hole.accepted >= 1, f"nothing connected to the black hole: {dependency} was not probed"
    assert not slowness(run, baselines[marker], TIMEOUT), slowness(run, baselines[marker], TIMEOUT)
    problems = judged_without(run, baselines[marker], [dependency], "timeout")
    assert not problems, "\n".join(problems)
    # Once per dependency: the first check that needs it waits (at most) a timeout; the rest find the answer.
    # (Re-probing per check makes every one of them wait; checks slow with everything up do not count.)
    needs_it = {c["nodeid"] for c in run.checks() if c["layer"] in LAYERS_OF[dependency]}
    usual = {name for name, t in check_durations(baselines[marker]).items() if t >= 0.75 * TIMEOUT}
    waited = {
        name: t
        for name, t in check_durations(run).items()
        if t >= 0.75 * TIMEOUT and name in needs_it and name not in usual
    }
    assert len(waited) <= 1, f"several checks waited ~{TIMEOUT}s for {dependency}: {waited}"
    # And no probe paid it twice (a retry, a second attempt): one connection per probe that waited.
    seconds = (run.verdict or {}).get("evidence_seconds", {})
    unfinished = set(started(marker)) - set(seconds)  # still waiting when the session ended (no check needed them)
    waiting = [key for key, t in seconds.items() if t >= 0.75 * TIMEOUT] + sorted(unfinished)
    assert hole.accepted <= len(waiting), f"{hole.accepted} connections for the probes {waiting}: a retry?"


def test_every_dependency_unresolvable_still_gives_a_verdict(
    production: Production, baselines: dict[str, LiveRun], tmp_path: Path
) -> None:
    """Every dependency's host name unresolvable at once: the run answers at once; the log-based layers are
    judged as usual, the rest say which dependency is unreachable. (Refused ports: ``test_degraded.py``,
    one dependency at a time, with the same time bound.)"""
    baseline = baselines["docker"]
    limit = time_bound(baseline, TIMEOUT) + 30
    run = run_with_dead(production, tmp_path, DEPENDENCIES, UNRESOLVABLE_HOST, 9, "docker", TIMEOUT, limit=limit)
    assert not slowness(run, baseline, TIMEOUT), slowness(run, baseline, TIMEOUT)
    # The API is asked only about videos the (dead) database says are READY: it cannot be named here.
    named = [dependency for dependency in DEPENDENCIES if dependency != "api"]
    problems = judged_without(run, baselines["docker"], DEPENDENCIES, "unreachable", named)
    assert not problems, "\n".join(problems)
    judged = [layer for layer, state in run.layers.items() if state != "unknown"]
    assert {"worker-config", "processing", "api-enqueue"} <= set(judged), run.layers
