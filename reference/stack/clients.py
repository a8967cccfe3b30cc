"""What a test (or an engineer in a Python shell) does with a running stack: call the API, look at the
queue, the bucket, Redis and the database, read logs, tick the scaler. Mixed into :class:`Stack`."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import redis as redislib

from reference import db as refdb
from reference.stack import aws as awsmod
from reference.stack import media
from reference.stack.processes import ManagedProcess, python_env, wait_for

if TYPE_CHECKING:
    from reference.stack.stack import Stack

T = TypeVar("T")
LOCK_KEY = "job:encode:{id}:lock"
CANCEL_KEY = "job:encode:{id}:cancel"
PROGRESS_KEY = "job:encode:{id}:progress"

_SCALER_SNIPPET = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
print("SCALER_RESULT " + json.dumps(module.lambda_handler({"source": "aws.events"}, None)))
"""


class StackClients:
    """Helpers; ``self`` is a started :class:`Stack`."""

    # --- waiting -----------------------------------------------------------------------------------

    def wait_for(self: Stack, predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
        """Poll until ``predicate()`` is truthy (returned) or TimeoutError after ``timeout`` seconds."""
        return wait_for(predicate, timeout, what)

    # --- AWS / R2 clients (valid keys, the API's view) -------------------------------------------

    def client(self: Stack, service: str, region: str | None = None) -> Any:
        return self.aws.client(service, region=region or awsmod.REGION)

    def sqs(self: Stack, region: str | None = None) -> Any:
        return self.client("sqs", region)

    def autoscaling(self: Stack) -> Any:
        return self.client("autoscaling")

    def lambda_(self: Stack) -> Any:
        return self.client("lambda")

    def events(self: Stack) -> Any:
        return self.client("events")

    def s3(self: Stack) -> Any:
        """The R2 bucket's S3 client with the valid R2 keys."""
        return self.r2.s3()

    def queue_counts(self: Stack, queue_name: str = awsmod.QUEUE_NAME) -> dict[str, int]:
        return self.aws.queue_counts(queue_name)

    def dlq_counts(self: Stack) -> dict[str, int]:
        return self.aws.queue_counts(awsmod.DLQ_NAME)

    def queue_exists(self: Stack, queue_name: str = awsmod.QUEUE_NAME) -> bool:
        try:
            self.sqs().get_queue_url(QueueName=queue_name)
            return True
        except self.sqs().exceptions.QueueDoesNotExist:
            return False

    def bucket_keys(self: Stack, prefix: str = "") -> list[str]:
        s3 = self.s3()
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=awsmod.BUCKET, Prefix=prefix):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        return sorted(keys)

    def get_object(self: Stack, key: str) -> bytes:
        return self.s3().get_object(Bucket=awsmod.BUCKET, Key=key)["Body"].read()

    def download(self: Stack, key: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.get_object(key))
        return dest

    # --- Redis and the database ----------------------------------------------------------------

    def redis(self: Stack, db: int | None = None) -> redislib.Redis:
        """A client for the Redis the API uses (``db`` overrides its REDIS_DB); one cached client per db."""
        db = int(self.api_env.get("REDIS_DB", "0")) if db is None else db
        cache = self.__dict__.setdefault("_redis_clients", {})
        if db not in cache:
            cache[db] = self.redis_service.client(db)
        return cache[db]

    def db(self: Stack) -> refdb.Database:
        """A connection to the API's database."""
        return self.database.connect()

    def video_row(self: Stack, video_id: int) -> dict[str, Any] | None:
        with self.db() as conn:
            return refdb.get_video(conn, video_id)

    def video_status(self: Stack, video_id: int) -> str | None:
        row = self.video_row(video_id)
        return None if row is None else str(row["status"])

    def set_status(self: Stack, video_id: int, status: str) -> None:
        with self.db() as conn:
            refdb.set_status(conn, video_id, status)

    # --- the API -------------------------------------------------------------------------------

    def api_request(
        self: Stack, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.api_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"raw": raw.decode(errors="replace")}
        return status, payload

    def upload_video(
        self: Stack, video_id: int, clip: Path, *, session_id: int | None = None, tenant_id: int = 1
    ) -> dict[str, Any]:
        """Put the source in the bucket (as the browser's direct upload would), then create the row."""
        key = f"uploads/{video_id}/source{clip.suffix}"
        self.s3().upload_file(str(clip), awsmod.BUCKET, key)
        body: dict[str, Any] = {"id": video_id, "tenant_id": tenant_id, "file_key": key}
        if session_id is not None:
            body["session_id"] = session_id
        status, row = self.api_request("POST", "/media/videos/", body)
        if status != 201:
            raise RuntimeError(f"POST /media/videos/ -> {status}: {row}")
        return row

    def upload_complete(self: Stack, video_id: int) -> tuple[int, dict[str, Any]]:
        return self.api_request("POST", f"/media/videos/{video_id}/upload/complete/")

    def retry(self: Stack, video_id: int) -> tuple[int, dict[str, Any]]:
        return self.api_request("POST", f"/media/videos/{video_id}/retry/")

    def delete_video(self: Stack, video_id: int) -> tuple[int, dict[str, Any]]:
        return self.api_request("DELETE", f"/media/videos/{video_id}/")

    def progress(self: Stack, video_id: int) -> dict[str, Any]:
        return self.api_request("GET", f"/media/videos/{video_id}/progress/")[1]

    def make_clip(self: Stack, seconds: float = 3) -> Path:
        """A cached test clip in the work dir."""
        path = self.workdir / "clips" / f"clip-{seconds:g}s.mp4"
        if not path.exists():
            media.make_clip(path, seconds)
        return path

    # --- logs and the worker -------------------------------------------------------------------

    def api_log_text(self: Stack) -> str:
        return self.api.log_text() if self.api else ""

    def worker_log_text(self: Stack) -> str:
        if self.fleet is not None:
            return str(self.fleet.log_text())  # every instance's worker
        worker = self.worker
        if worker is None:
            path = self.workdir / "worker.log"
            return path.read_text(errors="replace") if path.exists() else ""
        return worker.log_text() if isinstance(worker, ManagedProcess) else worker.logs()

    def worker_running(self: Stack) -> bool:
        if self.fleet is not None:
            return bool(self.fleet.running())
        worker = self.worker
        if worker is None:
            return False
        return worker.alive() if isinstance(worker, ManagedProcess) else worker.running()

    def worker_exit_code(self: Stack) -> int | None:
        worker = self.worker
        if worker is None:
            return None
        return worker.returncode if isinstance(worker, ManagedProcess) else worker.exit_code

    # --- the scaler ------------------------------------------------------------------------------

    def scaler_tick(self: Stack, *, force: bool = False) -> dict[str, Any] | None:
        """One EventBridge tick: run ``reference/scaler/handler.py``'s ``lambda_handler`` in a child Python
        process (the Lambda's isolation: its own boto3, only the Lambda's environment: QUEUE_NAME, ASG_NAME,
        the region and the account's valid keys, AWS_ENDPOINT_URL). moto never fires rules, so this stands in
        for the schedule; like EventBridge it does nothing (returns None) when the rule is missing or
        disabled or its target function is gone, unless ``force``. Raises RuntimeError if the handler fails.
        The result (the handler's return value) and why it did not run are kept in ``scaler_ticks``."""
        reason = None if force else self.aws.scaler_target()
        if reason is not None:
            self.scaler_ticks.append({"skipped": reason})
            return None
        keys = self.aws.keys
        assert keys is not None
        env = python_env(
            {
                "QUEUE_NAME": awsmod.QUEUE_NAME,
                "ASG_NAME": awsmod.ASG_NAME,
                "AWS_REGION": awsmod.REGION,
                "AWS_DEFAULT_REGION": awsmod.REGION,
                "AWS_ENDPOINT_URL": self.aws.url,
                "AWS_ACCESS_KEY_ID": keys.access_key_id,
                "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
            }
        )
        handler = self.repo_root / "reference" / "scaler" / "handler.py"
        proc = subprocess.run(
            [sys.executable, "-c", _SCALER_SNIPPET, str(handler)], env=env, capture_output=True, text=True, timeout=60
        )
        with open(self.workdir / "scaler.log", "a") as log:
            log.write(proc.stdout + proc.stderr)
        for line in proc.stdout.splitlines():
            if line.startswith("SCALER_RESULT "):
                result = json.loads(line.split(" ", 1)[1])
                self.scaler_ticks.append(result)
                return result
        raise RuntimeError(f"scaler handler failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
