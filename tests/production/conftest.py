"""Fixtures of the hand-built productions: the servers, shared per module, and one production per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.production.handbuilt import HandBuilt, Servers, servers


@pytest.fixture(scope="module")
def shared_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """A Redis-protocol server, PostgreSQL and a moto server on 127.0.0.1 for this module's tests."""
    with servers(tmp_path_factory.mktemp("servers")) as started:
        yield started


@pytest.fixture
def prod(shared_servers: Servers, tmp_path: Path) -> Iterator[HandBuilt]:
    """An empty production (queue, DLQ, bucket, an empty ``video_video``, an idle worker process) whose files
    live in ``tmp_path``."""
    production = HandBuilt(shared_servers, tmp_path)
    try:
        yield production
    finally:
        production.close()
