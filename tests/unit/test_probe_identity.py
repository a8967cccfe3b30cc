"""Server identities for the parity checks (issue 16, item 4): what a server is, not how its name is spelled."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from runbook.clients import db_connect
from runbook.probes.database import identity
from runbook.probes.redis_ import RedisInfo, resolve, same_server


def info(host: str, port: int = 6379, db: int = 0, run_id: str = "", addresses: tuple[str, ...] = ()) -> RedisInfo:
    return RedisInfo("7.2", db, "master", host, port, run_id=run_id, addresses=addresses)


def test_redis_same_server_by_run_id_else_by_resolved_address() -> None:
    assert same_server(info("localhost", run_id="abc"), info("127.0.0.1", run_id="abc")) is True
    assert same_server(info("redis-a", run_id="abc"), info("redis-a", run_id="def")) is False
    local = resolve("localhost", 6379)
    assert "127.0.0.1" in local or "::1" in local
    by_name = info("localhost", addresses=local)
    by_ip = info("127.0.0.1", addresses=resolve("127.0.0.1", 6379))
    assert same_server(by_name, by_ip) is ("127.0.0.1" in local)  # ::1 only: not the same address
    assert same_server(info("127.0.0.1", 6380, addresses=("127.0.0.1",)), by_ip) is False  # another port
    assert same_server(info("x"), info("y")) is None  # neither says: unknown
    assert info("localhost", run_id="abcdef0123").describe() == "localhost:6379/0 (run_id abcdef01…)"
    assert by_ip.describe() == "127.0.0.1:6379/0 (→ 127.0.0.1)"


def test_sqlite_identity_is_the_resolved_file(tmp_path: Path) -> None:
    real = tmp_path / "academy.sqlite3"
    sqlite3.connect(real).close()
    link = tmp_path / "link.sqlite3"
    os.symlink(real, link)
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).close()
    ids = {}
    for name, path in (("real", real), ("link", link), ("other", other)):
        conn = db_connect(f"sqlite:///{path}")
        try:
            ids[name] = identity(conn)
        finally:
            conn.close()
    assert ids["real"].key == ids["link"].key != ids["other"].key
    assert ids["real"].how == "file" and str(real) in ids["real"].describe()
