"""The database the API and the worker share: the real system's tables, and its repository's operations.

Two engines, one interface: PostgreSQL (``DB_HOST``/``DB_PORT``/``DB_NAME``/``DB_USER``/``DB_PASSWORD`` or
``DATABASE_URL=postgresql://...``) like the real deployment, SQLite (``DATABASE_URL=sqlite:///path``) where a
caller asks for one. SQL is written once with ``?`` placeholders; :class:`Database` rewrites them for psycopg.

The tables are the real ones (Django's default names): a video belongs to a session of a lecture of a tenant
(``video_video`` → ``lectures_session`` → ``lectures_lecture`` → ``core_tenant``), and deleting a lecture or a
session deletes its videos. The operations behave as the real repository's do:

- ``mark_processing``: no row → ``False`` (nothing logged); PROCESSING → ``True`` (the job re-encodes);
  another status than UPLOADED → ``Cannot mark video N as PROCESSING: status=S`` and ``False``;
- ``complete_video``: no row → ``complete_video: video_id=N not found (row exists=...)`` and ``not_found``;
- ``fail_video``: no row → nothing; else FAILED with the reason;
- worker transitions never touch ``updated_at``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger("academy.adapters.db.django.repositories_video")

VIDEO_TABLE = "video_video"
STATUSES = ("PENDING", "UPLOADED", "PROCESSING", "READY", "FAILED")
VIDEO_COLUMNS = (
    "id", "session_id", "title", "file_key", "status", "duration", "error_reason", "hls_path",
    "processing_started_at", "created_at", "updated_at",
)  # fmt: skip

# Ids are allocated by the application (MAX+1) on both engines, so rows created with an explicit id (the
# rehearsal's "video 111") never collide with an engine sequence.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS core_tenant (id INTEGER PRIMARY KEY, code TEXT UNIQUE NOT NULL, "
    "name TEXT, is_active BOOLEAN NOT NULL DEFAULT TRUE)",
    "CREATE TABLE IF NOT EXISTS core_tenantdomain (id INTEGER PRIMARY KEY, host TEXT UNIQUE NOT NULL, "
    "tenant_id INTEGER NOT NULL REFERENCES core_tenant(id) ON DELETE CASCADE, is_active BOOLEAN NOT NULL DEFAULT TRUE)",
    "CREATE TABLE IF NOT EXISTS accounts_user (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, "
    "password TEXT NOT NULL, tenant_id INTEGER REFERENCES core_tenant(id), is_staff BOOLEAN NOT NULL DEFAULT FALSE)",
    "CREATE TABLE IF NOT EXISTS lectures_lecture (id INTEGER PRIMARY KEY, "
    "tenant_id INTEGER NOT NULL REFERENCES core_tenant(id) ON DELETE CASCADE, title TEXT)",
    "CREATE TABLE IF NOT EXISTS lectures_session (id INTEGER PRIMARY KEY, "
    "lecture_id INTEGER NOT NULL REFERENCES lectures_lecture(id) ON DELETE CASCADE, title TEXT)",
    f"CREATE TABLE IF NOT EXISTS {VIDEO_TABLE} ("
    "id INTEGER PRIMARY KEY, "
    "session_id INTEGER NOT NULL REFERENCES lectures_session(id) ON DELETE CASCADE, "
    "title TEXT, file_key TEXT, status TEXT NOT NULL DEFAULT 'PENDING', duration INTEGER, "
    "error_reason TEXT NOT NULL DEFAULT '', hls_path TEXT NOT NULL DEFAULT '', "
    "processing_started_at TIMESTAMP, created_at TIMESTAMP, updated_at TIMESTAMP)",
)

# Seconds a connection waits: for a PostgreSQL server to answer, for SQLite's write lock to free up.
CONNECT_TIMEOUT = 5


class DatabaseConfigError(RuntimeError):
    """No usable database settings in the environment."""


@dataclass(frozen=True)
class DbSettings:
    """Where the database is: a SQLite file path or a PostgreSQL conninfo string."""

    kind: Literal["sqlite", "postgresql"]
    target: str


def settings_from_env(env: Mapping[str, str] | None = None) -> DbSettings:
    """Read ``DATABASE_URL`` (preferred) or the ``DB_*`` variables; raise if neither is set."""
    env = os.environ if env is None else env
    url = env.get("DATABASE_URL", "").strip()
    if url:
        return settings_from_url(url)
    if env.get("DB_HOST") or env.get("DB_NAME"):
        from psycopg.conninfo import make_conninfo

        parts = {
            "host": env.get("DB_HOST", ""),
            "port": env.get("DB_PORT", ""),
            "dbname": env.get("DB_NAME", ""),
            "user": env.get("DB_USER", ""),
            "password": env.get("DB_PASSWORD", ""),
        }
        return DbSettings("postgresql", make_conninfo(**{k: v for k, v in parts.items() if v}))
    raise DatabaseConfigError("no database configured: set DATABASE_URL or DB_HOST/DB_NAME")


def settings_from_url(url: str) -> DbSettings:
    """Parse a database URL. SQLite follows the SQLAlchemy/dj-database-url convention:
    three slashes then a relative path, four slashes for an absolute one."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise DatabaseConfigError(f"DATABASE_URL has no SQLite path: {url}")
        return DbSettings("sqlite", path)
    if url.startswith(("postgresql://", "postgres://")):
        return DbSettings("postgresql", url)
    raise DatabaseConfigError("DATABASE_URL must start with sqlite:/// or postgresql://")


class Database:
    """One connection; ``execute`` takes ``?`` placeholders and returns all rows as tuples."""

    def __init__(self, conn: Any, kind: Literal["sqlite", "postgresql"]) -> None:
        self._conn = conn
        self.kind = kind

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; outside :meth:`transaction` it commits at once (autocommit)."""
        if self.kind == "postgresql":
            # psycopg uses %s; a literal % must be doubled first so it is not taken for a placeholder.
            sql = sql.replace("%", "%%").replace("?", "%s")
        cur = self._conn.execute(sql, tuple(params))
        rows = cur.fetchall() if cur.description is not None else []
        return [tuple(row) for row in rows]

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction. SQLite takes its write lock at BEGIN (IMMEDIATE)."""
        if self.kind == "sqlite":
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        else:
            with self._conn.transaction():
                yield self

    def close(self) -> None:
        """Close the connection; never raises (used in ``finally`` blocks)."""
        with contextlib.suppress(Exception):
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(url_or_env: str | Mapping[str, str] | None = None, *, create: bool = True) -> Database:
    """Open the database named by a URL, an environment mapping, or ``os.environ``.

    ``create=False`` refuses to create a missing SQLite file: a worker pointed at the wrong path must fail
    loudly, not invent an empty database.
    """
    settings = settings_from_url(url_or_env) if isinstance(url_or_env, str) else settings_from_env(url_or_env)
    if settings.kind == "sqlite":
        mode = "rwc" if create else "rw"
        conn = sqlite3.connect(
            f"file:{settings.target}?mode={mode}",
            uri=True,
            timeout=CONNECT_TIMEOUT,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {CONNECT_TIMEOUT * 1000}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")  # deleting a session must cascade to its videos
        return Database(conn, "sqlite")
    import psycopg

    return Database(psycopg.connect(settings.target, autocommit=True, connect_timeout=CONNECT_TIMEOUT), "postgresql")


def create_schema(db: Database) -> None:
    """Create the tables if missing (the deployment's migration); safe from several processes at once."""
    with db.transaction():
        if db.kind == "postgresql":
            db.execute("SELECT pg_advisory_xact_lock(7201)")
        for statement in _SCHEMA:
            db.execute(statement)


def _next_id(db: Database, table: str) -> int:
    return int(db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")[0][0])


def seed_tenant(
    db: Database, *, tenant_id: int, code: str, hosts: Sequence[str], username: str, password: str
) -> dict[str, int]:
    """A tenant, its hosts (``TenantDomain``: the API resolves the tenant from the Host header), a staff user
    ``t{tenant}_{username}``, a lecture and a session; returns their ids (idempotent)."""
    with db.transaction():
        if not db.execute("SELECT 1 FROM core_tenant WHERE id = ?", (tenant_id,)):
            db.execute("INSERT INTO core_tenant (id, code, name) VALUES (?, ?, ?)", (tenant_id, code, code))
        for host in hosts:
            if not db.execute("SELECT 1 FROM core_tenantdomain WHERE host = ?", (host,)):
                db.execute(
                    "INSERT INTO core_tenantdomain (id, host, tenant_id) VALUES (?, ?, ?)",
                    (_next_id(db, "core_tenantdomain"), host, tenant_id),
                )
        login = f"t{tenant_id}_{username}"
        if not db.execute("SELECT 1 FROM accounts_user WHERE username = ?", (login,)):
            db.execute(
                "INSERT INTO accounts_user (id, username, password, tenant_id, is_staff) VALUES (?, ?, ?, ?, TRUE)",
                (_next_id(db, "accounts_user"), login, password, tenant_id),
            )
        found = db.execute("SELECT id FROM lectures_lecture WHERE tenant_id = ? ORDER BY id LIMIT 1", (tenant_id,))
        lecture = int(found[0][0]) if found else _next_id(db, "lectures_lecture")
        if not found:
            db.execute("INSERT INTO lectures_lecture (id, tenant_id, title) VALUES (?, ?, 'L1')", (lecture, tenant_id))
        found = db.execute("SELECT id FROM lectures_session WHERE lecture_id = ? ORDER BY id LIMIT 1", (lecture,))
        session = int(found[0][0]) if found else _next_id(db, "lectures_session")
        if not found:
            db.execute("INSERT INTO lectures_session (id, lecture_id, title) VALUES (?, ?, 'S1')", (session, lecture))
    return {"tenant": tenant_id, "lecture": lecture, "session": session}


# --- lookups ---------------------------------------------------------------------------------------------


def get_video(db: Database, video_id: int) -> dict[str, Any] | None:
    """The row as a dict (with ``tenant_id`` and ``tenant_code`` of its session's lecture), or None."""
    columns = ", ".join(f"v.{c}" for c in VIDEO_COLUMNS)
    rows = db.execute(
        f"SELECT {columns}, l.tenant_id, t.code FROM {VIDEO_TABLE} v "
        "LEFT JOIN lectures_session s ON s.id = v.session_id LEFT JOIN lectures_lecture l ON l.id = s.lecture_id "
        "LEFT JOIN core_tenant t ON t.id = l.tenant_id WHERE v.id = ?",
        (video_id,),
    )
    if not rows:
        return None
    return dict(zip((*VIDEO_COLUMNS, "tenant_id", "tenant_code"), rows[0], strict=True))


def get_video_status(db: Database, video_id: int) -> str | None:
    rows = db.execute(f"SELECT status FROM {VIDEO_TABLE} WHERE id = ?", (video_id,))
    return str(rows[0][0]) if rows else None


def tenant_for_host(db: Database, host: str) -> dict[str, Any] | None:
    rows = db.execute(
        "SELECT t.id, t.code FROM core_tenantdomain d JOIN core_tenant t ON t.id = d.tenant_id "
        "WHERE d.host = ? AND d.is_active AND t.is_active",
        (host,),
    )
    return {"id": int(rows[0][0]), "code": str(rows[0][1])} if rows else None


def tenant_for_code(db: Database, code: str) -> dict[str, Any] | None:
    rows = db.execute("SELECT id, code FROM core_tenant WHERE lower(code) = lower(?) AND is_active", (code,))
    return {"id": int(rows[0][0]), "code": str(rows[0][1])} if rows else None


def user(db: Database, username: str) -> dict[str, Any] | None:
    rows = db.execute(
        "SELECT id, username, password, tenant_id, is_staff FROM accounts_user WHERE username = ?", (username,)
    )
    if not rows:
        return None
    return dict(zip(("id", "username", "password", "tenant_id", "is_staff"), rows[0], strict=True))


# --- the API's writes ------------------------------------------------------------------------------------


def create_video(
    db: Database, *, video_id: int | None, session_id: int, file_key: str, title: str = ""
) -> dict[str, Any]:
    """A PENDING video (upload init); returns the row."""
    with db.transaction():
        if video_id is None:
            video_id = _next_id(db, VIDEO_TABLE)
        db.execute(
            f"INSERT INTO {VIDEO_TABLE} (id, session_id, title, file_key, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'PENDING', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            (video_id, session_id, title or f"video {video_id}", file_key),
        )
    row = get_video(db, video_id)
    assert row is not None  # just inserted in a committed transaction
    return row


def set_status(db: Database, video_id: int, status: str) -> bool:
    """Save ``status`` only (the API's ``save(update_fields=["status"])``: ``updated_at`` untouched)."""
    with db.transaction():
        return bool(db.execute(f"UPDATE {VIDEO_TABLE} SET status = ? WHERE id = ? RETURNING id", (status, video_id)))


def delete_session(db: Database, session_id: int) -> bool:
    """Delete a session; its videos go with it (ON DELETE CASCADE), as when a lecture is deleted."""
    with db.transaction():
        return bool(db.execute("DELETE FROM lectures_session WHERE id = ? RETURNING id", (session_id,)))


def delete_video(db: Database, video_id: int) -> bool:
    with db.transaction():
        return bool(db.execute(f"DELETE FROM {VIDEO_TABLE} WHERE id = ? RETURNING id", (video_id,)))


# --- the worker's repository -----------------------------------------------------------------------------


def _for_update(db: Database, video_id: int) -> tuple[str, str | None, int | None] | None:
    """(status, hls_path, tenant) of the row, locked; ``None`` without it."""
    lock = " FOR UPDATE OF v" if db.kind == "postgresql" else ""
    rows = db.execute(
        f"SELECT v.status, v.hls_path, l.tenant_id FROM {VIDEO_TABLE} v "
        "LEFT JOIN lectures_session s ON s.id = v.session_id LEFT JOIN lectures_lecture l ON l.id = s.lecture_id "
        f"WHERE v.id = ?{lock}",
        (video_id,),
    )
    if not rows:
        return None
    status, hls_path, tenant = rows[0]
    return str(status), hls_path, None if tenant is None else int(tenant)


def mark_processing(db: Database, video_id: int) -> tuple[bool, int | None]:
    """(marked, tenant of the row): UPLOADED → PROCESSING; a PROCESSING row is accepted as it is."""
    with db.transaction():
        found = _for_update(db, video_id)
        if found is None:
            return False, None
        status, _, tenant = found
        if status == "PROCESSING":
            return True, tenant
        if status != "UPLOADED":
            log.warning("Cannot mark video %s as PROCESSING: status=%s", video_id, status)
            return False, tenant
        db.execute(
            f"UPDATE {VIDEO_TABLE} SET status = 'PROCESSING', processing_started_at = CURRENT_TIMESTAMP WHERE id = ?",
            (video_id,),
        )
    return True, tenant


def complete_video(db: Database, video_id: int, hls_path: str, duration: int | None) -> tuple[bool, str, int | None]:
    """(ok, reason, tenant): READY with its HLS path."""
    with db.transaction():
        found = _for_update(db, video_id)
        if found is None:
            exists = bool(db.execute(f"SELECT 1 FROM {VIDEO_TABLE} WHERE id = ?", (video_id,)))
            log.warning(
                "complete_video: video_id=%s not found (row exists=%s). Possible: row/parent deleted during encode, "
                "or worker DB differs from API.",
                video_id,
                exists,
            )
            return False, "not_found", None
        status, current_hls, tenant = found
        if status == "READY" and current_hls:
            return True, "idempotent", tenant
        if status != "PROCESSING":
            log.warning("Video %s status is %s (expected PROCESSING)", video_id, status)
        db.execute(
            f"UPDATE {VIDEO_TABLE} SET status = 'READY', hls_path = ?, duration = COALESCE(?, duration) WHERE id = ?",
            (hls_path, duration, video_id),
        )
    return True, "ok", tenant


def fail_video(db: Database, video_id: int, reason: str) -> tuple[bool, int | None]:
    """(changed, tenant): FAILED with its reason; nothing for a missing row."""
    with db.transaction():
        found = _for_update(db, video_id)
        if found is None:
            return False, None
        status, _, tenant = found
        if status == "FAILED":
            return True, tenant
        db.execute(
            f"UPDATE {VIDEO_TABLE} SET status = 'FAILED', error_reason = ? WHERE id = ?", (reason[:2000], video_id)
        )
    return True, tenant
