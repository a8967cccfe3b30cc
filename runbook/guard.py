"""The read-only guard: in live mode no client the suite builds can change production.

Probes only read, and the probes' own door (``runbook.probes._aws``) refuses non-read operation names. This
guard sits one level lower, on the clients themselves, so that a future check that calls a client directly
(``sqs.receive_message(...)``, ``r.delete(...)``, ``conn.execute("UPDATE ...")``) is stopped too:

- boto3: a ``before-parameter-build`` handler refuses every operation that is not ``Get*``, ``Describe*``,
  ``List*``, ``Head*`` (or ``FilterLogEvents``) before anything is signed or sent; one ``ssm:SendCommand`` of
  exactly the fleet's read-only log command passes inside ``runbook.guard_commands.allow_run_command``;
- Redis: the connection class refuses every command outside an allow-list of reads (pipelines included);
- SQL: cursors refuse any statement that is not a read (``SELECT``/``WITH``/``SHOW``/reading ``PRAGMA``s),
  on top of the read-only connection the database itself enforces (sqlite ``mode=ro``, PostgreSQL
  ``default_transaction_read_only``);
- Docker: the API client refuses any HTTP method but ``GET``/``HEAD``;
- HTTP to the API (``runbook.probes.api``): any method but ``GET``/``HEAD`` is refused, except inside
  :func:`allow_http_once`, which lets exactly one request with exactly that method and URL through. The
  opt-in canary (``--canary-video-id``) is the only user: one ``POST .../media/videos/{id}/retry/``.

The hooks are installed on every client ``runbook.clients`` builds and consult a process-wide switch at call
time: :func:`enable_guard` (the pytest plugin does so in live mode). Off by default, so self-tests may still
set up emulated state with the same client builders.

A refusal is :class:`MutationRefused`, a ``BaseException``: probes and checks catch ``Exception`` to turn
dependency failures into ``unknown``, and an attempted write must never be mistaken for one. It fails the
check that made it, loudly, with the operation named.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import psycopg

from runbook import guard_commands

_state = {"enabled": False}
_Client = TypeVar("_Client")

#: boto3 operations that only read. Anything else (ReceiveMessage, DeleteMessage, ChangeMessageVisibility,
#: SetDesiredCapacity, Invoke, Put*, ...) is refused.
AWS_READ_PREFIXES: Final = ("Get", "Describe", "List", "Head")
#: Read-like operations outside the prefixes: log reads, and AssumeRole of ``--worker-role-arn`` (temporary
#: credentials to check the worker's identity: nothing the runbook observes changes).
AWS_READ_OPERATIONS: Final = frozenset({"FilterLogEvents", "AssumeRole"})

#: Redis commands that only read (plus connection set-up). ``KEYS`` is absent on purpose: O(N) on a busy
#: production Redis; ``SCAN`` does the same without blocking it.
REDIS_READ_COMMANDS: Final = frozenset(
    {
        # connection set-up and server state
        "AUTH", "HELLO", "SELECT", "PING", "ECHO", "INFO", "TIME", "DBSIZE", "LASTSAVE", "ROLE", "READONLY",
        # keys and strings
        "GET", "MGET", "STRLEN", "GETRANGE", "SUBSTR", "EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME",
        "PEXPIRETIME", "DUMP", "SCAN", "GETBIT", "BITCOUNT", "BITPOS",
        # hashes, lists, sets, sorted sets, streams
        "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN", "HSCAN",
        "LLEN", "LRANGE", "LINDEX", "LPOS",
        "SCARD", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SSCAN",
        "ZCARD", "ZCOUNT", "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZSCORE", "ZMSCORE",
        "ZRANK", "ZREVRANK", "ZSCAN", "ZLEXCOUNT",
        "XLEN", "XRANGE", "XREVRANGE",
    }
)  # fmt: skip
#: Container commands whose listed subcommands only read. ``CLIENT SETINFO`` / ``MAINT_NOTIFICATIONS`` are
#: redis-py's own connection set-up (labels and notifications for this connection, no data).
REDIS_READ_SUBCOMMANDS: Final = {
    "CLIENT": frozenset({"SETINFO", "GETNAME", "ID", "INFO", "MAINT_NOTIFICATIONS"}),
    "CONFIG": frozenset({"GET"}),
    "OBJECT": frozenset({"ENCODING", "FREQ", "IDLETIME", "REFCOUNT"}),
    "MEMORY": frozenset({"USAGE", "STATS"}),
    "COMMAND": frozenset({"COUNT", "DOCS", "INFO", "LIST", "GETKEYS"}),
    "XINFO": frozenset({"STREAM", "GROUPS", "CONSUMERS"}),
}

_SQL_READ_FIRST_WORDS: Final = frozenset({"SELECT", "WITH", "VALUES", "SHOW", "TABLE", "PRAGMA", "EXPLAIN"})
_SQL_WRITE_WORDS: Final = frozenset(
    {"INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "DROP", "ALTER", "CREATE", "GRANT", "REVOKE", "ANALYZE",
     "INTO", "NEXTVAL", "SETVAL", "PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND"}
)  # fmt: skip
#: ``PRAGMA x`` / ``PRAGMA x(arg)`` that only report; ``query_only = ON`` only restricts the connection.
_SQLITE_READ_PRAGMAS: Final = frozenset(
    {"DATABASE_LIST", "TABLE_INFO", "TABLE_XINFO", "TABLE_LIST", "INDEX_LIST", "INDEX_INFO", "INDEX_XINFO",
     "FOREIGN_KEY_LIST", "QUERY_ONLY", "USER_VERSION", "SCHEMA_VERSION", "ENCODING", "PAGE_COUNT", "PAGE_SIZE"}
)  # fmt: skip
_SQL_NOISE: Final = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)
_PRAGMA: Final = re.compile(r"^PRAGMA\s+(?:\w+\.)?(\w+)\s*(?:(=)\s*(\w+)|\(\s*[\w.]*\s*\))?\s*;?\s*$", re.I)


class MutationRefused(BaseException):
    """A live run tried to change something; the guard refused before the request left.

    A ``BaseException`` so that no ``except Exception`` in a probe or check can turn it into ``unknown``.
    """

    def __init__(self, service: str, operation: str) -> None:
        self.service = service
        self.operation = operation
        super().__init__(f"runbook guard: the live run is read-only; refused {service} {operation}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.service, self.operation))


# -- the switch --------------------------------------------------------------------------------------------


def guard_enabled() -> bool:
    """True while mutating calls are refused."""
    return _state["enabled"]


def set_guard(enabled: bool) -> bool:
    """Switch the guard on or off; returns the previous setting (for restoring it)."""
    previous = _state["enabled"]
    _state["enabled"] = bool(enabled)
    return previous


def enable_guard() -> bool:
    """Refuse mutating calls from now on; returns the previous setting."""
    return set_guard(True)


def disable_guard() -> bool:
    """Allow them again (self-tests that set up emulated state); returns the previous setting."""
    return set_guard(False)


@contextmanager
def guarded(enabled: bool = True) -> Iterator[None]:
    """``with guarded(): ...`` — the guard set to ``enabled`` for the block, then restored."""
    previous = set_guard(enabled)
    try:
        yield
    finally:
        set_guard(previous)


# -- boto3 -------------------------------------------------------------------------------------------------


def aws_operation_is_read(operation: str) -> bool:
    """``GetQueueAttributes`` yes, ``ReceiveMessage`` / ``PutRule`` / ``SetDesiredCapacity`` no."""
    return operation.startswith(AWS_READ_PREFIXES) or operation in AWS_READ_OPERATIONS


def _refuse_aws(model: Any = None, params: Any = None, **_: Any) -> None:
    if not guard_enabled() or model is None:
        return
    operation = str(getattr(model, "name", ""))
    if operation == "SendCommand" and guard_commands.permits(params):
        return  # the fleet's read-only log command, allowed once by its exact shape (runbook.guard_commands)
    if not aws_operation_is_read(operation):
        service = str(getattr(getattr(model, "service_model", None), "service_name", "aws"))
        raise MutationRefused(service, operation)


def guard_boto_client(client: _Client) -> _Client:
    """Install the read-only hook on a boto3 client (idempotent); returns the client."""
    events: Any = getattr(client, "meta").events  # noqa: B009 - boto3 clients are untyped
    events.register("before-parameter-build", _refuse_aws, unique_id="runbook-guard-read-only")
    return client


# -- Redis -------------------------------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _redis_words(args: Iterable[object]) -> list[str]:
    """The command and its first argument, upper-cased; redis-py may send ``"CONFIG GET"`` as one argument."""
    items = list(args)[:2]
    if not items:
        return []
    return [word.upper() for word in (_text(items[0]).split() + [_text(item) for item in items[1:]])[:2]]


def redis_command_is_read(args: Iterable[object]) -> bool:
    """``("GET", key)`` yes; ``("SET", ...)``, ``("DEL", ...)``, ``("EXPIRE", ...)`` no."""
    words = _redis_words(args)
    if not words:
        return True
    if words[0] in REDIS_READ_SUBCOMMANDS:
        return len(words) > 1 and words[1] in REDIS_READ_SUBCOMMANDS[words[0]]
    return words[0] in REDIS_READ_COMMANDS


def _check_redis(args: tuple[object, ...]) -> None:
    if guard_enabled() and not redis_command_is_read(args):
        words = _redis_words(args)
        container = len(words) > 1 and words[0] in REDIS_READ_SUBCOMMANDS
        raise MutationRefused("redis", " ".join(words[:2]) if container else words[0])


_GUARDED_REDIS: dict[type, type] = {}


def _guarded_connection_class(base: type) -> type:
    if getattr(base, "_runbook_guarded", False):
        return base
    if base not in _GUARDED_REDIS:

        def send_command(self: Any, *args: Any, **kwargs: Any) -> Any:
            _check_redis(args)
            return base.send_command(self, *args, **kwargs)  # type: ignore[attr-defined]

        def pack_command(self: Any, *args: Any) -> Any:
            _check_redis(args)
            return base.pack_command(self, *args)  # type: ignore[attr-defined]

        def pack_commands(self: Any, commands: Any) -> Any:
            commands = list(commands)
            for command in commands:
                _check_redis(tuple(command))
            return base.pack_commands(self, commands)  # type: ignore[attr-defined]

        namespace = {
            "send_command": send_command,
            "pack_command": pack_command,
            "pack_commands": pack_commands,
            "_runbook_guarded": True,
        }
        _GUARDED_REDIS[base] = type(f"ReadOnly{base.__name__}", (base,), namespace)
    return _GUARDED_REDIS[base]


def guard_redis(client: _Client) -> _Client:
    """Make a ``redis.Redis`` client's connections refuse write commands; returns the client.

    Call before first use: the pool's connection class is swapped and any pooled connection dropped.
    """
    pool: Any = getattr(client, "connection_pool")  # noqa: B009 - typed as the caller's client type
    pool.connection_class = _guarded_connection_class(pool.connection_class)
    pool.disconnect()
    pool.reset()
    return client


# -- SQL ---------------------------------------------------------------------------------------------------


def sql_is_read(sql: str) -> bool:
    """A single statement that only reads: ``SELECT``/``WITH``/``VALUES``/``SHOW``, ``EXPLAIN`` without
    ``ANALYZE``, or a reporting ``PRAGMA``. ``SELECT ... INTO``, ``FOR UPDATE`` and writing CTEs are not."""
    text = _SQL_NOISE.sub(" ", sql).strip()
    if ";" in text.rstrip().rstrip(";"):
        return False  # more than one statement
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text.upper())
    if not words or words[0] not in _SQL_READ_FIRST_WORDS:
        return False
    if words[0] == "PRAGMA":
        match = _PRAGMA.match(text)
        if not match:
            return False
        name, assigns, value = match.group(1).upper(), match.group(2), (match.group(3) or "").upper()
        if assigns:
            return name == "QUERY_ONLY" and value in ("ON", "1", "TRUE", "YES")
        return name in _SQLITE_READ_PRAGMAS
    if any(word in _SQL_WRITE_WORDS for word in words):
        return False
    return not re.search(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b", " ".join(words))


def _statement_name(sql: str) -> str:
    words = re.findall(r"[A-Za-z_]+", _SQL_NOISE.sub(" ", sql))
    return " ".join(words[:2]).upper() or "(empty statement)"


def _check_sql(sql: object) -> None:
    if guard_enabled():
        text = sql.as_string(None) if hasattr(sql, "as_string") else _text(sql)  # psycopg.sql.Composable
        if not sql_is_read(text):
            raise MutationRefused("database", _statement_name(text))


class ReadOnlySqliteCursor(sqlite3.Cursor):
    """A sqlite3 cursor that refuses statements that are not reads (while the guard is on)."""

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        _check_sql(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:
        _check_sql(sql)
        return super().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> Any:
        for statement in sql_script.split(";"):
            if statement.strip():
                _check_sql(statement)
        return super().executescript(sql_script)


class ReadOnlySqliteConnection(sqlite3.Connection):
    """``sqlite3.connect(..., factory=ReadOnlySqliteConnection)``: every cursor is a read-only one."""

    def cursor(self, factory: Callable[..., Any] | None = None) -> Any:
        return super().cursor(factory or ReadOnlySqliteCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self.cursor().executemany(sql, parameters)

    def executescript(self, sql_script: str, /) -> Any:
        return self.cursor().executescript(sql_script)


class ReadOnlyPgCursor(psycopg.Cursor[Any]):
    """A psycopg cursor that refuses statements that are not reads (while the guard is on)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        _check_sql(query)
        return super().execute(query, params, **kwargs)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        _check_sql(query)
        super().executemany(query, params_seq, **kwargs)

    def stream(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        _check_sql(query)
        return super().stream(query, params, **kwargs)

    def copy(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if guard_enabled():
            raise MutationRefused("database", "COPY")
        return super().copy(statement, params, **kwargs)


def guard_db(conn: _Client) -> _Client:
    """Route a psycopg connection's cursors through :class:`ReadOnlyPgCursor`; returns the connection.

    sqlite connections get theirs from ``factory=ReadOnlySqliteConnection`` at connect time.
    """
    if isinstance(conn, psycopg.Connection):
        conn.cursor_factory = ReadOnlyPgCursor
    return conn


# -- Docker ------------------------------------------------------------------------------------------------


def guard_docker(client: _Client) -> _Client:
    """Make a ``docker.DockerClient`` refuse every request but ``GET``/``HEAD`` (stop, exec, kill, ...)."""
    api: Any = getattr(client, "api", client)
    if getattr(api, "_runbook_guarded", False):
        return client
    original = api.request

    def request(method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if guard_enabled() and str(method).upper() not in ("GET", "HEAD"):
            path = str(url).split("://", 1)[-1]
            path = "/" + path.split("/", 1)[1] if "/" in path else path
            raise MutationRefused("docker", f"{str(method).upper()} {path}")
        return original(method, url, *args, **kwargs)

    api.request = request
    api._runbook_guarded = True
    return client


# -- HTTP (the API) ----------------------------------------------------------------------------------------


@dataclass
class HttpAllowance:
    """Exactly ``remaining`` more ``method url`` requests may pass while the guard is on."""

    method: str
    url: str
    remaining: int = 1
    used: int = 0


_http_lock = threading.Lock()
_http_allowances: list[HttpAllowance] = []


def _http_target(url: str) -> str:
    """``POST /media/videos/111/retry/`` style: no host, no query (they may carry credentials)."""
    return urllib.parse.urlsplit(url).path or "/"


def check_http(method: str, url: str) -> None:
    """Refuse an HTTP request that is not ``GET``/``HEAD`` while the guard is on, unless an allowance made by
    :func:`allow_http_once` covers exactly this method and URL (and has not been used up)."""
    verb = method.upper()
    if not guard_enabled() or verb in ("GET", "HEAD"):
        return
    with _http_lock:
        for allowance in _http_allowances:
            if allowance.method == verb and allowance.url == url and allowance.remaining > 0:
                allowance.remaining -= 1
                allowance.used += 1
                return
    raise MutationRefused("http", f"{verb} {_http_target(url)}")


@contextmanager
def allow_http_once(method: str, url: str) -> Iterator[HttpAllowance]:
    """``with allow_http_once("POST", retry_url): ...``: one request with exactly this method and URL may pass;
    a second one, another URL or method, and every other write (SQS, Redis, SQL, Docker) stay refused."""
    allowance = HttpAllowance(method.upper(), url)
    with _http_lock:
        _http_allowances.append(allowance)
    try:
        yield allowance
    finally:
        with _http_lock:
            _http_allowances.remove(allowance)
