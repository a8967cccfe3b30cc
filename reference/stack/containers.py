"""Docker helpers: is an engine there, testcontainers settings, and the worker container.

The worker container runs like the runbook's deployment: ``docker run -d --name academy-video-worker
--network host --init --env-file worker.env academy-video-worker:local`` (host networking: the emulators
listen on 127.0.0.1; ``--init``: Python as PID 1 would ignore SIGTERM without a handler). The stack's work
dir is mounted at the same path, so a SQLite ``DATABASE_URL`` means the same file inside and outside.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reference.stack._locks import flock_within

WORKER_IMAGE = "academy-video-worker:local"
WORKER_CONTAINER = "academy-video-worker"
_docker_ok: tuple[float, str | None] | None = None


def testcontainers_env() -> None:
    """What the machine notes require for testcontainers here (no reaper image; connect via localhost).
    Set only when the caller has not chosen otherwise."""
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")


def docker_client(timeout: int = 10) -> Any:
    import docker

    return docker.from_env(timeout=timeout)


def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers; otherwise why not (cached for 30 s)."""
    global _docker_ok
    if _docker_ok is not None and time.monotonic() - _docker_ok[0] < 30:
        return _docker_ok[1]
    try:
        client = docker_client(timeout=5)
        client.ping()
        client.close()
        reason = None
    except Exception as exc:
        reason = f"Docker engine not answering: {type(exc).__name__}: {exc}"
    _docker_ok = (time.monotonic(), reason)
    return reason


def image_exists(image: str) -> bool:
    import docker.errors

    client = docker_client()
    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False
    finally:
        client.close()


def remove_container(name: str) -> bool:
    """Force-remove a container with exactly this name (stale from an earlier run); True if one existed."""
    import docker.errors

    client = docker_client()
    try:
        for container in client.containers.list(all=True, filters={"name": f"^{re.escape(name)}$"}):
            container.remove(force=True)
            return True
        return False
    except docker.errors.NotFound:
        return False
    finally:
        client.close()


def container_names(pattern: str) -> list[str]:
    """Names of all containers (running or not) whose name matches ``pattern`` exactly (regex)."""
    client = docker_client()
    try:
        return [
            c.name
            for c in client.containers.list(all=True, filters={"name": pattern})
            if re.fullmatch(pattern.strip("^$"), c.name)
        ]
    finally:
        client.close()


class NameLock:
    """A cross-process lock on a container name (``/tmp/academy-stack-locks/<name>.lock``): two stacks on
    one machine (pytest-xdist) that want the same worker container name take turns instead of removing
    each other's container as "stale". Released by :meth:`release` or when the process dies."""

    def __init__(self, name: str, directory: str = "/tmp/academy-stack-locks") -> None:
        self.path = Path(directory) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.lock"
        self._fd: int | None = None

    def acquire(self, timeout: float = 900.0) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = flock_within(self.path, timeout, poll=0.2, mode=0o666)
        if fd is None:
            raise TimeoutError(f"container name lock {self.path} still held after {timeout:.0f}s")
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class WorkerContainer:
    """The worker image run as the deployment runs it."""

    def __init__(
        self,
        image: str,
        name: str,
        env: Mapping[str, str],
        workdir: Path,
        mounts: Mapping[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.image = image
        self.name = name
        self.env = dict(env)
        self.workdir = Path(workdir)
        self.mounts = dict(mounts or {})  # host path -> container path (read-only)
        self.command = command
        self.container: Any = None

    def run_command(self, env_file: Path) -> list[str]:
        """The equivalent ``docker run`` command line (for humans and the report)."""
        argv = [
            "docker",
            "run",
            "-d",
            "--name",
            self.name,
            "--network",
            "host",
            "--init",
            "--env-file",
            str(env_file),
            "-v",
            f"{self.workdir}:{self.workdir}",
        ]
        for host, inside in self.mounts.items():
            argv += ["-v", f"{host}:{inside}:ro"]
        return [*argv, self.image, *(self.command or [])]

    def start(self) -> None:
        remove_container(self.name)
        volumes = {str(self.workdir): {"bind": str(self.workdir), "mode": "rw"}}
        volumes.update({host: {"bind": inside, "mode": "ro"} for host, inside in self.mounts.items()})
        client = docker_client(timeout=60)
        try:
            self.container = client.containers.run(
                self.image,
                self.command,
                name=self.name,
                detach=True,
                network_mode="host",
                init=True,
                environment=self.env,
                volumes=volumes,
                labels={"academy.stack": "worker"},
            )
        finally:
            client.close()

    def _reload(self) -> Any:
        if self.container is None:
            return None
        try:
            self.container.reload()
            return self.container
        except Exception:
            return None

    def running(self) -> bool:
        container = self._reload()
        return container is not None and container.status == "running"

    @property
    def exit_code(self) -> int | None:
        container = self._reload()
        if container is None or container.status == "running":
            return None
        return int(container.attrs.get("State", {}).get("ExitCode", 0))

    def logs(self) -> str:
        container = self._reload()
        if container is None:
            return ""
        try:
            return container.logs(stdout=True, stderr=True).decode(errors="replace")
        except Exception:
            return ""

    def stop(self, timeout: int = 5) -> None:
        """``docker stop``: the container stays (Exited), like a stopped deployment."""
        container = self._reload()
        if container is not None and container.status == "running":
            container.stop(timeout=timeout)

    def remove(self) -> None:
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.remove(force=True, v=True)
            self.container = None
