"""Every benchmark's short form runs and prints its ratio line, so that none can rot unnoticed.

Nothing here asserts a time or a ratio: machines running CI are noisy, and a missed target is reported by
the benchmark (MISS), not failed. What must hold is that each benchmark runs to the end (exit 0) and says
``<name>: <what> = <value> (target ≤|≥ x) OK|MISS``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, RATIO_LINE
from bench.latency_proxy import LatencyProxy

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", BENCHMARKS)
def test_short_form_runs_and_prints_its_ratio(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--short"], cwd=ROOT, capture_output=True, text=True, timeout=840
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"bench.{name} --short broke (exit {proc.returncode}):\n{output[-4000:]}"
    ratios = [m for m in map(RATIO_LINE.match, proc.stdout.splitlines()) if m and m.group(1) == name]
    assert ratios, f"bench.{name} --short printed no ratio line:\n{output[-4000:]}"
    for match in ratios:
        float(match.group(3))  # a number, whatever it is


def _echo_server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


@pytest.mark.timeout(30)
def test_latency_proxy_forwards_both_ways() -> None:
    server, port = _echo_server()
    with server, LatencyProxy(port, delay=0.01) as proxy, socket.create_connection(("127.0.0.1", proxy.port), 5) as c:
        c.sendall(b"ping")
        c.sendall(b" pong")
        received = b""
        while len(received) < len(b"PING PONG"):
            received += c.recv(4096)
        assert received == b"PING PONG"
        assert proxy.requests >= 1


@pytest.mark.timeout(30)
def test_black_hole_accepts_and_never_answers() -> None:
    server, port = _echo_server()
    with (
        server,
        LatencyProxy(port, black_hole=True) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), 5) as c,
    ):
        c.settimeout(0.3)
        c.sendall(b"anyone there?")
        with pytest.raises(TimeoutError):
            c.recv(4096)
