"""Redis for the stack: a ``redis-server`` child process, fakeredis over TCP, or a Redis container.

All three listen on 127.0.0.1 and expose the same small interface: ``host``, ``port``, ``password``,
:meth:`env` (the ``REDIS_*`` variables), :meth:`client`, :meth:`stop` (also the "Redis down" fault) and
:meth:`describe`.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import redis

from reference.stack.processes import ManagedProcess, free_port, wait_for

REDIS_IMAGE = "redis:7"


class _RedisBase:
    host = "127.0.0.1"
    port = 0
    password: str | None = None

    def env(self, db: int = 0) -> dict[str, str]:
        return {
            "REDIS_HOST": self.host,
            "REDIS_PORT": str(self.port),
            "REDIS_PASSWORD": self.password or "",
            "REDIS_DB": str(db),
        }

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(
            host=self.host, port=self.port, password=self.password, db=db, socket_timeout=2, socket_connect_timeout=2
        )

    def wait_ready(self, timeout: float = 15.0) -> None:
        client = self.client()
        try:
            wait_for(client.ping, timeout, f"Redis on {self.host}:{self.port}")
        finally:
            client.close()

    def answers(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


class RedisServerProcess(_RedisBase):
    """``redis-server`` from PATH on a free loopback port, no persistence, with a password."""

    def __init__(self, workdir: Path, binary: str = "redis-server") -> None:
        self.binary = shutil.which(binary) or binary
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self.process = ManagedProcess(
            "redis-server",
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                self.password,
                "--dir",
                str(workdir),
                "--protected-mode",
                "yes",
            ],
            {"PATH": "/usr/bin:/bin"},
            workdir / "redis.log",
        )

    @staticmethod
    def available(binary: str = "redis-server") -> bool:
        return shutil.which(binary) is not None

    def start(self) -> None:
        self.process.start()

    def stop(self) -> None:
        self.process.stop(timeout=3)

    def describe(self) -> str:
        try:
            out = subprocess.run([self.binary, "--version"], capture_output=True, text=True, timeout=5).stdout
            version = out.split("v=", 1)[1].split()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            version = "?"
        return f"redis-server {version} (process, {self.host}:{self.port})"


class FakeRedisServer(_RedisBase):
    """fakeredis ``TcpFakeServer`` in a thread of this process (no password support)."""

    def __init__(self) -> None:
        from fakeredis import TcpFakeServer

        self._server = TcpFakeServer((self.host, 0), server_type="redis")
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fakeredis")
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._thread = None

    def describe(self) -> str:
        import fakeredis

        return f"fakeredis {fakeredis.__version__} TcpFakeServer (thread, {self.host}:{self.port})"


class RedisContainerService(_RedisBase):
    """testcontainers ``RedisContainer`` (image ``redis:7`` by default), port mapped to 127.0.0.1."""

    def __init__(self, image: str = REDIS_IMAGE) -> None:
        from reference.stack.containers import testcontainers_env

        testcontainers_env()
        from testcontainers.community.redis import RedisContainer

        self.image = image
        self.password = secrets.token_hex(12)
        self.container: Any = RedisContainer(image, password=self.password)
        self._stopped = False

    def start(self) -> None:
        self.container.start()
        self.port = int(self.container.get_exposed_port(6379))

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            with contextlib.suppress(Exception):
                self.container.stop()

    def describe(self) -> str:
        try:
            version = self.client().info("server").get("redis_version", "?")
        except redis.RedisError:
            version = "?"
        return f"redis {version} container ({self.image}, RedisContainer, 127.0.0.1:{self.port})"


def embedded_redis(workdir: Path) -> RedisServerProcess | FakeRedisServer:
    """``redis-server`` if it is on PATH, else fakeredis."""
    if RedisServerProcess.available():
        return RedisServerProcess(workdir)
    return FakeRedisServer()
