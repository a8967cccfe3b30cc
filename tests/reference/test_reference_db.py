"""reference.db on SQLite always, and on PostgreSQL when a server can be started here."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from reference_harness import free_port, wait_for

from reference import db

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
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl), run as the ``postgres`` user when we are root."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries are not installed")
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        prefix = ["runuser", "-u", "postgres", "--"]
    # Not under tmp_path: pytest's temp root is private to root, and the server runs as postgres.
    tmp_path = Path(tempfile.mkdtemp(prefix="reference-pg-"))
    os.chmod(tmp_path, 0o777)
    data, port = tmp_path / "pg", free_port()
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        [
            *prefix,
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(tmp_path / "pg.log"),
            "-w",
            "-o",
            f"-p {port} -k {tmp_path} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        wait_for(lambda: _can_connect(url), 10, "postgres to accept connections")
        yield url
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _can_connect(url: str) -> bool:
    try:
        db.connect(url).close()
        return True
    except Exception:  # not up yet
        return False


def test_postgresql(postgres_url: str) -> None:
    with db.connect(postgres_url) as conn:
        exercise(conn)
    env = {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": postgres_url.rsplit(":", 1)[1].split("/")[0],
        "DB_NAME": "postgres",
        "DB_USER": "postgres",
    }
    with db.connect(env) as conn:
        assert conn.kind == "postgresql" and conn.execute("SELECT 1") == [(1,)]
