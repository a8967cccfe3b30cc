"""Tiny database layer shared by the API and the worker stand-ins.

Two engines, one interface: SQLite (``DATABASE_URL=sqlite:///relative`` or ``sqlite:////absolute``) for
hermetic runs and PostgreSQL (``DATABASE_URL=postgresql://...`` or ``DB_HOST``/``DB_PORT``/``DB_NAME``/
``DB_USER``/``DB_PASSWORD``) like the real deployment. SQL is written once with ``?`` placeholders;
:class:`Database` rewrites them for psycopg. The video operations the runbook names
(``mark_processing``, ``complete_video``, ...) live here so both programs change rows the same way.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

VIDEO_TABLE = "video_video"
SESSION_TABLE = "video_session"
STATUSES = ("UPLOADED", "PROCESSING", "READY", "FAILED")
VIDEO_COLUMNS = ("id", "session_id", "tenant_id", "status", "file_key", "hls_path", "created_at", "updated_at")

# Same DDL on both engines: ids are allocated by the application (MAX+1), not by the engine, so rows
# created with an explicit id (the rehearsal's "video 111") never collide with an engine sequence.
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {SESSION_TABLE} (id INTEGER PRIMARY KEY)",
    f"CREATE TABLE IF NOT EXISTS {VIDEO_TABLE} ("
    "id INTEGER PRIMARY KEY, "
    f"session_id INTEGER REFERENCES {SESSION_TABLE}(id) ON DELETE CASCADE, "
    "tenant_id INTEGER, "
    "status TEXT NOT NULL, "
    "file_key TEXT, "
    "hls_path TEXT, "
    "created_at TIMESTAMP, "
    "updated_at TIMESTAMP)",
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
        """A write transaction. SQLite takes its write lock at BEGIN (IMMEDIATE) so that a read
        followed by an update cannot be interleaved with the other process's write."""
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
        # Closing a broken connection must not mask the error that broke it.
        with contextlib.suppress(Exception):
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(url_or_env: str | Mapping[str, str] | None = None, *, create: bool = True) -> Database:
    """Open the database named by a URL, an environment mapping, or ``os.environ``.

    ``create=False`` refuses to create a missing SQLite file: a worker pointed at the wrong path must
    fail loudly (runbook appendix: "API와 워커가 서로 다른 DB를 바라봄"), not invent an empty database.
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
        # API and worker write the same file concurrently: WAL lets readers run beside the writer and
        # busy_timeout makes a writer wait for the lock instead of failing with "database is locked".
        conn.execute(f"PRAGMA busy_timeout = {CONNECT_TIMEOUT * 1000}")
        conn.execute("PRAGMA journal_mode = WAL")
        # Off by default in SQLite; without it deleting a session would not cascade to its videos.
        conn.execute("PRAGMA foreign_keys = ON")
        return Database(conn, "sqlite")
    import psycopg

    return Database(psycopg.connect(settings.target, autocommit=True, connect_timeout=CONNECT_TIMEOUT), "postgresql")


def create_schema(db: Database) -> None:
    """Create both tables if missing; safe to call from several processes at once."""
    with db.transaction():
        if db.kind == "postgresql":
            # Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog.
            db.execute("SELECT pg_advisory_xact_lock(7201)")
        for statement in _SCHEMA:
            db.execute(statement)


# --- video operations --------------------------------------------------------------------------


def get_video(db: Database, video_id: int) -> dict[str, Any] | None:
    """The row as a dict, or None."""
    rows = db.execute(f"SELECT {', '.join(VIDEO_COLUMNS)} FROM {VIDEO_TABLE} WHERE id = ?", (video_id,))
    return dict(zip(VIDEO_COLUMNS, rows[0], strict=True)) if rows else None


def video_exists(db: Database, video_id: int) -> bool:
    """A plain SELECT by id (no lock): the ``row exists=`` half of the complete_video diagnosis."""
    return bool(db.execute(f"SELECT 1 FROM {VIDEO_TABLE} WHERE id = ?", (video_id,)))


def create_video(
    db: Database, *, video_id: int | None, session_id: int | None, tenant_id: int | None, file_key: str | None
) -> dict[str, Any]:
    """Insert a session (if missing) and an UPLOADED video; return the video row."""
    with db.transaction():
        if session_id is None:
            session_id = int(db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {SESSION_TABLE}")[0][0])
        if not db.execute(f"SELECT 1 FROM {SESSION_TABLE} WHERE id = ?", (session_id,)):
            db.execute(f"INSERT INTO {SESSION_TABLE} (id) VALUES (?)", (session_id,))
        if video_id is None:
            video_id = int(db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {VIDEO_TABLE}")[0][0])
        db.execute(
            f"INSERT INTO {VIDEO_TABLE} (id, session_id, tenant_id, status, file_key, created_at, updated_at) "
            "VALUES (?, ?, ?, 'UPLOADED', ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            (video_id, session_id, tenant_id, file_key),
        )
    row = get_video(db, video_id)
    assert row is not None  # just inserted in a committed transaction
    return row


def set_status(db: Database, video_id: int, status: str, *, only_from: str | None = None) -> bool:
    """Set a video's status (optionally only from one status); True if a row changed."""
    sql = f"UPDATE {VIDEO_TABLE} SET status = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?"
    params: list[object] = [status, video_id]
    if only_from is not None:
        sql += " AND status = ?"
        params.append(only_from)
    with db.transaction():
        # RETURNING (SQLite >= 3.35, PostgreSQL) tells us whether the row changed on both engines.
        return bool(db.execute(sql + " RETURNING id", params))


def mark_processing(db: Database, video_id: int) -> bool:
    """UPLOADED -> PROCESSING; False when the row is missing or in any other state (runbook §9)."""
    return set_status(db, video_id, "PROCESSING", only_from="UPLOADED")


def complete_video(db: Database, video_id: int, hls_path: str) -> bool:
    """Mark READY with its HLS path; False when the row is not found (``get_video_for_update`` -> None).

    PostgreSQL locks the row first (SELECT ... FOR UPDATE) like the real repository; SQLite's
    BEGIN IMMEDIATE already holds the database write lock.
    """
    lock = " FOR UPDATE" if db.kind == "postgresql" else ""
    with db.transaction():
        if not db.execute(f"SELECT id FROM {VIDEO_TABLE} WHERE id = ?{lock}", (video_id,)):
            return False
        db.execute(
            f"UPDATE {VIDEO_TABLE} SET status = 'READY', hls_path = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?",
            (hls_path, video_id),
        )
    return True


def delete_video(db: Database, video_id: int) -> bool:
    """Delete one video; True if it existed."""
    with db.transaction():
        return bool(db.execute(f"DELETE FROM {VIDEO_TABLE} WHERE id = ? RETURNING id", (video_id,)))


def delete_session(db: Database, session_id: int) -> bool:
    """Delete a session; its videos go with it (ON DELETE CASCADE), as when a lecture is deleted."""
    with db.transaction():
        return bool(db.execute(f"DELETE FROM {SESSION_TABLE} WHERE id = ? RETURNING id", (session_id,)))
