"""Video rows (runbook §9 "DB status", appendix "different DB") on sqlite3 or psycopg connections.

SELECT only. The table name comes from an option, so it is checked against an identifier pattern
and quoted; ids travel as one bound parameter per batch (``json_each`` / ``= ANY``), never as text.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeAlias

import psycopg
import psycopg.pq

from runbook import production
from runbook.probes.errors import ProbeError, from_db

Connection: TypeAlias = "sqlite3.Connection | psycopg.Connection[Any]"

BATCH_SIZE: Final = 1000
STUCK_STATUSES: Final = ("UPLOADED", "PROCESSING")
_IDENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_TIME_COLUMNS: Final = ("updated_at", "modified_at", "created_at")


@dataclass(frozen=True)
class VideoRow:
    """One video row; ``updated_at`` is the row's update time (else its creation time), UTC. The tenant is the
    row's own ``tenant_id`` column, else the real schema's video → session → lecture → tenant
    (``runbook.production``); ``None`` when neither can be read."""

    id: int
    status: str
    hls_path: str | None
    updated_at: datetime | None
    tenant_id: int | None = None
    tenant_code: str | None = None


@dataclass(frozen=True)
class _Columns:
    table_sql: str
    hls: str | None
    time: str | None
    #: SELECT expressions for the tenant's id and code, and the joins they need.
    tenant: tuple[str, str, str] = ("NULL", "NULL", "")


def _quote_table(table: str) -> str:
    parts = table.split(".")
    if not 1 <= len(parts) <= 2 or not all(_IDENT.match(part) for part in parts):
        raise ProbeError("database", "invalid", f"invalid table name {table!r}")
    return ".".join(f'"{part}"' for part in parts)


def _is_sqlite(conn: Connection) -> bool:
    return isinstance(conn, sqlite3.Connection)


def _run(conn: Connection, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Execute one SELECT; end the implicit transaction psycopg opened so none stays idle."""
    idle_before = (
        isinstance(conn, psycopg.Connection)
        and not conn.autocommit
        and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    )
    try:
        if isinstance(conn, sqlite3.Connection):
            cursor: Any = conn.execute(sql, tuple(params))
        else:
            cursor = conn.execute(sql.replace("?", "%s"), tuple(params))
        names = [str(column[0]) for column in cursor.description or ()]
        rows: list[tuple[Any, ...]] = [tuple(row) for row in cursor.fetchall()]
    except (sqlite3.Error, psycopg.Error) as exc:
        if idle_before and isinstance(conn, psycopg.Connection):
            conn.rollback()
        raise from_db(exc) from exc
    if idle_before and isinstance(conn, psycopg.Connection):
        conn.rollback()
    return names, rows


def _columns(conn: Connection, table: str, refused: list[ProbeError] | None = None) -> _Columns:
    table_sql = _quote_table(table)
    names, _ = _run(conn, f"SELECT * FROM {table_sql} LIMIT 0")
    lower = {name.lower(): name for name in names}
    for required in ("id", "status"):
        if required not in lower:
            raise ProbeError("database", "not-found", f"not-found: table {table} has no column {required!r}")
    time = next((lower[name] for name in _TIME_COLUMNS if name in lower), None)
    tenant = _tenant(conn, lower, [] if refused is None else refused)
    return _Columns(table_sql=table_sql, hls=lower.get("hls_path"), time=time, tenant=tenant)


def _has_columns(conn: Connection, table: str, *names: str, refused: list[ProbeError]) -> bool:
    try:
        found, _ = _run(conn, f'SELECT * FROM "{table}" LIMIT 0')
    except ProbeError as exc:  # no such table, or not readable: no join through it
        if exc.kind == "denied":
            refused.append(exc)  # the rows are still read; the missing grant is named (permissions_missing)
        return False
    return set(names) <= {name.lower() for name in found}


def _tenant(conn: Connection, lower: dict[str, str], refused: list[ProbeError]) -> tuple[str, str, str]:
    """How to read a video's tenant: its own column, or production's session → lecture → tenant chain. A
    table of the chain the identity may not read is appended to ``refused`` (the tenant is then unknown, or
    its code is)."""
    if "tenant_id" in lower:
        return f'v."{lower["tenant_id"]}"', "NULL", ""
    if "session_id" not in lower:
        return "NULL", "NULL", ""
    session, lecture, tenant = production.SESSION_TABLE, production.LECTURE_TABLE, production.TENANT_TABLE
    readable = [
        _has_columns(conn, session, "id", "lecture_id", refused=refused),
        _has_columns(conn, lecture, "id", "tenant_id", refused=refused),
    ]
    if not all(readable):
        return "NULL", "NULL", ""
    joins = (
        f' LEFT JOIN "{session}" s ON s."id" = v."{lower["session_id"]}"'
        f' LEFT JOIN "{lecture}" l ON l."id" = s."lecture_id"'
    )
    code = "NULL"
    if _has_columns(conn, tenant, "id", "code", refused=refused):
        joins += f' LEFT JOIN "{tenant}" t ON t."id" = l."tenant_id"'
        code = 't."code"'
    return 'l."tenant_id"', code, joins


def _select(columns: _Columns) -> str:
    hls = f'v."{columns.hls}"' if columns.hls else "NULL"
    time = f'v."{columns.time}"' if columns.time else "NULL"
    tenant_id, code, joins = columns.tenant
    return f'SELECT v."id", v."status", {hls}, {time}, {tenant_id}, {code} FROM {columns.table_sql} v{joins}'


def _as_datetime(value: object) -> datetime | None:
    parsed: datetime | None
    if type(value) is str:
        # sqlite's naive text timestamps, the common case: one C call gives the aware UTC value (a stamp
        # that has a zone already fails here and takes the general path below).
        try:
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            pass
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    else:
        text = value.decode() if isinstance(value, bytes) else str(value)
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            return None
    # Django stores naive datetimes in UTC (USE_TZ) on sqlite.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _row(raw: tuple[Any, ...]) -> VideoRow:
    video_id, status, hls_path, stamp, tenant_id, tenant_code = raw
    return VideoRow(
        id=int(video_id),
        status=str(status),
        hls_path=None if hls_path in (None, "") else str(hls_path),
        updated_at=_as_datetime(stamp),
        tenant_id=int(tenant_id) if isinstance(tenant_id, int) or str(tenant_id or "").isdigit() else None,
        tenant_code=str(tenant_code) if tenant_code not in (None, "") else None,
    )


def _ids(ids: Iterable[int]) -> list[int]:
    checked: list[int] = []
    for video_id in ids:
        if isinstance(video_id, bool) or not isinstance(video_id, int):
            raise ProbeError("database", "invalid", f"video id {video_id!r} is not an integer")
        checked.append(video_id)
    return list(dict.fromkeys(checked))


def video_rows(
    conn: Connection,
    table: str,
    ids: Iterable[int],
    *,
    batch_size: int = BATCH_SIZE,
    refused: list[ProbeError] | None = None,
) -> dict[int, VideoRow]:
    """Rows for ``ids`` (missing ids are absent from the answer), one query per ``batch_size`` ids. A table of
    the tenant join the identity may not read is appended to ``refused`` (see :func:`_tenant`)."""
    unique = _ids(ids)
    columns = _columns(conn, table, refused)
    base = _select(columns)
    found: dict[int, VideoRow] = {}
    for start in range(0, len(unique), batch_size):
        batch = unique[start : start + batch_size]
        if _is_sqlite(conn):
            sql = f'{base} WHERE v."id" IN (SELECT value FROM json_each(?))'
            param: object = "[" + ",".join(str(video_id) for video_id in batch) + "]"
        else:
            sql, param = f'{base} WHERE v."id" = ANY(?)', batch
        _, rows = _run(conn, sql, (param,))
        for raw in rows:
            row = _row(raw)
            found[row.id] = row
    return found


def stuck_videos(
    conn: Connection,
    table: str,
    older_than_seconds: float,
    now: datetime | None = None,
    limit: int = 100,
    *,
    statuses: Sequence[str] = STUCK_STATUSES,
    refused: list[ProbeError] | None = None,
) -> list[VideoRow]:
    """Videos still in ``statuses`` whose time column is older than ``older_than_seconds``, oldest first.

    Naive timestamps are taken as UTC (Django's storage); on PostgreSQL a ``timestamp`` column is
    compared in the session time zone, which :func:`runbook.clients.db_connect` sets to UTC.
    """
    if limit < 1 or older_than_seconds < 0:
        raise ProbeError("database", "invalid", "limit must be >= 1 and older_than_seconds >= 0")
    columns = _columns(conn, table, refused)
    if columns.time is None:
        raise ProbeError("database", "not-found", f"not-found: table {table} has no updated_at/created_at")
    current = now if now is not None else datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    cutoff = current.astimezone(UTC) - timedelta(seconds=older_than_seconds)
    marks = ", ".join("?" for _ in statuses)
    time = f'v."{columns.time}"'
    if _is_sqlite(conn):
        where = f"julianday({time}) < julianday(?)"
        order = f"julianday({time})"
        cutoff_param: object = cutoff.replace(tzinfo=None).isoformat(sep=" ")
    else:
        where, order, cutoff_param = f"{time} < ?", time, cutoff
    sql = f'{_select(columns)} WHERE v."status" IN ({marks}) AND {where} ORDER BY {order}, v."id" LIMIT ?'
    _, rows = _run(conn, sql, (*statuses, cutoff_param, limit))
    return [_row(raw) for raw in rows]


@dataclass(frozen=True)
class DatabaseIdentity:
    """Which database a connection reached, in the server's own words: equal identities, the same data.

    PostgreSQL: the cluster's ``system_identifier`` (``pg_control_system()``, fixed at initdb, shared by every
    name and address that reaches the cluster) and ``current_database()``; where the role may not read it, the
    server's own address and port (``how`` says which). SQLite: the file's resolved path.
    """

    kind: str
    cluster: str
    database: str
    how: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.cluster}/{self.database}"

    def describe(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite {self.cluster}"
        return f"postgresql {self.how} {self.cluster}, database {self.database}"


def identity(conn: Connection) -> DatabaseIdentity:
    """The identity of the database behind ``conn`` (read-only queries)."""
    if isinstance(conn, sqlite3.Connection):
        _, rows = _run(conn, "PRAGMA database_list")
        path = next((str(row[2]) for row in rows if row[1] == "main"), "")
        return DatabaseIdentity("sqlite", os.path.realpath(path) if path else ":memory:", "", "file")
    _, rows = _run(conn, "SELECT current_database()")
    database = str(rows[0][0])
    try:
        _, rows = _run(conn, "SELECT system_identifier::text FROM pg_control_system()")
        return DatabaseIdentity("postgresql", str(rows[0][0]), database, "system_identifier")
    except ProbeError:
        pass  # a role without access to the control functions: the server's own view of where it listens
    _, rows = _run(conn, "SELECT host(inet_server_addr()), inet_server_port()")
    addr, port = rows[0]
    if addr is None:
        raise ProbeError("database", "error", "neither system_identifier nor the server address can be read")
    return DatabaseIdentity("postgresql", f"{addr}:{port}", database, "server address")
