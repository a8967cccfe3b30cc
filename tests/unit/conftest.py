"""Servers the probe tests share: a moto server per test module, and a TCP black hole.

Nothing here is autouse: a module asks for what it needs (``pytest.mark.usefixtures("moto_reset")``).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from tests.safety.blackhole import BlackHole


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server on a free loopback port for this module."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_reset(moto_url: str) -> None:
    """Every test starts from an empty moto account (the server is the module's, its state is not)."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


@pytest.fixture
def black_hole_port() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections and never answers: a client waits for its own timeout."""
    with BlackHole() as hole:
        yield hole.port
