"""Dead dependencies on demand: a black hole, a refused port, a host name that does not resolve.

with BlackHole() as hole:            # accepts every connection, never sends a byte
    url = f"http://127.0.0.1:{hole.port}"
with refused_port() as port:         # bound but not listening: connect() gets RST at once
    ...
with refused_aws_client("sqs") as sqs:  # the suite's own client builder, pointed at a refused port
    ...
UNRESOLVABLE_HOST                    # RFC 6761 ``.invalid``: never resolves
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

UNRESOLVABLE_HOST = "nonexistent.invalid"


class BlackHole:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a thread, as a context manager).

    Accepted sockets are held open, unread, until the hole closes: a client's connect succeeds at once and
    its first read waits until the client's own timeout.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self.host = "127.0.0.1"
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"blackhole-{self.port}", daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()
        with contextlib.suppress(OSError):
            self._listener.close()


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A 127.0.0.1 port that refuses connections: bound (so nobody else takes it) but not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextlib.contextmanager
def refused_aws_client(service: str) -> Iterator[Any]:
    """``service``'s client from ``runbook.clients.aws_client`` (the builder the checks use), its endpoint a
    refused port: a call the guard lets through fails at connect, so nothing it sends can land anywhere."""
    from runbook import clients

    with refused_port() as port:
        yield clients.aws_client(
            service,
            region="ap-northeast-2",
            access_key="AKIAEXAMPLE",
            secret_key="s",
            endpoint_url=f"http://127.0.0.1:{port}",
            timeout=1,
        )
