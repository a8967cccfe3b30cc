"""Configuration: the API's and the worker's environment, read and validated in one place.

The runbook says to diagnose "with the API's environment": the suite's own environment is the API's view.
The worker's view comes from an env file, the worker container's environment or the worker process.
An invalid value raises :class:`ConfigError`, which the pytest plugin turns into one line and exit code 4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from urllib.parse import urlsplit

from runbook import production, secrets

DEFAULT_QUEUE = "academy-video-jobs"
DEFAULT_BUCKET = "academy-video"
DEPLOYMENTS = ("docker", "asg", "local")

#: The worker's required variables (runbook §3); the bucket pair counts as one.
REQUIRED_WORKER_VARS: tuple[tuple[str, ...], ...] = (
    ("API_BASE_URL",),
    ("INTERNAL_WORKER_TOKEN",),
    ("R2_ENDPOINT",),
    ("R2_ACCESS_KEY",),
    ("R2_SECRET_KEY",),
    ("R2_BUCKET", "R2_VIDEO_BUCKET"),
)


#: Every variable the checks read from a program's environment: what :func:`side_from_env` parses, §3's required
#: names, 부록 B's visibility, boto3's per-service endpoints. The worker's container or process environment is
#: reduced to these inside the probe that reads it, and a parsed side keeps no other: any other value (a Django
#: ``SECRET_KEY``, a Sentry DSN, a mail password) never becomes evidence. A check that reads another variable
#: adds it here (``tests/least_privilege/test_secrets_kept.py`` finds every ``env.get("X")`` of the checks).
ENV_NEEDED: frozenset[str] = frozenset(
    {
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_AUTO_SCALING",
        "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_EVENTBRIDGE",
        "AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_ENDPOINT_URL_SSM",
        "VIDEO_SQS_QUEUE_NAME",
        "REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_USERNAME", "REDIS_PASSWORD",
        "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD",
        "API_BASE_URL", "INTERNAL_WORKER_TOKEN",
        "R2_ENDPOINT", "R2_ACCESS_KEY", "R2_SECRET_KEY", "R2_BUCKET", "R2_VIDEO_BUCKET",
        "VIDEO_WORKER_VISIBILITY",
        "TZ", "TIME_ZONE", "DJANGO_SETTINGS_MODULE",
    }
)  # fmt: skip
#: The scaler Lambdas' variables the checks may read (the real scaler: lambda_function.py:29-44 of the real
#: system; 부록 B-4's alternative: ``MAX_INSTANCES_PER_TYPE``; the stand-in's ``QUEUE_NAME``/``ASG_NAME``). The
#: answer of ``GetFunctionConfiguration`` is reduced to these inside the probe.
SCALER_ENV_NEEDED: frozenset[str] = frozenset(
    {
        "AWS_REGION", "VIDEO_QUEUE", "VIDEO_WORKER_ASG_NAME", "VIDEO_WORKER_ASG_MIN", "VIDEO_WORKER_ASG_MAX",
        "TARGET_MESSAGES_PER_INSTANCE", "METRIC_NAMESPACE", "METRIC_NAME", "MAX_INSTANCES_PER_TYPE",
        "QUEUE_NAME", "ASG_NAME",
    }
)  # fmt: skip


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the setting and the reason, never the value."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


def _url(env: Mapping[str, str], name: str, source: str) -> str | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError as exc:
        raise ConfigError(f"{source}{name}", f"not a valid URL ({exc})") from None
    if not parts.scheme or not parts.netloc:
        raise ConfigError(f"{source}{name}", "URL needs a scheme and a host, e.g. https://host:port")
    return value


def _int(env: Mapping[str, str], name: str, default: int, source: str, lo: int = 0, hi: int = 65535) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"\d+", raw):
        raise ConfigError(f"{source}{name}", f"must be a whole number between {lo} and {hi}")
    value = int(raw)
    if not lo <= value <= hi:
        raise ConfigError(f"{source}{name}", f"must be between {lo} and {hi}")
    return value


@dataclass(frozen=True)
class RedisSettings:
    host: str | None
    port: int
    db: int
    password: str | None = field(default=None, repr=False)
    #: An ACL user (``REDIS_USERNAME``; none: Redis's ``default`` user), e.g. the live run's own read-only user.
    username: str | None = None

    def describe(self) -> str:
        user = f"user {self.username}, " if self.username else ""
        return f"{self.host}:{self.port}/{self.db} ({user}password {secrets.mask(self.password)})"


@dataclass(frozen=True)
class DatabaseSettings:
    """A database reached by URL (``sqlite:///path`` or ``postgresql://``); ``identity`` has no password."""

    url: str | None = field(repr=False)
    identity: str | None

    @property
    def configured(self) -> bool:
        return self.url is not None


@dataclass(frozen=True)
class R2Settings:
    endpoint: str | None
    bucket: str
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Side:
    """One program's view of the pipeline: the API's or the worker's environment, parsed."""

    name: str
    env: Mapping[str, str] = field(repr=False)
    queue_name: str
    region: str | None
    aws_endpoint_url: str | None
    aws_access_key: str | None = field(repr=False)
    aws_secret_key: str | None = field(repr=False)
    aws_session_token: str | None = field(repr=False)
    redis: RedisSettings
    database: DatabaseSettings
    r2: R2Settings
    api_base_url: str | None

    @property
    def aws_configured(self) -> bool:
        return self.region is not None

    @property
    def queue_region(self) -> str:
        """The region the real queue client uses: ``AWS_REGION``, else its default; ``AWS_DEFAULT_REGION`` is
        not read (libs/queue/client.py:87, ``runbook.production.REGION_VARIABLE``)."""
        return (self.env.get(production.REGION_VARIABLE) or "").strip() or production.DEFAULT_REGION


def _database(env: Mapping[str, str], source: str) -> DatabaseSettings:
    url = env.get("DATABASE_URL", "").strip()
    if url:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "sqlite":
            if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
                raise ConfigError(f"{source}DATABASE_URL", "sqlite URL must be sqlite:///path")
            return DatabaseSettings(url=url, identity=f"sqlite:{Path(url[len('sqlite:///') :]).resolve()}")
        if scheme in ("postgres", "postgresql"):
            parts = urlsplit(url)
            try:
                port = parts.port or 5432
            except ValueError:
                raise ConfigError(f"{source}DATABASE_URL", "port is not a number") from None
            if not parts.hostname:
                raise ConfigError(f"{source}DATABASE_URL", "needs a host: postgresql://user:pass@host:5432/db")
            return DatabaseSettings(url=url, identity=f"postgresql:{parts.hostname}:{port}{parts.path}")
        raise ConfigError(f"{source}DATABASE_URL", "must start with postgresql:// or sqlite:///")
    host = env.get("DB_HOST", "").strip()
    if not host:
        return DatabaseSettings(url=None, identity=None)
    port = _int(env, "DB_PORT", 5432, source, 1)
    name = env.get("DB_NAME", "").strip()
    user = env.get("DB_USER", "").strip()
    password = env.get("DB_PASSWORD", "")
    from urllib.parse import quote

    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    url_ = f"postgresql://{auth}@{host}:{port}/{quote(name, safe='')}"
    return DatabaseSettings(url=url_, identity=f"postgresql:{host}:{port}/{name}")


def side_from_env(env: Mapping[str, str], name: str, source: str = "") -> Side:
    """Parse one program's environment. ``source`` prefixes setting names in errors (``worker env: ``)."""
    region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip() or None
    if region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+|auto|local", region):
        raise ConfigError(f"{source}AWS_REGION", "not a region name like ap-northeast-2")
    redis_host = env.get("REDIS_HOST", "").strip() or None
    redis = RedisSettings(
        host=redis_host,
        port=_int(env, "REDIS_PORT", 6379, source, 1),
        db=_int(env, "REDIS_DB", 0, source, 0, 10_000),
        password=env.get("REDIS_PASSWORD") or None,
        username=env.get("REDIS_USERNAME", "").strip() or None,
    )
    base = _url(env, "API_BASE_URL", source)
    r2_endpoint = _url(env, "R2_ENDPOINT", source)
    bucket = (env.get("R2_BUCKET") or env.get("R2_VIDEO_BUCKET") or DEFAULT_BUCKET).strip()
    secrets.register_env(env)
    return Side(
        name=name,
        env={key: value for key, value in env.items() if key in ENV_NEEDED},
        queue_name=(env.get("VIDEO_SQS_QUEUE_NAME") or DEFAULT_QUEUE).strip(),
        region=region,
        aws_endpoint_url=_url(env, "AWS_ENDPOINT_URL", source),
        aws_access_key=env.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
        redis=redis,
        database=_database(env, source),
        r2=R2Settings(
            endpoint=r2_endpoint,
            bucket=bucket,
            access_key=env.get("R2_ACCESS_KEY") or None,
            secret_key=env.get("R2_SECRET_KEY") or None,
        ),
        api_base_url=base.rstrip("/") if base else None,
    )


def read_env_file(path: str | Path) -> dict[str, str]:
    """Read a ``KEY=VALUE`` file (``export``, quotes and comments allowed), naming the file on error."""
    p = Path(path)
    label = f"--worker-env-file {path}"
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(label, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(label, "is a directory, not an env file") from None
    except OSError as exc:
        raise ConfigError(label, f"cannot be read ({exc.strerror})") from None
    if b"\x00" in data:
        raise ConfigError(label, "is a binary file, not KEY=VALUE lines")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(label, "is not UTF-8 text") from None
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{label} line {number}", "expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def parse_video_ids(values: list[str] | tuple[str, ...]) -> tuple[int, ...]:
    """``--video-id 111 --video-id 222,333`` -> (111, 222, 333); a bad id names itself."""
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            item = part.strip()
            if not re.fullmatch(r"\d{1,18}", item) or int(item) == 0:
                shown = item if len(item) <= 40 else item[:40] + "…"
                raise ConfigError("--video-id", f"{shown!r} is not a video id (a positive whole number)")
            if int(item) not in ids:
                ids.append(int(item))
    return tuple(ids)


def parse_duration(value: str, setting: str) -> float:
    """``30m``, ``90s``, ``2h``, ``3d`` or plain seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value or "")
    if not m:
        raise ConfigError(setting, "expected a duration like 30m, 90s or 2h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def log_zone(explicit: str | None, env: Mapping[str, str] | None) -> tuple[tzinfo, str]:
    """The zone of a program's naive log timestamps, and where that came from.

    ``--log-timezone`` wins; else the program's ``TZ``, then ``TIME_ZONE``; else, when its
    ``DJANGO_SETTINGS_MODULE`` is one of production's, the ``TIME_ZONE`` those settings fix (Django sets ``TZ``
    from it before the first log line, ``runbook.production.TIME_ZONE``); else UTC. A value that names no zone
    is skipped, never fatal: the option itself is validated up front.
    """
    from runbook.logs import timezone_named  # here: runbook.logs is heavier than this module

    candidates: list[tuple[str | None, str]] = [(explicit, "--log-timezone")]
    if env is not None:
        candidates += [(env.get("TZ"), "TZ"), (env.get("TIME_ZONE"), "TIME_ZONE")]
        settings = (env.get("DJANGO_SETTINGS_MODULE") or "").strip()
        if settings in production.DJANGO_SETTINGS:
            candidates.append((production.TIME_ZONE, f"DJANGO_SETTINGS_MODULE={settings}"))
    for value, why in candidates:
        if value and value.strip():
            try:
                return timezone_named(value.lstrip(":")), f"{value.strip()} ({why})"
            except ValueError:
                continue
    return UTC, "UTC (no zone known)"
