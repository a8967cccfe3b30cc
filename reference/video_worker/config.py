"""Worker configuration, read once from the environment (``apps/worker/video_worker/config.py``).

Runbook §3: ``load_config()`` requires ``API_BASE_URL`` (trailing ``/`` stripped), ``INTERNAL_WORKER_TOKEN``,
``R2_ENDPOINT``, ``R2_ACCESS_KEY``, ``R2_SECRET_KEY``; a missing one makes the worker log
``config error: <VAR> is required`` and exit 1 right after start. ``R2_BUCKET`` or ``R2_VIDEO_BUCKET`` is listed
there too but has a default (``academy-video``), so, as the contract says, it can never be "missing".
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

REQUIRED = ("API_BASE_URL", "INTERNAL_WORKER_TOKEN", "R2_ENDPOINT", "R2_ACCESS_KEY", "R2_SECRET_KEY")
DEFAULT_BUCKET = "academy-video"
DEFAULT_QUEUE = "academy-video-jobs"


class ConfigError(Exception):
    """A variable is missing or malformed; the message starts with the variable's name."""


@dataclass(frozen=True)
class WorkerConfig:
    """Everything the worker reads from its environment."""

    # Required (§3). API_BASE_URL and the token are validated like the real worker's, but this stand-in
    # writes job state straight into the database (as the real Django repository does, §7), so it
    # never calls the API.
    api_base_url: str
    internal_worker_token: str
    r2_endpoint: str
    r2_access_key: str
    r2_secret_key: str
    r2_bucket: str
    # SQS (§2, §4, appendix B 3)
    queue_name: str
    aws_region: str | None
    wait_time: int
    retry_delay: float
    visibility: int
    # Redis (§7, §9)
    redis_host: str
    redis_port: int
    redis_password: str | None
    redis_db: int
    lock_ttl: int
    # Encoding
    ffmpeg_binary: str
    r2_region: str
    # Test switches: stop after N messages; hold each encoded segment N seconds (a "long job").
    max_jobs: int | None
    encode_slowdown_seconds: float
    worker_id: str


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def load_config(env: Mapping[str, str] | None = None) -> WorkerConfig:
    """Read the configuration; raise :class:`ConfigError` (``"<VAR> is required"``) on the first gap."""
    env = os.environ if env is None else env
    for name in REQUIRED:
        # An empty value counts as missing: `KEY=` in an env file is how a value usually goes missing.
        if not env.get(name, "").strip():
            raise ConfigError(f"{name} is required")
    max_jobs = _int(env, "VIDEO_WORKER_MAX_JOBS", 0)
    return WorkerConfig(
        api_base_url=env["API_BASE_URL"].strip().rstrip("/"),
        internal_worker_token=env["INTERNAL_WORKER_TOKEN"].strip(),
        r2_endpoint=env["R2_ENDPOINT"].strip(),
        r2_access_key=env["R2_ACCESS_KEY"].strip(),
        r2_secret_key=env["R2_SECRET_KEY"].strip(),
        r2_bucket=(env.get("R2_BUCKET") or env.get("R2_VIDEO_BUCKET") or DEFAULT_BUCKET).strip(),
        queue_name=(env.get("VIDEO_SQS_QUEUE_NAME") or DEFAULT_QUEUE).strip(),
        # boto3 reads only AWS_DEFAULT_REGION by itself; the runbook (§4) accepts AWS_REGION as well.
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        wait_time=_int(env, "VIDEO_WORKER_WAIT_TIME", 20),
        retry_delay=_float(env, "VIDEO_WORKER_RETRY_DELAY", 60.0),
        visibility=_int(env, "VIDEO_WORKER_VISIBILITY", 21600),
        redis_host=env.get("REDIS_HOST") or "127.0.0.1",
        redis_port=_int(env, "REDIS_PORT", 6379),
        redis_password=env.get("REDIS_PASSWORD") or None,
        redis_db=_int(env, "REDIS_DB", 0),
        lock_ttl=_int(env, "VIDEO_WORKER_LOCK_TTL", 4 * 3600),
        ffmpeg_binary=env.get("FFMPEG_BINARY") or "ffmpeg",
        r2_region=env.get("R2_REGION") or "auto",
        max_jobs=max_jobs if max_jobs > 0 else None,
        encode_slowdown_seconds=_float(env, "ENCODE_SLOWDOWN_SECONDS", 0.0),
        # Stored as the lock's value: who holds job:encode:{id}:lock is visible with redis-cli GET.
        worker_id=env.get("VIDEO_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}",
    )
