"""Proof 5 — degraded, not dead: with one dependency down, every layer that does not need it is judged
exactly as with everything up.

"Down" is a refused port (the service stopped, the host up); the run also keeps proof 3's time bound. With Redis down the queue, worker and
config layers still give their verdicts; with AWS unreachable the Redis and database layers still do; and
so on for each dependency. The layers that need the dead dependency are never ``ok``: their checks name it
(``redis: unreachable: ...``), and a check that passed with everything up fails or is ``unknown`` only
because of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from blackhole import refused_port
from safety_harness import (
    DEPENDENCIES,
    LAYERS_OF,
    MARKER,
    LiveRun,
    Production,
    judged_without,
    run_with_dead,
    slowness,
    time_bound,
)

#: Refused connections fail at once; a larger timeout only makes a slow loaded machine's answers safe.
TIMEOUT = 5.0

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_one_dependency_down_the_rest_is_judged(
    production: Production, baselines: dict[str, LiveRun], tmp_path: Path, dependency: str
) -> None:
    marker = MARKER.get(dependency, "local")
    baseline = baselines[marker]
    with refused_port() as port:
        run = run_with_dead(
            production,
            tmp_path,
            [dependency],
            "127.0.0.1",
            port,
            marker,
            TIMEOUT,
            limit=time_bound(baseline, TIMEOUT) + 30,
        )
    assert not slowness(run, baseline, TIMEOUT), slowness(run, baseline, TIMEOUT)  # proof 3, refused port
    problems = judged_without(run, baseline, [dependency], "unreachable")
    assert not problems, "\n".join(problems)
    untouched = set(baseline.layers) - LAYERS_OF[dependency]
    judged = {layer for layer in untouched if baseline.layers[layer] != "unknown"}
    assert judged, f"nothing left to judge without {dependency}: {baseline.layers}"
    assert {layer: run.layers[layer] for layer in judged} == {layer: baseline.layers[layer] for layer in judged}
