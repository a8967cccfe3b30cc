"""Worker configuration, read once from the environment, as the real worker's ``load_config`` reads it.

Required, checked in this order, only the first gap reported: ``API_BASE_URL`` (trailing ``/`` stripped),
``INTERNAL_WORKER_TOKEN``, ``R2_BUCKET`` or ``R2_VIDEO_BUCKET`` (no default), ``R2_ENDPOINT``, ``R2_ACCESS_KEY``,
``R2_SECRET_KEY``; a missing or empty one is ``Missing required env: NAME`` (or ``Missing required env (any of):
R2_BUCKET, R2_VIDEO_BUCKET``), logged as ``config error: ...`` before the worker exits 1. The download bucket is
``R2_VIDEO_BUCKET`` (default ``academy-video``), the upload bucket ``R2_BUCKET`` else ``R2_VIDEO_BUCKET``.

Not read, as in production: a visibility setting (the worker extends by 300 s every 240 s), ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_QUEUE = "academy-video-jobs"
DEFAULT_DOWNLOAD_BUCKET = "academy-video"


class ConfigError(Exception):
    """A required variable is missing or a value malformed."""


@dataclass(frozen=True)
class WorkerConfig:
    """Everything the worker reads from its environment."""

    # Required (§3). API_BASE_URL and the token are validated, never used: the worker calls no API.
    api_base_url: str
    internal_worker_token: str
    r2_endpoint: str
    r2_access_key: str
    r2_secret_key: str
    r2_bucket: str  # HLS upload
    download_bucket: str  # the raw upload (Django's R2_VIDEO_BUCKET)
    r2_region: str
    queue_name: str
    # Download retries: attempts and backoff (VIDEO_WORKER_RETRY_MAX, _BACKOFF_BASE, _BACKOFF_CAP).
    retry_max: int
    backoff_base: float
    backoff_cap: float
    ffmpeg_binary: str
    lock_ttl: int
    progress_ttl: int
    # Stand-in switches (no production counterpart): how long a long poll lasts, how long the worker waits
    # after "SQS unavailable" (production: 20 s and 60 s), stop after N messages, hold each encoded segment N
    # seconds (a "long job").
    wait_time: int
    retry_delay: float
    max_jobs: int | None
    encode_slowdown_seconds: float
    worker_id: str


def _require(env: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return value
    if len(names) == 1:
        raise ConfigError(f"Missing required env: {names[0]}")
    raise ConfigError(f"Missing required env (any of): {', '.join(names)}")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def load_config(env: Mapping[str, str] | None = None) -> WorkerConfig:
    """Read the configuration; :class:`ConfigError` names the first required variable missing."""
    env = os.environ if env is None else env
    api_base_url = _require(env, "API_BASE_URL").rstrip("/")
    token = _require(env, "INTERNAL_WORKER_TOKEN")
    bucket = _require(env, "R2_BUCKET", "R2_VIDEO_BUCKET")
    endpoint = _require(env, "R2_ENDPOINT")
    access_key = _require(env, "R2_ACCESS_KEY")
    secret_key = _require(env, "R2_SECRET_KEY")
    max_jobs = int(_number(env, "VIDEO_WORKER_MAX_JOBS", 0))
    return WorkerConfig(
        api_base_url=api_base_url,
        internal_worker_token=token,
        r2_endpoint=endpoint,
        r2_access_key=access_key,
        r2_secret_key=secret_key,
        r2_bucket=bucket,
        download_bucket=(env.get("R2_VIDEO_BUCKET") or DEFAULT_DOWNLOAD_BUCKET).strip(),
        r2_region=env.get("R2_REGION") or "auto",
        queue_name=(env.get("VIDEO_SQS_QUEUE_NAME") or DEFAULT_QUEUE).strip(),
        retry_max=int(_number(env, "VIDEO_WORKER_RETRY_MAX", 6)),
        backoff_base=_number(env, "VIDEO_WORKER_BACKOFF_BASE", 0.5),
        backoff_cap=_number(env, "VIDEO_WORKER_BACKOFF_CAP", 10.0),
        ffmpeg_binary=env.get("FFMPEG_BIN") or env.get("FFMPEG_BINARY") or "ffmpeg",
        lock_ttl=int(_number(env, "VIDEO_LOCK_TTL_SECONDS", 14400)),
        progress_ttl=int(_number(env, "VIDEO_PROGRESS_TTL_SECONDS", 14400)),
        wait_time=int(_number(env, "VIDEO_WORKER_WAIT_TIME", 20)),
        retry_delay=_number(env, "VIDEO_WORKER_RETRY_DELAY", 60.0),
        max_jobs=max_jobs if max_jobs > 0 else None,
        encode_slowdown_seconds=_number(env, "ENCODE_SLOWDOWN_SECONDS", 0.0),
        worker_id=env.get("VIDEO_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}",
    )
