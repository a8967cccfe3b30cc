"""Discovery for §9's table: every stuck video (not the probe's default 100), and its rows reused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runbook.config import side_from_env
from runbook.evidence import Evidence
from runbook.target import Target


def test_discovers_every_stuck_video_and_reuses_the_rows(tmp_path: Path) -> None:
    db = tmp_path / "videos.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE video_video (id INTEGER PRIMARY KEY, status TEXT, updated_at TIMESTAMP)")
    conn.executemany(
        "INSERT INTO video_video VALUES (?, ?, ?)",
        [(i, "UPLOADED" if i % 2 else "READY", "2026-01-01 00:00:00") for i in range(1, 501)],
    )
    conn.commit()
    conn.close()
    target = Target(mode="live", api=side_from_env({"DATABASE_URL": f"sqlite:///{db}"}, "api"))
    evidence = Evidence(target, concurrent=False)

    ids = evidence.get("videos")
    db.unlink()  # the rows must come from discovery, not from a second read
    rows = evidence.get("videos.rows")

    assert len(ids) == 250 and set(rows) == set(ids)
    assert {row.status for row in rows.values()} == {"UPLOADED"}
