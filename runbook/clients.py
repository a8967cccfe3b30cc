"""Client builders for the probes: every parameter explicit, every network call bounded.

Nothing here reads options or the environment itself; fixtures do that and pass values in.
(boto3's credential chain still applies when no keys are given, so an instance role works, but
``AWS_ENDPOINT_URL`` and config-file endpoints are ignored: the endpoint is what the caller says.)
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import urllib.parse
from typing import Any, Final

import boto3
import psycopg
import redis
from botocore.config import Config
from redis.backoff import NoBackoff
from redis.retry import Retry

from runbook import guard
from runbook.probes.errors import ProbeError, from_db, from_docker

DEFAULT_TIMEOUT: Final = 3.0


def aws_client(
    service: str,
    *,
    region: str,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    endpoint_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """A boto3 client with one attempt and ``timeout`` seconds to connect and to read.

    For ``s3`` (R2): path-style addressing and SigV4; region ``"auto"`` is R2's.
    """
    if not region:
        raise ProbeError(service, "invalid", "no AWS region given")
    options: dict[str, Any] = {
        "connect_timeout": timeout,
        "read_timeout": timeout,
        # botocore's "max_attempts" counts retries (1 → two tries, doubling a black hole's cost);
        # "total_max_attempts" counts tries: exactly one.
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "ignore_configured_endpoint_urls": True,
    }
    if service == "s3":
        options["s3"] = {"addressing_style": "path"}
        options["signature_version"] = "s3v4"
    # One shared session: a new Session per client reloads botocore's models (~0.5 s of CPU each), which
    # made a live run cost seconds of start-up. Sessions are not thread-safe, so creation is serialised;
    # the clients themselves are.
    with _SESSION_LOCK:
        client = _session().client(
            service,
            region_name=region,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            aws_session_token=session_token or None,
            endpoint_url=endpoint_url or None,
            config=Config(**options),
        )
    _quiet_response_bodies()
    # Read-only guard (runbook.guard): refuses non-read operations while enabled (live mode).
    return guard.guard_boto_client(client)


class _NoResponseBodies(logging.Filter):
    """botocore logs every response body at DEBUG: ``GetFunctionConfiguration``'s is the Lambda's whole
    environment, secrets included, and ``--log-level=DEBUG`` would carry it into the report. Headers and the
    request line stay; the body is replaced by a note."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Response body"):
            record.msg, record.args = "Response body: (not logged by the runbook suite: it may hold secrets)", ()
        return True


_BODY_FILTER: Final = _NoResponseBodies()


def _quiet_response_bodies() -> None:
    parsers = logging.getLogger("botocore.parsers")
    if _BODY_FILTER not in parsers.filters:
        parsers.addFilter(_BODY_FILTER)


_SESSION_LOCK = threading.Lock()
_SESSIONS: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


def redis_client(
    host: str,
    port: int = 6379,
    password: str | None = None,
    db: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    username: str | None = None,
) -> redis.Redis:
    """A redis-py client that gives up after ``timeout`` seconds and never retries."""
    client = redis.Redis(
        host=host,
        port=int(port),
        db=int(db),
        username=username or None,
        password=password or None,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
        client_name=None,
    )
    return guard.guard_redis(client)  # read-only guard: write commands refused while enabled


def docker_client(timeout: float = DEFAULT_TIMEOUT, *, base_url: str | None = None) -> Any:
    """``docker.from_env(timeout=...)`` (or ``base_url``); an absent engine is ``ProbeError``."""
    import docker

    try:
        if base_url:
            client = docker.DockerClient(base_url=base_url, timeout=timeout)
        else:
            client = docker.from_env(timeout=timeout)
    except Exception as exc:
        raise from_docker(exc, timeout=timeout) from exc
    return guard.guard_docker(client)  # read-only guard: only GET/HEAD while enabled


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///path`` URL (``sqlite:////abs`` too); the path is absolute."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    if parts.netloc or not path or path == "/":
        raise ProbeError("database", "invalid", f"invalid sqlite URL {url!r}: use sqlite:///path/to/file")
    return "/" + path.lstrip("/")


def db_connect(url: str, timeout: float = DEFAULT_TIMEOUT) -> sqlite3.Connection | psycopg.Connection[Any]:
    """A read-only connection: sqlite opened ``mode=ro``; PostgreSQL with read-only transactions,
    ``statement_timeout`` = ``timeout`` and time zone UTC, in autocommit (no transaction left idle).
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        path = sqlite_path(url)
        if not os.path.isfile(path):
            raise ProbeError("database", "not-found", f"not-found: sqlite file {path} does not exist")
        uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
        try:
            # factory: the read-only guard's cursors (non-read statements refused while enabled)
            conn = sqlite3.connect(uri, uri=True, timeout=timeout, factory=guard.ReadOnlySqliteConnection)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise from_db(exc, timeout=timeout) from exc
        return conn
    if scheme in ("postgresql", "postgres"):
        milliseconds = max(1, int(timeout * 1000))
        try:
            pg = psycopg.connect(
                url,
                connect_timeout=max(1, math.ceil(timeout)),
                options=f"-c default_transaction_read_only=on -c statement_timeout={milliseconds} -c TimeZone=UTC",
                application_name="runbook-probe",
                autocommit=True,
            )
        except psycopg.Error as exc:
            raise from_db(exc, timeout=timeout) from exc
        return guard.guard_db(pg)  # read-only guard: non-read statements refused while enabled
    raise ProbeError("database", "invalid", f"unsupported database URL scheme {scheme!r}")
