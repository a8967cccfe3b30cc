"""Database probes on a real SQLite file and a real PostgreSQL 15 server started here."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from runbook.clients import db_connect, sqlite_path
from runbook.probes import ProbeError, database
from runbook.probes.errors import from_db

pytestmark = pytest.mark.timeout(60)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PASSWORD = "pg-test-password"
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
ROWS = [
    # id, status, hls_path, updated_at
    (111, "UPLOADED", None, NOW - timedelta(hours=3)),
    (222, "PROCESSING", None, NOW - timedelta(hours=5)),
    (333, "READY", "videos/333/hls/master.m3u8", NOW - timedelta(hours=6)),
    (444, "PROCESSING", None, NOW - timedelta(minutes=5)),
    (555, "FAILED", None, NOW - timedelta(days=1)),
]
DDL = "CREATE TABLE video_video (id BIGINT PRIMARY KEY, status TEXT NOT NULL, hls_path TEXT, updated_at {ts})"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL 15 cluster in a temp dir (password auth on TCP); yields the admin URL."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 server binaries are not installed")
    # Not under pytest's tmp_path: its parents are private to root and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="runbook-pg-"))
    try:
        yield from _run_postgres(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_postgres(root: Path) -> Iterator[str]:
    user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    if user:
        shutil.chown(root, user)
    (root / "pw").write_text(PG_PASSWORD)
    if user:
        shutil.chown(root / "pw", user)
    initdb_args = ["-D", str(root / "data"), "-U", "postgres", f"--pwfile={root / 'pw'}", "--no-sync", "-E", "UTF8"]
    initdb = subprocess.run(
        [str(PG_BIN / "initdb"), *initdb_args, "--auth-host=scram-sha-256", "--auth-local=trust"],
        capture_output=True,
        text=True,
        user=user,
        timeout=60,
    )
    if initdb.returncode != 0:
        pytest.fail(f"initdb failed: {initdb.stderr.strip()[-500:]}")
    port = _free_port()
    settings = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"]
    server = subprocess.Popen(
        [str(PG_BIN / "postgres"), "-D", str(root / "data"), "-p", str(port), "-k", str(root), *settings],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=user,
    )
    url = f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 20
    while True:
        try:
            psycopg.connect(url, connect_timeout=1).close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("postgres did not start")
            time.sleep(0.1)
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _fill_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(DDL.format(ts="DATETIME"))
        for video_id, status, hls, stamp in ROWS:
            # Django's sqlite storage: naive UTC text.
            text = stamp.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            conn.execute("INSERT INTO video_video VALUES (?, ?, ?, ?)", (video_id, status, hls, text))
    conn.close()


def _fill_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS video_video")
        conn.execute(DDL.format(ts="TIMESTAMPTZ"))
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO video_video VALUES (%s, %s, %s, %s)", ROWS)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database holding ``ROWS`` in ``video_video``: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"
        _fill_sqlite(path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres")
    _fill_postgres(url)
    return url


@pytest.fixture
def conn(db_url: str) -> Iterator[Any]:
    """The production builder's read-only connection."""
    connection = db_connect(db_url, 2.0)
    yield connection
    connection.close()


def test_video_rows_by_id(conn: Any) -> None:
    rows = database.video_rows(conn, "video_video", [111, 333, 999, 111])
    assert set(rows) == {111, 333}
    assert rows[111] == database.VideoRow(111, "UPLOADED", None, NOW - timedelta(hours=3))
    assert rows[333].hls_path == "videos/333/hls/master.m3u8"
    assert rows[333].updated_at == NOW - timedelta(hours=6)
    assert rows[333].updated_at is not None and rows[333].updated_at.tzinfo is not None


def test_video_rows_in_batches(conn: Any) -> None:
    ids = [*range(1, 2500), 555]
    statements: list[str] = []
    if isinstance(conn, sqlite3.Connection):
        conn.set_trace_callback(statements.append)
    rows = database.video_rows(conn, "video_video", ids)
    assert set(rows) == {111, 222, 333, 444, 555}
    if isinstance(conn, sqlite3.Connection):
        selects = [s for s in statements if s.startswith("SELECT")]
        assert len(selects) == 1 + 3  # column check + one query per 1000 ids


def test_stuck_videos(conn: Any) -> None:
    stuck = database.stuck_videos(conn, "video_video", older_than_seconds=3600, now=NOW)
    assert [(row.id, row.status) for row in stuck] == [(222, "PROCESSING"), (111, "UPLOADED")]
    assert [row.id for row in database.stuck_videos(conn, "video_video", 3600, now=NOW, limit=1)] == [222]
    assert database.stuck_videos(conn, "video_video", 24 * 3600, now=NOW) == []


def test_connection_is_read_only(conn: Any) -> None:
    with pytest.raises((sqlite3.Error, psycopg.Error)) as caught:
        conn.execute("UPDATE video_video SET status = 'UPLOADED' WHERE id = 222")
    assert from_db(caught.value).kind == "denied"
    assert database.video_rows(conn, "video_video", [222])[222].status == "PROCESSING"


@pytest.mark.parametrize("table", ["video_video; DROP TABLE video_video", 'video"video', "a.b.c", ""])
def test_table_name_is_validated(conn: Any, table: str) -> None:
    with pytest.raises(ProbeError) as caught:
        database.video_rows(conn, table, [111])
    assert (caught.value.dependency, caught.value.kind) == ("database", "invalid")


def test_missing_table_is_not_found(conn: Any) -> None:
    with pytest.raises(ProbeError) as caught:
        database.stuck_videos(conn, "videos_video", 60)
    assert caught.value.kind == "not-found"


def test_missing_sqlite_file_is_not_found_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "db.sqlite3"
    with pytest.raises(ProbeError) as caught:
        db_connect(f"sqlite:///{missing}", 1.0)
    assert caught.value.kind == "not-found"
    assert str(missing) in str(caught.value)
    assert not missing.exists()


def test_sqlite_url_forms(tmp_path: Path) -> None:
    assert sqlite_path("sqlite:///tmp/db.sqlite3") == "/tmp/db.sqlite3"
    assert sqlite_path("sqlite:////tmp/db.sqlite3") == "/tmp/db.sqlite3"
    with pytest.raises(ProbeError):
        sqlite_path("sqlite://host/db")


def test_postgres_wrong_password_unknown_db_and_closed_port(postgres: str) -> None:
    port = postgres.rsplit(":", 1)[1].split("/")[0]
    wrong = f"postgresql://postgres:not-the-password@127.0.0.1:{port}/postgres"
    with pytest.raises(ProbeError) as auth:
        db_connect(wrong, 2.0)
    assert auth.value.kind == "auth"
    assert "not-the-password" not in str(auth.value)
    with pytest.raises(ProbeError) as missing:
        db_connect(postgres.rsplit("/", 1)[0] + "/academy", 2.0)
    assert missing.value.kind == "not-found"
    with pytest.raises(ProbeError) as closed:
        db_connect(f"postgresql://postgres:x@127.0.0.1:{_free_port()}/postgres", 1.0)
    assert closed.value.kind == "unreachable"


def test_postgres_statement_timeout(postgres: str) -> None:
    with db_connect(postgres, 0.5) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT pg_sleep(3)")
    assert from_db(caught.value, timeout=0.5).kind == "timeout"
