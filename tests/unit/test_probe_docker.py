"""Docker probe against a real engine: exact name matching, state, env kept out of repr."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from runbook.clients import docker_client
from runbook.probes import ProbeError, docker_
from runbook.probes.docker_ import parse_docker_time, parse_env

pytestmark = pytest.mark.timeout(60)

IMAGE = "debian:bookworm-slim"
SECRET = "r2-secret-value-do-not-print"


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    """A Docker client with ``IMAGE`` present; skips when no engine answers or the image is absent."""
    try:
        client = docker_client(5.0)
        client.ping()
    except ProbeError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    try:
        client.images.get(IMAGE)
    except Exception:  # docker.errors.ImageNotFound; no registry is reachable to pull it
        pytest.skip(f"image {IMAGE} is not available locally")
    yield client
    client.close()


@pytest.fixture
def worker_name(engine: Any) -> Iterator[str]:
    """A unique ``academy-video-worker-…`` base name; its containers are removed afterwards."""
    name = f"academy-video-worker-{uuid.uuid4().hex[:8]}"
    yield name
    for container in engine.containers.list(all=True, filters={"name": name}):
        container.remove(force=True)


def _run(engine: Any, name: str, command: list[str], **kwargs: Any) -> Any:
    return engine.containers.run(IMAGE, command, name=name, detach=True, init=True, **kwargs)


def test_exact_name_match(engine: Any, worker_name: str) -> None:
    _run(engine, f"{worker_name}-2", ["sleep", "60"])
    with pytest.raises(ProbeError) as caught:
        docker_.container(engine, worker_name)
    assert (caught.value.dependency, caught.value.kind) == ("docker", "not-found")

    started = _run(
        engine, worker_name, ["sleep", "60"], environment={"R2_SECRET_KEY": SECRET, "FLAG": "", "OTHER": "dropped"}
    )
    info = docker_.container(engine, worker_name, keep_env={"R2_SECRET_KEY", "FLAG"})

    assert (info.name, info.id) == (worker_name, started.id)
    assert info.running and info.status == "running"
    assert info.exit_code == 0 and info.finished_at is None
    assert info.started_at is not None and info.started_at.tzinfo is not None
    assert info.env["R2_SECRET_KEY"] == SECRET and info.env["FLAG"] == ""
    assert "OTHER" not in info.env and "PATH" not in info.env, "only the variables asked for are kept"
    assert docker_.container(engine, worker_name).env == {}
    assert SECRET not in repr(info)
    assert info.image == IMAGE
    assert docker_.container(engine, f"{worker_name}-2").name == f"{worker_name}-2"


def test_exited_container(engine: Any, worker_name: str) -> None:
    container = _run(engine, worker_name, ["sh", "-c", "echo 'config error: R2_ENDPOINT' >&2; exit 1"])
    container.wait(timeout=30)
    info = docker_.container(engine, worker_name)
    assert (info.running, info.status, info.exit_code) == (False, "exited", 1)
    assert info.finished_at is not None and info.restart_count == 0


def test_invalid_name_is_rejected(engine: Any) -> None:
    with pytest.raises(ProbeError) as caught:
        docker_.container(engine, "academy video worker")
    assert caught.value.kind == "invalid"


def test_no_engine_is_unreachable() -> None:
    with pytest.raises(ProbeError) as caught:
        docker_client(1.0, base_url="unix:///nonexistent/docker.sock")
    assert (caught.value.dependency, caught.value.kind) == ("docker", "unreachable")


def test_black_hole_engine_times_out(black_hole_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(ProbeError) as caught:
        docker_client(1.0, base_url=f"tcp://127.0.0.1:{black_hole_port}")
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 2.5


def test_parsers() -> None:
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time("2026-11-26T12:00:01.123456789Z") == datetime(2026, 11, 26, 12, 0, 1, 123456, tzinfo=UTC)
    assert parse_env(["A=1", "B=x=y", "C", "A=2"]) == {"A": "2", "B": "x=y", "C": ""}
