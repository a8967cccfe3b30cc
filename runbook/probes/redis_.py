"""Redis evidence (runbook §7 progress, §9 stale lock / cancel flag).

Read commands only (PING, INFO, MGET, PTTL, HGETALL). Key lookups for many videos go through two
non-transactional pipelines per batch (an MGET per key list, then a PTTL per key that exists), so 10,000 ids
cost about twenty round trips and a few thousand commands, not 40,000.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import redis
import redis.exceptions

from runbook import production
from runbook.probes.errors import ProbeError, from_redis

DEFAULT_LOCK_KEY: Final = production.LOCK_KEY
DEFAULT_CANCEL_KEY: Final = production.CANCEL_KEY
DEFAULT_PROGRESS_KEY: Final = production.PROGRESS_KEY
BATCH_SIZE: Final = 1000
#: Progress keys read twice by :func:`progress_moves` (the locked videos §9 cannot judge from the logs).
MAX_PROGRESS_IDS: Final = 100
_NOT_A_STRING: Final = "<not a string>"


@dataclass(frozen=True)
class RedisInfo:
    """The server a client talks to; ``host``/``port``/``db`` come from the client, never a password.

    ``run_id`` is the server's own name for its process (``INFO server``): two clients that read the same
    ``run_id`` talk to one server, however their host names are spelled. ``addresses`` are the host's resolved
    addresses, the fallback identity where a server does not say its ``run_id``.
    """

    version: str
    db: int
    role: str
    host: str = ""
    port: int = 0
    mode: str = ""
    run_id: str = ""
    addresses: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}/{self.db}"

    def describe(self) -> str:
        """``localhost:6379/0 (run_id 3f9a1c2e…)``: the spelling, and the identity it resolved to."""
        who = f"run_id {self.run_id[:8]}…" if self.run_id else "→ " + ",".join(self.addresses or ("?",))
        return f"{self.target} ({who})"


def same_server(a: RedisInfo, b: RedisInfo) -> bool | None:
    """Whether two clients reach one Redis server: by ``run_id`` when both read it, else by resolved address and
    port; ``None`` when neither can tell."""
    if a.run_id and b.run_id:
        return a.run_id == b.run_id
    if a.addresses and b.addresses:
        return a.port == b.port and bool(set(a.addresses) & set(b.addresses))
    return None


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address ``host`` resolves to (``localhost`` → ``127.0.0.1``, ``::1``); ``()`` if it does not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return ()
    return tuple(sorted({str(info[4][0]) for info in infos}))


@dataclass(frozen=True)
class VideoKeys:
    """The encode keys of one video; a TTL is ``None`` when the key is missing or never expires."""

    lock_value: str | None
    lock_ttl_seconds: float | None
    cancel_present: bool
    cancel_ttl_seconds: float | None
    progress_raw: str | None
    #: Keys that could not be named (``lock``, ``cancel``, ``progress``): their template has ``{tenant}`` and
    #: the video's tenant is unknown. Such a key reads as absent above; a judgement must not rest on it.
    unknown: tuple[str, ...] = ()

    @property
    def lock_present(self) -> bool:
        return self.lock_value is not None


_NO_KEYS: Final = VideoKeys(None, None, False, None, None)


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
    """PING, then ``INFO server`` (version, ``run_id``) and ``INFO replication`` (for the role)."""
    try:
        r.ping()
        server: dict[str, Any] = r.info("server")
        replication: dict[str, Any] = r.info("replication")
    except (redis.exceptions.RedisError, OSError) as exc:
        raise _fail(r, exc) from exc
    kwargs: dict[str, Any] = r.connection_pool.connection_kwargs
    host = str(kwargs.get("host", kwargs.get("path", "")))
    port = int(kwargs.get("port", 0) or 0)
    run_id = str(server.get("run_id", "") or "")
    return RedisInfo(
        version=str(server.get("redis_version", "")),
        db=int(kwargs.get("db", 0) or 0),
        role=str(replication.get("role", "")),
        host=host,
        port=port,
        mode=str(server.get("redis_mode", "")),
        run_id=run_id,
        # The connection just resolved the name; resolving it again is the fallback identity only.
        addresses=() if run_id else ((f"unix:{host}",) if "path" in kwargs else resolve(host, port)),
    )


def _keys(template: str, ids: Sequence[int], tenants: Mapping[int, object] | None = None) -> list[bytes | None]:
    """``template`` filled with each id (and its tenant), as bytes (``bytes % int`` is one C call per key);
    ``None`` where the template needs a tenant that ``tenants`` does not give."""
    pattern = template.encode().replace(b"%", b"%%").replace(b"{id}", b"%d")
    count = template.count("{id}")
    if "{tenant}" not in template:
        return [pattern % ((vid,) * count) for vid in ids]
    keys: list[bytes | None] = []
    for vid in ids:
        tenant = (tenants or {}).get(vid)
        if tenant is None or str(tenant) == "":
            keys.append(None)
            continue
        filled = template.replace("{tenant}", str(tenant)).replace("{id}", str(vid))
        keys.append(filled.encode())
    return keys


def _mget(pipe: Any, keys: list[bytes | None]) -> None:
    present = [key for key in keys if key is not None]
    if present:
        pipe.mget(present)


def _spread(keys: list[bytes | None], values: list[object] | None) -> list[object]:
    """MGET's answers for the keys that could be named, back in place (``None`` for the others)."""
    answers = iter(values or ())
    return [None if key is None else next(answers) for key in keys]


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
    progress_key: str | None = DEFAULT_PROGRESS_KEY,
    batch_size: int = BATCH_SIZE,
    tenants: Mapping[int, object] | None = None,
) -> VideoKeyScan:
    """Lock, cancel flag (and, unless ``progress_key`` is ``None``, progress) of every id: two pipelines per
    ``batch_size`` ids, with a handful of commands each, not four commands per id.

    First pipeline: one ``MGET`` per key list. Second pipeline: ``PTTL`` of the keys that exist only (a
    tenth of them, typically) and ``HGETALL`` of the progress keys ``MGET`` did not answer (hashes, or
    missing). The worker writes its lock and the API its cancel flag as strings with ``SET``; a lock or cancel
    key of another type reads as missing, as ``MGET`` answers it (checking every key's type would cost the
    per-id commands this avoids). §9 needs no progress: the stuck-video evidence passes ``progress_key=None``.
    A template with ``{tenant}`` (the real system's cancel and progress keys) is filled with ``tenants[id]``;
    without it that key is not read and is listed in :attr:`VideoKeys.unknown`.
    """
    if batch_size < 1:
        raise ProbeError("redis", "invalid", f"batch_size must be >= 1, got {batch_size}")
    templates = (lock_key, cancel_key) if progress_key is None else (lock_key, cancel_key, progress_key)
    unique = _check(ids, templates)
    found: dict[int, VideoKeys] = {}
    round_trips = 0
    for start in range(0, len(unique), batch_size):
        batch = unique[start : start + batch_size]
        # Keys as bytes: redis-py passes bytes through, where it would encode each str again.
        locks = _keys(lock_key, batch, tenants)
        cancels = _keys(cancel_key, batch, tenants)
        progress_keys = _keys(progress_key, batch, tenants) if progress_key is not None else []
        try:
            pipe = r.pipeline(transaction=False)
            lists = [keys for keys in (locks, cancels, progress_keys) if any(key is not None for key in keys)]
            for keys in lists:
                _mget(pipe, keys)
            answered: list[Any] = pipe.execute(raise_on_error=False) if lists else []
            round_trips += 1 if lists else 0
        except (redis.exceptions.RedisError, OSError) as exc:
            raise _fail(r, exc) from exc
        _raise_errors(r, answered)
        by_list = dict(zip((id(keys) for keys in lists), answered, strict=True))
        first = [_spread(keys, by_list.get(id(keys))) for keys in (locks, cancels, progress_keys)]
        _raise_errors(r, first)
        lock_values: list[object] = first[0]
        cancel_values: list[object] = first[1]
        progress_values: list[object] = first[2] if progress_keys else [None] * len(batch)
        unnamed = [
            tuple(name for name, keys in (("lock", locks), ("cancel", cancels), ("progress", progress_keys))
                  if keys and keys[i] is None)
            for i in range(len(batch))
        ]  # fmt: skip
        lock_ttl: dict[int, int] = {}
        cancel_ttl: dict[int, int] = {}
        hashes: dict[int, str] = {}
        asks: list[tuple[str, int]] = []
        try:
            pipe = r.pipeline(transaction=False)
            for i in [i for i, value in enumerate(lock_values) if value is not None]:
                pipe.pttl(locks[i])  # type: ignore[arg-type]  # a value came back: the key was named
                asks.append(("lock_ttl", i))
            for i in [i for i, value in enumerate(cancel_values) if value is not None]:
                pipe.pttl(cancels[i])  # type: ignore[arg-type]  # -2 if it expired meanwhile
                asks.append(("cancel_ttl", i))
            if progress_keys:
                for i in [i for i, value in enumerate(progress_values) if value is None and progress_keys[i]]:
                    pipe.hgetall(progress_keys[i])  # type: ignore[arg-type]
                    asks.append(("progress", i))
            second: list[Any] = pipe.execute(raise_on_error=False) if asks else []
            round_trips += 1 if asks else 0
        except (redis.exceptions.RedisError, OSError) as exc:
            raise _fail(r, exc) from exc
        _raise_errors(r, second)
        for (what, i), value in zip(asks, second, strict=True):
            if what == "lock_ttl":
                lock_ttl[i] = value if isinstance(value, int) else -2
            elif what == "cancel_ttl":
                cancel_ttl[i] = value if isinstance(value, int) else -2
            elif isinstance(value, dict) and value:
                hashes[i] = json.dumps({_text(k): _text(v) for k, v in value.items()}, sort_keys=True)
            elif _is_wrongtype(value):
                hashes[i] = _NOT_A_STRING
        for i, video_id in enumerate(batch):
            nothing = lock_values[i] is None and cancel_values[i] is None and progress_values[i] is None
            if nothing and i not in hashes and not unnamed[i]:
                found[video_id] = _NO_KEYS  # most ids: nothing in Redis (a frozen value, shared)
                continue
            cancel_pttl = cancel_ttl.get(i, -2)
            found[video_id] = VideoKeys(
                lock_value=_text(lock_values[i]),
                lock_ttl_seconds=_ttl(lock_ttl.get(i, -2)),
                cancel_present=cancel_pttl != -2,
                cancel_ttl_seconds=_ttl(cancel_pttl),
                progress_raw=_text(progress_values[i]) if progress_values[i] is not None else hashes.get(i),
                unknown=unnamed[i],
            )
    return VideoKeyScan(keys=found, round_trips=round_trips)


def video_keys(
    r: redis.Redis,
    ids: Iterable[int],
    *,
    lock_key: str = DEFAULT_LOCK_KEY,
    cancel_key: str = DEFAULT_CANCEL_KEY,
    progress_key: str | None = DEFAULT_PROGRESS_KEY,
    tenants: Mapping[int, object] | None = None,
) -> dict[int, VideoKeys]:
    """The keys of :func:`scan_video_keys` without the round-trip count."""
    scan = scan_video_keys(r, ids, lock_key=lock_key, cancel_key=cancel_key, progress_key=progress_key, tenants=tenants)
    return dict(scan.keys)


def progress_moves(
    r: redis.Redis,
    ids: Iterable[int],
    *,
    progress_key: str = DEFAULT_PROGRESS_KEY,
    tenants: Mapping[int, object] | None = None,
    interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[int, bool | None]:
    """Whether each video's progress key changed between two reads ``interval`` seconds apart (read-only:
    ``MGET`` twice). The worker rewrites it (``SETEX``) at every step and whole percent, so a change proves a
    live encode; no change proves nothing (a download writes none). ``None``: the key could not be named."""
    wanted = list(dict.fromkeys(ids))[:MAX_PROGRESS_IDS]
    if not wanted:
        return {}
    keys = _keys(progress_key, wanted, tenants)
    named = [key for key in keys if key is not None]
    if not named:
        return dict.fromkeys(wanted)
    try:
        first = r.mget(named)
        sleep(interval)
        second = r.mget(named)
    except (redis.exceptions.RedisError, OSError) as exc:
        raise _fail(r, exc) from exc
    before = dict(zip(named, first, strict=True))
    after = dict(zip(named, second, strict=True))
    return {
        vid: None if key is None else (after[key] is not None and after[key] != before[key])
        for vid, key in zip(wanted, keys, strict=True)
    }
