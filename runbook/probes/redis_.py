"""Redis evidence (runbook §7 progress, §9 stale lock / cancel flag).

Read commands only (PING, INFO, GET, PTTL, HGETALL). Key lookups for many videos go through one
non-transactional pipeline per batch, so 10,000 ids cost about ten round trips, not 40,000.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import redis
import redis.exceptions

from runbook.probes.errors import ProbeError, from_redis

DEFAULT_LOCK_KEY: Final = "job:encode:{id}:lock"
DEFAULT_CANCEL_KEY: Final = "job:encode:{id}:cancel"
DEFAULT_PROGRESS_KEY: Final = "job:encode:{id}:progress"
BATCH_SIZE: Final = 1000
_NOT_A_STRING: Final = "<not a string>"


@dataclass(frozen=True)
class RedisInfo:
    """The server a client talks to; ``host``/``port``/``db`` come from the client, never a password."""

    version: str
    db: int
    role: str
    host: str = ""
    port: int = 0
    mode: str = ""

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}/{self.db}"


@dataclass(frozen=True)
class VideoKeys:
    """The encode keys of one video; a TTL is ``None`` when the key is missing or never expires."""

    lock_value: str | None
    lock_ttl_seconds: float | None
    cancel_present: bool
    cancel_ttl_seconds: float | None
    progress_raw: str | None

    @property
    def lock_present(self) -> bool:
        return self.lock_value is not None


@dataclass(frozen=True)
class VideoKeyScan:
    """:func:`scan_video_keys`'s answer: the keys per id and how many round trips it took."""

    keys: Mapping[int, VideoKeys] = field(hash=False)
    round_trips: int


def target_of(r: redis.Redis) -> str:
    """``host:port/db`` of a client (no credentials), for messages and comparisons."""
    kwargs: dict[str, Any] = r.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix:{kwargs['path']}/{kwargs.get('db', 0)}"
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


def _timeout_of(r: redis.Redis) -> float | None:
    kwargs: dict[str, Any] = r.connection_pool.connection_kwargs
    value = kwargs.get("socket_timeout")
    return float(value) if isinstance(value, (int, float)) else None


def _fail(r: redis.Redis, exc: BaseException) -> ProbeError:
    return from_redis(exc, target=target_of(r), timeout=_timeout_of(r))


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def server_info(r: redis.Redis) -> RedisInfo:
    """PING, then ``INFO server`` and ``INFO replication`` (for the role)."""
    try:
        r.ping()
        server: dict[str, Any] = r.info("server")
        replication: dict[str, Any] = r.info("replication")
    except (redis.exceptions.RedisError, OSError) as exc:
        raise _fail(r, exc) from exc
    kwargs: dict[str, Any] = r.connection_pool.connection_kwargs
    return RedisInfo(
        version=str(server.get("redis_version", "")),
        db=int(kwargs.get("db", 0) or 0),
        role=str(replication.get("role", "")),
        host=str(kwargs.get("host", kwargs.get("path", ""))),
        port=int(kwargs.get("port", 0) or 0),
        mode=str(server.get("redis_mode", "")),
    )


def _key(template: str, video_id: int) -> str:
    return template.replace("{id}", str(video_id))


def _check(ids: Iterable[int], templates: Sequence[str]) -> list[int]:
    for template in templates:
        if "{id}" not in template:
            raise ProbeError("redis", "invalid", f"key template {template!r} has no {{id}}")
    checked: list[int] = []
    for video_id in ids:
        if isinstance(video_id, bool) or not isinstance(video_id, int):
            raise ProbeError("redis", "invalid", f"video id {video_id!r} is not an integer")
        checked.append(video_id)
    return list(dict.fromkeys(checked))


def _ttl(value: object) -> float | None:
    if isinstance(value, int) and value >= 0:
        return value / 1000.0
    return None


def _is_wrongtype(value: object) -> bool:
    return isinstance(value, redis.exceptions.ResponseError) and str(value).startswith("WRONGTYPE")


def _raise_errors(r: redis.Redis, results: Sequence[object]) -> None:
    for value in results:
        if isinstance(value, Exception) and not _is_wrongtype(value):
            raise _fail(r, value)


def scan_video_keys(
    r: redis.Redis,
    ids: Iterable[int],
    *,
    lock_key: str = DEFAULT_LOCK_KEY,
    cancel_key: str = DEFAULT_CANCEL_KEY,
    progress_key: str = DEFAULT_PROGRESS_KEY,
    batch_size: int = BATCH_SIZE,
) -> VideoKeyScan:
    """Lock, cancel flag and progress of every id, one pipeline (GET/PTTL) per ``batch_size`` ids.

    A progress key that is a hash is read with HGETALL in one more pipeline and given as JSON.
    """
    if batch_size < 1:
        raise ProbeError("redis", "invalid", f"batch_size must be >= 1, got {batch_size}")
    unique = _check(ids, (lock_key, cancel_key, progress_key))
    found: dict[int, VideoKeys] = {}
    round_trips = 0
    for start in range(0, len(unique), batch_size):
        batch = unique[start : start + batch_size]
        try:
            pipe = r.pipeline(transaction=False)
            for video_id in batch:
                pipe.get(_key(lock_key, video_id))
                pipe.pttl(_key(lock_key, video_id))
                pipe.pttl(_key(cancel_key, video_id))
                pipe.get(_key(progress_key, video_id))
            results: list[object] = pipe.execute(raise_on_error=False)
            round_trips += 1
        except (redis.exceptions.RedisError, OSError) as exc:
            raise _fail(r, exc) from exc
        _raise_errors(r, results)
        hashed = [vid for i, vid in enumerate(batch) if _is_wrongtype(results[4 * i + 3])]
        hashes: dict[int, str] = {}
        if hashed:
            hashes = _read_hashes(r, hashed, progress_key)
            round_trips += 1
        for i, video_id in enumerate(batch):
            lock_value, lock_pttl, cancel_pttl, progress = results[4 * i : 4 * i + 4]
            found[video_id] = VideoKeys(
                lock_value=_NOT_A_STRING if _is_wrongtype(lock_value) else _text(lock_value),
                lock_ttl_seconds=_ttl(lock_pttl),
                cancel_present=isinstance(cancel_pttl, int) and cancel_pttl != -2,
                cancel_ttl_seconds=_ttl(cancel_pttl),
                progress_raw=hashes.get(video_id) if _is_wrongtype(progress) else _text(progress),
            )
    return VideoKeyScan(keys=found, round_trips=round_trips)


def _read_hashes(r: redis.Redis, ids: Sequence[int], progress_key: str) -> dict[int, str]:
    try:
        pipe = r.pipeline(transaction=False)
        for video_id in ids:
            pipe.hgetall(_key(progress_key, video_id))
        results: list[object] = pipe.execute(raise_on_error=False)
    except (redis.exceptions.RedisError, OSError) as exc:
        raise _fail(r, exc) from exc
    out: dict[int, str] = {}
    for video_id, value in zip(ids, results, strict=True):
        if isinstance(value, dict):
            out[video_id] = json.dumps({_text(k): _text(v) for k, v in value.items()}, sort_keys=True)
        else:
            out[video_id] = _NOT_A_STRING
    return out


def video_keys(
    r: redis.Redis,
    ids: Iterable[int],
    *,
    lock_key: str = DEFAULT_LOCK_KEY,
    cancel_key: str = DEFAULT_CANCEL_KEY,
    progress_key: str = DEFAULT_PROGRESS_KEY,
) -> dict[int, VideoKeys]:
    """The keys of :func:`scan_video_keys` without the round-trip count."""
    scan = scan_video_keys(r, ids, lock_key=lock_key, cancel_key=cancel_key, progress_key=progress_key)
    return dict(scan.keys)
