"""A production built by hand, the way an on-call engineer meets one: busy, healthy, and read through its logs.

No stand-in pipeline runs here. The pieces are real servers on 127.0.0.1 (a Redis-protocol server, PostgreSQL
with the real ``video_video`` columns, a moto server for SQS and R2) in a state the test writes directly, and
log files in production's own formats (academy-backend @ 3bc9f472f, /work/notes/real-system.md §1-§2), saved
as ``docker logs -t`` saves them: docker's RFC 3339 UTC stamp, then the program's own line. The suite then runs
as ``pytest -m live`` with the API's environment, a worker env file and those logs, and its verdict is read.

    with HandBuilt(tmp_path) as prod:
        prod.video(111, "UPLOADED", age=timedelta(hours=3))
        prod.worker_log("worker.log", [(ago, received(111)), ...])
        run = prod.run("checks/test_s6_api_enqueue.py", video_ids=[111])
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._live import pytest_argv

ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-2"
QUEUE = "academy-video-jobs"
BUCKET = "academy-video"
#: Production's clock in its log lines (Django TIME_ZONE=Asia/Seoul); docker's own stamp stays UTC.
KST = timedelta(hours=9)
#: A developer's shell must not leak into the API environment of a run.
_CLEAR = ("AWS_", "REDIS_", "DB_", "DATABASE_URL", "R2_", "VIDEO_", "API_BASE_URL", "RUNBOOK_", "DOCKER_HOST")
#: Plugins the live suite does not need (start-up time).
_LEAN = ("no:xdist", "no:randomly", "no:hypothesispytest", "no:benchmark")

#: ``video_video`` as production's migration creates it (the columns the runbook's checks read, and their types).
VIDEO_DDL = (
    "CREATE TABLE video_video (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, "
    "updated_at timestamptz NOT NULL, session_id bigint, title varchar(255) NOT NULL DEFAULT '', "
    "file_key varchar(500) NOT NULL DEFAULT '', status varchar(20) NOT NULL DEFAULT 'PENDING', "
    "hls_path varchar(500) NOT NULL DEFAULT '', processing_started_at timestamptz)"
)


# -- production's log lines ------------------------------------------------------------------------------


def _docker(at: datetime, line: str) -> str:
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {line}"


def _kst(at: datetime) -> str:
    local = at.astimezone(UTC) + KST
    return local.strftime("%Y-%m-%d %H:%M:%S,") + f"{local.microsecond // 1000:03d}"


def worker_line(at: datetime, message: str, level: str = "INFO") -> str:
    """sqs_main.py:34-37 ``%(asctime)s [%(levelname)s] [VIDEO-WORKER-SQS] %(message)s``, as ``docker logs -t``."""
    return _docker(at, f"{_kst(at)} [{level}] [VIDEO-WORKER-SQS] {message}")


def api_line(at: datetime, logger: str, message: str, level: str = "INFO") -> str:
    """prod.py:105-124 ``[{levelname}] {asctime} {name}: {message}``, as ``docker logs -t``."""
    return _docker(at, f"[{level}] {_kst(at)} {logger}: {message}")


def received(vid: int, tenant: int = 1) -> str:
    return (
        f"SQS_MESSAGE_RECEIVED | request_id=r{vid:07x} | video_id={vid} | tenant_id={tenant} | "
        f"queue_wait_sec=0.41 | created_at=2026-02-20T05:03:08.712345+00:00"
    )


def started() -> str:
    return f"Video Worker (SQS) started | queue={QUEUE} | wait_time=20s"


def lock_skip(vid: int) -> list[str]:
    """K2: the idempotency adapter's line, then the handler's (handler.py:84-86)."""
    return [
        f"IDEMPOTENT_SKIP job_id=encode:{vid} reason=duplicate",
        f"[HANDLER] Lock acquisition failed, skipping video_id={vid}",
    ]


def encode(vid: int, tenant_code: str = "tchul") -> list[str]:
    """J2..J18 of a job that succeeds, without the receive line."""
    return [
        f"[SQS_MAIN] Calling handler.handle() video_id={vid}",
        f"[HANDLER] Starting video processing video_id={vid} job_id=encode:{vid}",
        f"[HANDLER] Lock acquired, marking as PROCESSING video_id={vid}",
        f"[HANDLER] Starting process_fn video_id={vid}",
        f"[HANDLER] process_fn completed video_id={vid} hls_path=tenants/1/video/hls/{vid}/master.m3u8 duration=42",
        f"Video processing completed: video_id={vid}, duration=42",
        f"[SQS_MAIN] handler.handle() returned video_id={vid} result=ok",
        f"SQS_JOB_COMPLETED | request_id=r{vid:07x} | video_id={vid} | tenant_code={tenant_code} | "
        f"processing_duration=31.20 | queue_wait_sec=0.41",
    ]


def enqueued(vid: int) -> str:
    return f"Video job enqueued: video_id={vid}"


SQS_QUEUE_LOGGER = "apps.support.video.services.sqs_queue"


# -- the servers -----------------------------------------------------------------------------------------


@dataclass
class Servers:
    """Redis, PostgreSQL and moto, started once and shared by the tests of a module (each test resets them)."""

    redis: Any
    postgres: Any
    moto_url: str
    workdir: Path

    def reset(self) -> None:
        client = self.redis.client()
        try:
            for db in range(4):
                client.execute_command("SELECT", db)
                client.flushdb()
        finally:
            client.close()
        with self.admin() as conn:
            conn.execute("DROP TABLE IF EXISTS video_video")
            conn.execute(VIDEO_DDL)  # type: ignore[arg-type]
        import urllib.request

        request = urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30):
            pass
        sqs = self.aws("sqs")
        dlq = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(
            QueueName=QUEUE,
            Attributes={
                "VisibilityTimeout": "300",
                "ReceiveMessageWaitTimeSeconds": "20",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
            },
        )
        self.aws("s3", region="us-east-1").create_bucket(Bucket=BUCKET)

    @contextmanager
    def admin(self, dbname: str | None = None) -> Iterator[Any]:
        import psycopg

        pg = self.postgres
        conninfo = f"host=127.0.0.1 port={pg.port} user={pg.user} password={pg.password} dbname={dbname or pg.dbname}"
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            yield conn

    def create_database(self, name: str) -> None:
        """Another database in the same cluster, owned by the application's role (as the superuser makes it)."""
        import psycopg

        with psycopg.connect(self.postgres.server.admin_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{self.postgres.user}"')  # type: ignore[arg-type]

    def aws(self, service: str, region: str = REGION) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@contextmanager
def servers(workdir: Path) -> Iterator[Servers]:
    """Start a Redis-protocol server, PostgreSQL and a moto server on 127.0.0.1; stop them afterwards."""
    from reference.stack.aws import MotoServer
    from reference.stack.database import EmbeddedPostgresDatabase
    from reference.stack.redis_ import embedded_redis

    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        redis = embedded_redis(workdir)
        redis.start()
        stack.callback(redis.stop)
        redis.wait_ready()
        postgres = EmbeddedPostgresDatabase(workdir)
        postgres.start()
        stack.callback(postgres.stop)
        # Its own process: an in-process moto shares its state (and /moto-api/reset) with every other in-process
        # moto of this pytest worker (tests/reference's, tests/unit's).
        moto = MotoServer("handbuilt", workdir, ROOT, attach="")
        moto.start()
        stack.callback(moto.process.stop)
        yield Servers(redis=redis, postgres=postgres, moto_url=moto.ready(60), workdir=workdir)


# -- one production --------------------------------------------------------------------------------------


@dataclass
class LiveRun:
    """One ``pytest -m live`` subprocess: its verdict and output."""

    verdict: dict[str, Any]
    output: str
    returncode: int

    def check(self, name: str) -> dict[str, Any]:
        """The one check whose node id contains ``name`` (``test_same_redis``, ``test_stuck_video[live-111]``)."""
        found = [c for c in self.verdict["checks"] if name in c["nodeid"]]
        assert len(found) == 1, f"{len(found)} checks match {name!r}: {[c['nodeid'] for c in self.verdict['checks']]}"
        return found[0]

    @property
    def root(self) -> str:
        root = self.verdict["root_cause"]
        return "healthy" if root is None else f"{root['layer']}/{root['cause']}"

    def causes(self) -> set[str]:
        return {c["cause"] for c in self.verdict["checks"] if c["outcome"] == "failed"}


@dataclass
class HandBuilt:
    """One production: the shared servers, this test's files, and the two programs' environments."""

    servers: Servers
    workdir: Path
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    api_env: dict[str, str] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)
    #: The worker process of a local deployment: alive and idle (its work shows in the logs only).
    worker_process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.servers.reset()
        self.process_name = f"handbuilt-video-worker-{os.getpid()}-{id(self):x}"
        self.worker_process = subprocess.Popen(
            [sys.executable, "-c", "import sys, time; time.sleep(3600)", self.process_name],
            stdin=subprocess.DEVNULL,
        )
        redis, pg, moto = self.servers.redis, self.servers.postgres, self.servers.moto_url
        shared = {
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": moto,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "VIDEO_SQS_QUEUE_NAME": QUEUE,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(redis.port),
            "REDIS_PASSWORD": redis.password or "",
            "REDIS_DB": "0",
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(pg.port),
            "DB_NAME": pg.dbname,
            "DB_USER": pg.user,
            "DB_PASSWORD": pg.password,
        }
        self.api_env = dict(shared)
        self.worker_env = {
            **shared,
            "API_BASE_URL": "http://127.0.0.1:9",
            "INTERNAL_WORKER_TOKEN": "local-token",
            "R2_ENDPOINT": moto,
            "R2_ACCESS_KEY": "testing",
            "R2_SECRET_KEY": "testing",
            "R2_VIDEO_BUCKET": BUCKET,
        }

    def close(self) -> None:
        if self.worker_process is not None:
            self.worker_process.kill()
            self.worker_process.wait(timeout=10)
            self.worker_process = None

    def ago(self, delta: timedelta) -> datetime:
        return self.now - delta

    # -- state -----------------------------------------------------------------------------------------

    def video(self, vid: int, status: str, *, age: timedelta, hls_path: str = "") -> None:
        """A row last updated ``age`` ago (upload-complete sets UPLOADED; worker transitions do not bump it)."""
        at = self.ago(age)
        with self.servers.admin() as conn:
            conn.execute(
                "INSERT INTO video_video (id, created_at, updated_at, title, file_key, status, hls_path) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (vid, at, at, f"video {vid}", f"tenants/1/video/raw/5/{vid}.mp4", status, hls_path),
            )

    def lock(self, vid: int, ttl: int, value: str = "1") -> None:
        """``job:encode:{id}:lock`` as the handler sets it (``SET NX EX``)."""
        client = self.servers.redis.client()
        try:
            client.set(f"job:encode:{vid}:lock", value, ex=ttl)
        finally:
            client.close()

    def log(self, name: str, lines: Iterable[str], *, mtime: datetime | None = None) -> Path:
        path = self.workdir / name
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        if mtime is not None:
            os.utime(path, (mtime.timestamp(), mtime.timestamp()))
        return path

    def worker_log(self, name: str, events: Iterable[tuple[timedelta, str | list[str]]], **kw: Any) -> Path:
        """A worker log from ``(ago, message or messages)`` pairs, oldest first."""
        return self.log(name, _lines(self, events, worker_line), **kw)

    def api_log(self, name: str, events: Iterable[tuple[timedelta, str | list[str]]], **kw: Any) -> Path:
        """An API log; each message is logged by the enqueue service's logger."""
        return self.log(name, _lines(self, events, lambda at, m: api_line(at, SQS_QUEUE_LOGGER, m)), **kw)

    # -- the live run ----------------------------------------------------------------------------------

    def run(
        self,
        *targets: str,
        worker_log: str | Path | None = None,
        api_logs: Sequence[str | Path] = (),
        video_ids: Sequence[int] | None = None,
        api_env: Mapping[str, str] | None = None,
        worker_env: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
        name: str = "run",
        marker: str = "live and local",
    ) -> LiveRun:
        """``pytest -m live <targets>`` with this production's API environment; the verdict it wrote."""
        reports = self.workdir / name
        reports.mkdir(parents=True, exist_ok=True)
        env_file = reports / "worker.env"
        env_file.write_text(
            "".join(f"{k}={v}\n" for k, v in sorted((worker_env or self.worker_env).items())), encoding="utf-8"
        )
        options = [f"--api-log={spec}" for spec in api_logs]
        argv = pytest_argv(
            reports,
            *targets[1:],
            *options,
            *extra,
            target=targets[0] if targets else "checks",
            plugins=_LEAN,
            marker=marker,
            worker_process=self.process_name,
            html="live.html",
            worker_env_file=env_file,
            worker_log=worker_log,
            video_ids=video_ids,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEAR)}
        env.update(api_env or self.api_env)
        started_at = time.monotonic()
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        output = proc.stdout + proc.stderr + f"\n[{time.monotonic() - started_at:.1f}s]"
        verdict_path = reports / "verdict.json"
        assert verdict_path.exists(), output[-4000:]
        return LiveRun(json.loads(verdict_path.read_text(encoding="utf-8")), output, proc.returncode)


def _lines(prod: HandBuilt, events: Iterable[tuple[timedelta, str | list[str]]], render: Any) -> list[str]:
    out: list[str] = []
    for ago, messages in events:
        at = prod.ago(ago)
        for i, message in enumerate([messages] if isinstance(messages, str) else messages):
            out.append(render(at + timedelta(milliseconds=10 * i), message))
    return out


__all__ = [
    "HandBuilt",
    "LiveRun",
    "Servers",
    "api_line",
    "encode",
    "enqueued",
    "lock_skip",
    "received",
    "servers",
    "started",
    "worker_line",
]


def cloudwatch_group(prod: HandBuilt, group: str, events: list[tuple[datetime, str]]) -> str:
    """A CloudWatch Logs group in the production's moto holding worker ``events`` (time, message), spread over
    two streams as two instances would write them; returns the ``cloudwatch:`` spec."""
    logs = prod.servers.aws("logs")
    logs.create_log_group(logGroupName=group)
    streams = ("i-0a1b2c3d", "i-0e4f5a6b")
    for stream in streams:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    ordered = sorted(events)
    for start in range(0, len(ordered), 10_000):
        batch = [
            {"timestamp": int(at.timestamp() * 1000), "message": f"{_kst(at)} [INFO] [VIDEO-WORKER-SQS] {message}"}
            for at, message in ordered[start : start + 10_000]
        ]
        logs.put_log_events(logGroupName=group, logStreamName=streams[(start // 10_000) % 2], logEvents=batch)
    return f"cloudwatch:{group}"
