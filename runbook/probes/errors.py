"""One typed error for every probe, and the translators that build it from client exceptions.

A probe never lets a library's exception escape: whatever boto3, redis-py, psycopg, sqlite3, the Docker
SDK or a socket raised becomes a :class:`ProbeError` that says which dependency failed and how
(``kind``), in one line that is safe to print: URLs lose their userinfo, key-like strings are masked.
"""

from __future__ import annotations

import errno
import re
import socket
import sqlite3
from typing import Any, Final, Literal, get_args

import psycopg
import redis.exceptions
from botocore import exceptions as boto_exc

Kind = Literal["timeout", "unreachable", "auth", "denied", "not-found", "invalid", "error"]
KINDS: Final[tuple[str, ...]] = get_args(Kind)

_AUTH_CODES: Final = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)
_DENIED_CODES: Final = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"})
_NOT_FOUND_CODES: Final = frozenset(
    {
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NoSuchBucket",
        "NoSuchKey",
        "NotFound",
        "404",
        "ResourceNotFoundException",
        "ResourceNotFound",
        "InvalidInstanceID.NotFound",
    }
)
_INVALID_CODES: Final = frozenset(
    {"InvalidParameterValue", "InvalidParameterCombination", "MissingParameter", "InvalidAddress"}
)

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s\"']+@")
_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{12,}\b")
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|credential|signature|authorization|x-amz-security-token)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)
_LONG_SECRET = re.compile(r"\b[A-Za-z0-9/+]{40}\b")
_MAX_DETAIL: Final = 300
_EMBEDDED_CODE: Final = re.compile(r"<Code>([^<]{1,100})</Code>")
#: AWS (and moto) name the refused action: ``... is not authorized to perform: sqs:GetQueueAttributes on ...``.
_AWS_ACTION: Final = re.compile(r"not authorized to perform:?\s+([a-z0-9-]+:[A-Za-z0-9]+)")
#: IAM actions whose name is not ``<service>:<Operation>`` (S3 answers a bare ``Access Denied``).
_IAM_ACTION_OF: Final = {
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
}
_REDIS_COMMAND: Final = re.compile(r"permissions to run the '([^']+)' command")
_REDIS_KEY: Final = re.compile(r"permissions to access (?:a|the '([^']+)') key")
_PG_OBJECT: Final = re.compile(r"permission denied for (table|relation|view|sequence|schema|database) \"?([\w.]+)")
_PG_PRIVILEGE: Final = {
    "table": "SELECT ON",
    "relation": "SELECT ON",
    "view": "SELECT ON",
    "sequence": "SELECT ON SEQUENCE",
    "schema": "USAGE ON SCHEMA",
    "database": "CONNECT ON DATABASE",
}
_EMBEDDED_MESSAGE: Final = re.compile(r"<Message>([^<]{0,500})</Message>")


def redact(text: str) -> str:
    """Return ``text`` on one line, without URL userinfo, access keys or ``password=...`` values."""
    line = " ".join(text.split())
    line = _USERINFO.sub(r"\g<scheme>***@", line)
    line = _ACCESS_KEY.sub("***", line)
    line = _ASSIGNED_SECRET.sub(r"\1\2***", line)
    line = _LONG_SECRET.sub("***", line)
    if len(line) > _MAX_DETAIL:
        line = line[: _MAX_DETAIL - 3] + "..."
    return line


class ProbeError(Exception):
    """A dependency could not answer a probe.

    ``dependency`` names the service ("sqs", "redis", "database", ...), ``kind`` says how it failed
    (one of :data:`KINDS`), ``detail`` is one secret-free line and ``code`` the provider's own error
    code when there is one (``InvalidClientTokenId``, ``42P01``, ``404``). For ``denied``, ``action`` is the
    permission the identity lacks when the answer tells it (``sqs:GetQueueAttributes``, Redis ``+mget``,
    PostgreSQL ``SELECT ON video_video``): the skip message names it, so a missing grant is never a mystery.
    """

    dependency: str
    kind: Kind
    detail: str
    code: str | None
    action: str | None

    def __init__(
        self, dependency: str, kind: Kind, detail: str, *, code: str | None = None, action: str | None = None
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown ProbeError kind {kind!r}")
        self.dependency = dependency
        self.kind = kind
        self.detail = redact(detail)
        self.code = code
        self.action = action
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.action:
            return f"{self.dependency}: denied: missing permission {self.action} ({self.detail})"
        if not self.detail:
            return f"{self.dependency}: {self.kind}"
        # Details that already open with the kind ("timeout after 3.0s ...") are not prefixed twice.
        if self.detail.split(" ", 1)[0].rstrip(":,") == self.kind:
            return f"{self.dependency}: {self.detail}"
        return f"{self.dependency}: {self.kind}: {self.detail}"

    def __repr__(self) -> str:
        return (
            f"ProbeError(dependency={self.dependency!r}, kind={self.kind!r}, "
            f"detail={self.detail!r}, code={self.code!r}, action={self.action!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.dependency, self.kind, self.detail, self.code, self.action))


def _rebuild(dependency: str, kind: Kind, detail: str, code: str | None, action: str | None = None) -> ProbeError:
    return ProbeError(dependency, kind, detail, code=code, action=action)


def _timeout_detail(timeout: float | None, where: str | None) -> str:
    text = "timeout" if timeout is None else f"timeout after {float(timeout)}s"
    return f"{text} ({where})" if where else text


def from_boto(
    exc: BaseException, dependency: str, *, timeout: float | None = None, service: str | None = None
) -> ProbeError:
    """Classify a botocore/boto3 exception (``ClientError`` codes, connection and credential errors).

    ``service``: the client's service name (``sqs``, ``s3``), to name the IAM action of a refusal that does not
    name it itself."""
    if isinstance(exc, ProbeError):
        return exc
    if isinstance(exc, boto_exc.ClientError):
        return _from_client_error(exc, dependency, service)
    kwargs: dict[str, Any] = getattr(exc, "kwargs", {}) or {}
    endpoint = kwargs.get("endpoint_url")
    where = str(endpoint).rstrip("/") if endpoint else None
    if isinstance(exc, (boto_exc.ConnectTimeoutError, boto_exc.ReadTimeoutError)):
        return ProbeError(dependency, "timeout", _timeout_detail(timeout, where))
    if isinstance(exc, (boto_exc.NoCredentialsError, boto_exc.PartialCredentialsError)):
        return ProbeError(dependency, "auth", f"credentials missing: {exc}")
    if isinstance(exc, (boto_exc.TokenRetrievalError, boto_exc.NoAuthTokenError)):
        return ProbeError(dependency, "auth", f"credentials missing: {exc}")
    if isinstance(exc, boto_exc.EndpointConnectionError):
        inner = kwargs.get("error")
        if isinstance(inner, BaseException) and _is_name_error(inner):
            return ProbeError(dependency, "unreachable", f"unreachable: host not found ({where})")
        return ProbeError(dependency, "unreachable", f"unreachable: cannot connect to {where}")
    if isinstance(exc, (boto_exc.ConnectionClosedError, boto_exc.ConnectionError)):
        return ProbeError(dependency, "unreachable", f"unreachable: {exc}")
    if isinstance(exc, (boto_exc.ParamValidationError, boto_exc.NoRegionError)):
        return ProbeError(dependency, "invalid", str(exc))
    if isinstance(exc, OSError):
        return from_os(exc, dependency, timeout=timeout)
    return ProbeError(dependency, "error", f"{type(exc).__name__}: {exc}")


def _is_name_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror) or "Name or service not known" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _denied_action(message: str, service: str | None, operation: str) -> str | None:
    named = _AWS_ACTION.search(message)
    if named:
        return named.group(1)
    if service and operation and operation != "request":
        return _IAM_ACTION_OF.get((service, operation), f"{service}:{operation}")
    return None


def _from_client_error(exc: Any, dependency: str, service: str | None = None) -> ProbeError:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    error: dict[str, Any] = response.get("Error", {}) or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    embedded = _EMBEDDED_CODE.search(message)
    if embedded and (not code or code.isdigit()):
        # A query-protocol XML body answered to a JSON-protocol client: the code is inside the message.
        code = embedded.group(1).strip()
        inner = _EMBEDDED_MESSAGE.search(message)
        message = inner.group(1).strip() if inner else ""
    operation = getattr(exc, "operation_name", "") or "request"
    detail = f"{operation}: {code}" + (f" {message}" if message else "")
    kind: Kind
    if code in _AUTH_CODES:
        kind = "auth"
    elif code in _DENIED_CODES or (not code and status == 403):
        kind = "denied"
    elif code in _NOT_FOUND_CODES or (code == "ValidationError" and "not found" in message.lower()):
        kind = "not-found"
    elif code in _INVALID_CODES or code == "ValidationError":
        kind = "invalid"
    elif code in ("RequestTimeout", "RequestTimeoutException"):
        kind = "timeout"
    elif status == 404:
        kind = "not-found"
    else:
        kind = "error"
    action = _denied_action(message, service, operation) if kind == "denied" else None
    return ProbeError(dependency, kind, detail, code=code or (str(status) if status else None), action=action)


def from_redis(exc: BaseException, *, target: str | None = None, timeout: float | None = None) -> ProbeError:
    """Classify a redis-py exception; ``target`` ("host:port/db") is added to the detail."""
    if isinstance(exc, ProbeError):
        return exc
    where = f" ({target})" if target else ""
    text = str(exc)
    if isinstance(exc, (redis.exceptions.TimeoutError, TimeoutError, socket.timeout)):
        return ProbeError("redis", "timeout", _timeout_detail(timeout, target))
    if isinstance(exc, redis.exceptions.AuthenticationError) or "NOAUTH" in text or "WRONGPASS" in text:
        return ProbeError("redis", "auth", f"auth: {text}{where}")
    if isinstance(exc, (redis.exceptions.NoPermissionError, redis.exceptions.AuthorizationError)):
        command, key = _REDIS_COMMAND.search(text), _REDIS_KEY.search(text)
        action = None
        if command:
            action = f"+{command.group(1)}"
        elif key:
            action = f"%R~ read access to the key{' ' + key.group(1) if key.group(1) else 's'} it reads"
        return ProbeError("redis", "denied", f"denied: {text}{where}", action=action)
    if isinstance(exc, redis.exceptions.ConnectionError):
        if "Name or service not known" in text or "nodename nor servname" in text or _is_name_error(exc):
            return ProbeError("redis", "unreachable", f"unreachable: host not found{where}")
        if "Timeout" in text or "timed out" in text:
            return ProbeError("redis", "timeout", _timeout_detail(timeout, target))
        return ProbeError("redis", "unreachable", f"unreachable: {text}")
    if isinstance(exc, OSError):
        return from_os(exc, "redis", timeout=timeout, target=target)
    return ProbeError("redis", "error", f"{type(exc).__name__}: {text}{where}")


_PG_AUTH_STATES: Final = frozenset({"28000", "28P01"})
_PG_DENIED_STATES: Final = frozenset({"42501", "25006"})
_PG_NOT_FOUND_STATES: Final = frozenset({"42P01", "42703", "3D000", "3F000"})


def from_db(exc: BaseException, *, timeout: float | None = None) -> ProbeError:
    """Classify a sqlite3 or psycopg exception as a ``database`` ProbeError."""
    if isinstance(exc, ProbeError):
        return exc
    text = str(exc)
    lower = text.lower()
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        if state == "57014" or "timeout expired" in lower or isinstance(exc, psycopg.errors.QueryCanceled):
            return ProbeError("database", "timeout", _timeout_detail(timeout, None), code=state)
        if state in _PG_AUTH_STATES or "password authentication failed" in lower:
            return ProbeError("database", "auth", f"auth: {text}", code=state)
        if state in _PG_DENIED_STATES or "permission denied" in lower:
            granted = _PG_OBJECT.search(text)
            action = f"{_PG_PRIVILEGE[granted.group(1)]} {granted.group(2)}" if granted else None
            return ProbeError("database", "denied", f"denied: {text}", code=state, action=action)
        if state in _PG_NOT_FOUND_STATES or ("database" in lower and "does not exist" in lower):
            return ProbeError("database", "not-found", f"not-found: {text}", code=state)
        if "could not translate host name" in lower or "failed to resolve host" in lower:  # libpq / psycopg 3
            return ProbeError("database", "unreachable", f"unreachable: host not found: {text}", code=state)
        if isinstance(exc, psycopg.OperationalError) and (
            "connection refused" in lower or "connection failed" in lower or "could not connect" in lower
        ):
            return ProbeError("database", "unreachable", f"unreachable: {text}", code=state)
        if isinstance(exc, psycopg.ProgrammingError) and state is None:
            return ProbeError("database", "invalid", f"invalid: {text}")
        return ProbeError("database", "error", f"{type(exc).__name__}: {text}", code=state)
    if isinstance(exc, sqlite3.Error):
        if "no such table" in lower or "no such column" in lower:
            return ProbeError("database", "not-found", f"not-found: {text}")
        if "readonly" in lower or "read-only" in lower or "not authorized" in lower:
            return ProbeError("database", "denied", f"denied: {text}")
        if "database is locked" in lower:
            return ProbeError("database", "timeout", _timeout_detail(timeout, "database is locked"))
        if "unable to open" in lower:
            return ProbeError("database", "unreachable", f"unreachable: {text}")
        return ProbeError("database", "error", f"{type(exc).__name__}: {text}")
    if isinstance(exc, OSError):
        return from_os(exc, "database", timeout=timeout)
    return ProbeError("database", "error", f"{type(exc).__name__}: {text}")


def from_docker(exc: BaseException, *, timeout: float | None = None) -> ProbeError:
    """Classify a Docker SDK (or underlying requests/socket) exception."""
    if isinstance(exc, ProbeError):
        return exc
    import docker.errors
    import requests.exceptions

    text = str(exc)
    if isinstance(exc, docker.errors.NotFound):
        return ProbeError("docker", "not-found", f"not-found: {text}", code="404")
    if isinstance(exc, docker.errors.APIError):
        status = getattr(exc, "status_code", None)
        if status == 401:
            return ProbeError("docker", "auth", f"auth: {text}", code="401")
        if status == 403:
            return ProbeError("docker", "denied", f"denied: {text}", code="403")
        return ProbeError("docker", "error", text, code=str(status) if status else None)
    if isinstance(exc, requests.exceptions.Timeout):
        return ProbeError("docker", "timeout", _timeout_detail(timeout, "docker engine"))
    if isinstance(exc, requests.exceptions.ConnectionError):
        return ProbeError("docker", "unreachable", f"unreachable: {text}")
    if isinstance(exc, docker.errors.DockerException):
        lower = text.lower()
        if "permission denied" in lower:
            return ProbeError("docker", "denied", f"denied: {text}")
        if "timed out" in lower or "timeout" in lower:
            return ProbeError("docker", "timeout", _timeout_detail(timeout, "docker engine"))
        if "connection" in lower or "no such file" in lower or "fetching server api version" in lower:
            return ProbeError("docker", "unreachable", f"unreachable: {text}")
        return ProbeError("docker", "error", text)
    if isinstance(exc, OSError):
        return from_os(exc, "docker", timeout=timeout)
    return ProbeError("docker", "error", f"{type(exc).__name__}: {text}")


def from_os(
    exc: BaseException, dependency: str, *, timeout: float | None = None, target: str | None = None
) -> ProbeError:
    """Classify a socket/OS error: refused or unresolvable → unreachable, timed out → timeout."""
    if isinstance(exc, ProbeError):
        return exc
    where = f" ({target})" if target else ""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ProbeError(dependency, "timeout", _timeout_detail(timeout, target))
    if isinstance(exc, socket.gaierror):
        return ProbeError(dependency, "unreachable", f"unreachable: host not found{where}")
    if isinstance(exc, ConnectionRefusedError):
        return ProbeError(dependency, "unreachable", f"unreachable: connection refused{where}")
    if isinstance(exc, PermissionError):
        return ProbeError(dependency, "denied", f"denied: {exc.strerror or exc}{where}")
    if isinstance(exc, (FileNotFoundError, ProcessLookupError)):
        name = getattr(exc, "filename", None) or target or ""
        return ProbeError(dependency, "not-found", f"not-found: {name}".rstrip(": "))
    if isinstance(exc, OSError) and exc.errno in (
        errno.ECONNRESET,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
        errno.ECONNABORTED,
        errno.EPIPE,
    ):
        return ProbeError(dependency, "unreachable", f"unreachable: {exc.strerror or exc}{where}")
    return ProbeError(dependency, "error", f"{type(exc).__name__}: {exc}{where}")
