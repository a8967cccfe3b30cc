"""A TCP proxy on 127.0.0.1 that adds a fixed delay to every request, for the latency benchmarks.

    with LatencyProxy(upstream_port=6379, delay=0.2) as proxy:
        redis.Redis(port=proxy.port).ping()      # ~200 ms

A "request" is a read from the client: when bytes arrive from the client the proxy waits ``delay``
seconds, then forwards them together with whatever else the client sent meanwhile (an HTTP request's
headers and body, written separately, are one request, not two). Answers from upstream pass through
at once. Each connection gets its own pair of threads, so concurrent requests are delayed
concurrently, as on a real network: the proxy adds latency, never queueing.

``LatencyProxy(upstream_port, black_hole=True)`` accepts connections and never answers (a dead
dependency behind a firewall that drops packets: the client waits for its timeout).

Also a small CLI: ``python -m bench.latency_proxy UPSTREAM_PORT [--delay-ms 200]``.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import socket
import threading
import time
from types import TracebackType

_CHUNK = 1 << 16


class LatencyProxy:
    """One listening socket in front of ``upstream_host:upstream_port``."""

    def __init__(
        self,
        upstream_port: int,
        delay: float = 0.2,
        *,
        upstream_host: str = "127.0.0.1",
        black_hole: bool = False,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay
        self.black_hole = black_hole
        self.requests = 0  # client reads delayed so far (approximate under concurrency; for reports)
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LatencyProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        self._thread.join(timeout=2)

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------------

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._track(client)
            if self.black_hole:
                continue  # keep the connection open and silent until close()
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            with contextlib.suppress(OSError):
                client.close()
            return
        upstream.settimeout(None)
        self._track(upstream)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self._pump, args=(upstream, client, 0.0), daemon=True).start()
        self._pump(client, upstream, self.delay)

    def _pump(self, source: socket.socket, sink: socket.socket, delay: float) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                if delay:
                    self.requests += 1
                    time.sleep(delay)
                    data += _drain(source)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _drain(sock: socket.socket) -> bytes:
    """What the peer sent while we waited (without blocking)."""
    parts: list[bytes] = []
    while True:
        ready, _, _ = select.select([sock], [], [], 0)
        if not ready:
            break
        data = sock.recv(_CHUNK)
        if not data:
            break
        parts.append(data)
    return b"".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("--upstream-host", default="127.0.0.1")
    parser.add_argument("--delay-ms", type=float, default=200.0)
    parser.add_argument("--black-hole", action="store_true")
    args = parser.parse_args()
    with LatencyProxy(
        args.upstream_port, args.delay_ms / 1000, upstream_host=args.upstream_host, black_hole=args.black_hole
    ) as proxy:
        print(f"LATENCY_PROXY 127.0.0.1:{proxy.port} -> {args.upstream_host}:{args.upstream_port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
