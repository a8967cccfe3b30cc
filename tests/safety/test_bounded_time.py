"""Proof 3 — bounded time: a dead dependency costs its timeout once, and the run still answers.

For each dependency (AWS endpoint, R2 endpoint, Redis, database, API, Docker socket) a black hole — a server
that accepts connections and never answers — replaces it, and ``pytest -m live`` must:

- finish within ``--runbook-timeout`` plus a constant for start-up (wall time of the subprocess);
- spend that timeout once for the dependency, not once per check: with every probe started together and
  shared, at most one check waits about a timeout (per-check durations from the JUnit XML; re-probing per
  check makes every check that needs the dependency wait the full timeout);
- say ``timeout`` and name the dependency in the layers that need it, and judge every other layer as
  with everything up.

The same for a refused port and a host name that does not resolve, for all dependencies at once (they fail
fast; the point is that nothing waits on them and the verdict still comes).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from blackhole import UNRESOLVABLE_HOST, BlackHole, refused_port
from safety_harness import (
    DEPENDENCIES,
    MARKER,
    LiveRun,
    Production,
    check_durations,
    judged_without,
    run_with_dead,
)

from runbook.config import side_from_env
from runbook.evidence import Evidence
from runbook.target import Target

#: ``--runbook-timeout``: the documented default.
TIMEOUT = 3.0
#: Interpreter and plugin start-up, the report, a loaded 2-core machine: 15 s, or what a run with everything
#: up costs on this machine right now plus 5 s, if that is more (other jobs share the cores). Still well below
#: TIMEOUT x the checks that need one dependency (up to 8), which the per-check durations below pin down.
SLACK = float(os.environ.get("SAFETY_SLACK", "15"))

pytestmark = pytest.mark.timeout(300)

#: Every probe of a run (``evidence_seconds`` lists those that finished before the session ended).
PLAN = Evidence(Target(mode="live", api=side_from_env({}, "api"))).keys()


def bound(baseline: LiveRun) -> float:
    return TIMEOUT + max(SLACK, baseline.elapsed + 5)


def _bounded(run: LiveRun, baseline: LiveRun) -> None:
    limit = bound(baseline)
    assert run.elapsed <= limit, (
        f"took {run.elapsed:.1f}s > {limit:.1f}s (everything up: {baseline.elapsed:.1f}s)\n" + run.tail()
    )


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
            limit=bound(baselines[marker]) + 30,
        )
    assert hole.accepted >= 1, f"nothing connected to the black hole: {dependency} was not probed"
    _bounded(run, baselines[marker])
    problems = judged_without(run, baselines[marker], [dependency], "timeout")
    assert not problems, "\n".join(problems)
    # Once per dependency: the first check that needs it waits (at most) a timeout; the rest find the answer.
    waited = {name: t for name, t in check_durations(run).items() if t >= 0.75 * TIMEOUT}
    usual = {name for name, t in check_durations(baselines[marker]).items() if t >= 0.75 * TIMEOUT}
    assert len(set(waited) - usual) <= 1, f"several checks waited ~{TIMEOUT}s for {dependency}: {waited}"
    # And no probe paid it twice (a retry, a second attempt): one connection per probe that waited.
    seconds = (run.verdict or {}).get("evidence_seconds", {})
    unfinished = set(PLAN) - set(seconds)  # still waiting when the session ended (probes no check needed)
    waiting = [key for key, t in seconds.items() if t >= 0.75 * TIMEOUT] + sorted(unfinished)
    assert hole.accepted <= len(waiting), f"{hole.accepted} connections for the probes {waiting}: a retry?"


@pytest.mark.parametrize("how", ["refused", "unresolvable"])
def test_every_dependency_dead_still_gives_a_verdict(
    production: Production, baselines: dict[str, LiveRun], tmp_path: Path, how: str
) -> None:
    """Everything refused (or not resolvable) at once: the run answers at once; the log-based layers are
    judged as usual, the rest say which dependency is unreachable."""
    if how == "refused":
        with refused_port() as port:
            run = run_with_dead(
                production,
                tmp_path,
                DEPENDENCIES,
                "127.0.0.1",
                port,
                "docker",
                TIMEOUT,
                limit=bound(baselines["docker"]) + 30,
            )
    else:
        run = run_with_dead(
            production,
            tmp_path,
            DEPENDENCIES,
            UNRESOLVABLE_HOST,
            9,
            "docker",
            TIMEOUT,
            limit=bound(baselines["docker"]) + 30,
        )
    _bounded(run, baselines["docker"])
    # The API is asked only about videos the (dead) database says are READY: it cannot be named here.
    named = [dependency for dependency in DEPENDENCIES if dependency != "api"]
    problems = judged_without(run, baselines["docker"], DEPENDENCIES, "unreachable", named)
    assert not problems, "\n".join(problems)
    judged = [layer for layer, state in run.layers.items() if state != "unknown"]
    assert {"worker-config", "processing", "api-enqueue"} <= set(judged), run.layers
