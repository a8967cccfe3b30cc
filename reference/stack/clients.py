"""What a test (or an engineer in a Python shell) does with a running stack: call the API, look at the
queue, the bucket, Redis and the database, read logs, tick the scaler. Mixed into
:class:`~reference.stack.stack.Stack` (which it does not import: the attributes it uses are declared below)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis as redislib

from reference import db as refdb
from reference.stack import aws as awsmod
from reference.stack import media
from reference.stack.plan import Plan
from reference.stack.processes import ManagedProcess, python_env, wait_for

T = TypeVar("T")
#: The stand-in's Redis keys, as the real system names them: the lock by id, the rest under the tenant.
LOCK_KEY = "job:encode:{id}:lock"
CANCEL_KEY = "tenant:{tenant}:video:{id}:cancel_requested"
PROGRESS_KEY = "tenant:{tenant}:video:{id}:progress"
STATUS_KEY = "tenant:{tenant}:video:{id}:status"
#: The rehearsal's tenant: its code, the hosts it is reached by (the API resolves tenants by Host), its user.
TENANT_ID = 1
TENANT_CODE = "academy"
TENANT_HOSTS = ("127.0.0.1", "localhost")
API_USER = "admin"
API_PREFIX = "/api/v1"


def key(template: str, video_id: int, tenant: int = TENANT_ID) -> str:
    """A key template filled for ``video_id`` of ``tenant``."""
    return template.replace("{tenant}", str(tenant)).replace("{id}", str(video_id))


# The Lambda runtime, and AWS's own refusal of a desired capacity outside the group's [MinSize, MaxSize] (moto
# accepts it): "New SetDesiredCapacity value 3 is above max value 1 for the AutoScalingGroup."
_SCALER_SNIPPET = """
import importlib.util, json, logging, sys
import boto3
from botocore.exceptions import ClientError
logging.basicConfig(level=logging.INFO, format="[%(levelname)s]\t%(asctime)s\t%(message)s")
boto3.setup_default_session()
def refuse(params, **_):
    name, value = params["AutoScalingGroupName"], params["DesiredCapacity"]
    asg = boto3.client("autoscaling")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    for bound, word, low in ((group["MaxSize"], "above max", value > group["MaxSize"]),
                             (group["MinSize"], "below min", value < group["MinSize"])):
        if low:
            message = f"New SetDesiredCapacity value {value} is {word} value {bound} for the AutoScalingGroup."
            raise ClientError({"Error": {"Code": "ValidationError", "Message": message}}, "SetDesiredCapacity")
boto3.DEFAULT_SESSION.events.register("provide-client-params.auto-scaling.SetDesiredCapacity", refuse)
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
print("SCALER_RESULT " + json.dumps(module.lambda_handler({"source": "aws.events"}, None)))
"""


class StackClients:
    """Helpers over a started stack; the attributes below are the stack's."""

    backend: str
    deployment: str
    faults: list[Any]  # reference.stack.fault.Fault (not imported here: imports run one way)
    active_faults: list[Any]  # the faults, or the healthy row
    plan: Plan
    scenario: Any  # reference.stack.scenario.Scenario
    workdir: Path
    repo_root: Path
    aws: Any
    r2: Any
    redis_service: Any
    database: Any
    worker_database: Any
    worker: Any
    api: ManagedProcess | None
    api_env: dict[str, str]
    worker_env: dict[str, str]
    api_url: str
    api_token: str
    api_password: str
    session_id: int
    scaler_ticks: list[dict[str, Any]]
    fleet: Any  # reference.stack.fleet.Fleet, or None without one

    # --- waiting -----------------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
        """Poll until ``predicate()`` is truthy (returned) or TimeoutError after ``timeout`` seconds."""
        return wait_for(predicate, timeout, what)

    # --- AWS / R2 clients (valid keys, the API's view) -------------------------------------------

    def client(self, service: str, region: str | None = None) -> Any:
        return self.aws.client(service, region=region or awsmod.REGION)

    def sqs(self, region: str | None = None) -> Any:
        return self.client("sqs", region)

    def autoscaling(self) -> Any:
        return self.client("autoscaling")

    def lambda_(self) -> Any:
        return self.client("lambda")

    def events(self) -> Any:
        return self.client("events")

    def s3(self) -> Any:
        """The R2 bucket's S3 client with the valid R2 keys."""
        return self.r2.s3()

    def queue_counts(self, queue_name: str = awsmod.QUEUE_NAME) -> dict[str, int]:
        return self.aws.queue_counts(queue_name)

    def dlq_counts(self) -> dict[str, int]:
        return self.aws.queue_counts(awsmod.DLQ_NAME)

    def queue_exists(self, queue_name: str = awsmod.QUEUE_NAME) -> bool:
        try:
            self.sqs().get_queue_url(QueueName=queue_name)
            return True
        except self.sqs().exceptions.QueueDoesNotExist:
            return False

    def bucket_keys(self, prefix: str = "") -> list[str]:
        s3 = self.s3()
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=awsmod.BUCKET, Prefix=prefix):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        return sorted(keys)

    def get_object(self, key: str) -> bytes:
        return self.s3().get_object(Bucket=awsmod.BUCKET, Key=key)["Body"].read()

    def download(self, key: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.get_object(key))
        return dest

    # --- Redis and the database ----------------------------------------------------------------

    def redis(self, db: int | None = None) -> redislib.Redis:
        """A client for the Redis the API uses (``db`` overrides its REDIS_DB); one cached client per db."""
        db = int(self.api_env.get("REDIS_DB", "0")) if db is None else db
        cache = self.__dict__.setdefault("_redis_clients", {})
        if db not in cache:
            cache[db] = self.redis_service.client(db)
        return cache[db]

    def db(self) -> refdb.Database:
        """A connection to the API's database."""
        return self.database.connect()

    def video_row(self, video_id: int) -> dict[str, Any] | None:
        with self.db() as conn:
            return refdb.get_video(conn, video_id)

    def video_status(self, video_id: int) -> str | None:
        row = self.video_row(video_id)
        return None if row is None else str(row["status"])

    def set_status(self, video_id: int, status: str) -> None:
        with self.db() as conn:
            refdb.set_status(conn, video_id, status)

    # --- the API -------------------------------------------------------------------------------

    def api_request(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 30.0, *, auth: bool = True
    ) -> tuple[int, dict[str, Any]]:
        """One request to the API under ``/api/v1``, as the rehearsal's staff user (its bearer token); the tenant
        comes from the Host (127.0.0.1), as it does for the real API."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "X-Tenant-Code": TENANT_CODE}
        if auth and self.api_token:
            headers["Authorization"] = f"Bearer {self.api_token}"
        req = urllib.request.Request(self.api_url + API_PREFIX + path, data=data, method=method, headers=headers)
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

    def login(self) -> str:
        """``POST /api/v1/token/`` for the rehearsal's staff user: its access token."""
        status, body = self.api_request(
            "POST", "/token/", {"username": API_USER, "password": self.api_password}, auth=False
        )
        if status != 200:
            raise RuntimeError(f"POST {API_PREFIX}/token/ -> {status}: {body}")
        return str(body["access"])

    def upload_video(self, video_id: int, clip: Path, *, session_id: int | None = None) -> dict[str, Any]:
        """``upload/init`` (a PENDING row), then the source into the bucket (the browser's direct upload)."""
        status, answer = self.api_request(
            "POST",
            "/media/videos/upload/init/",
            {"id": video_id, "session": session_id or self.session_id, "filename": f"{uuid.uuid4()}{clip.suffix}"},
        )
        if status != 201:
            raise RuntimeError(f"POST {API_PREFIX}/media/videos/upload/init/ -> {status}: {answer}")
        self.s3().upload_file(str(clip), awsmod.BUCKET, answer["file_key"])
        return dict(answer["video"])

    def prepare_retry(self, video_id: int) -> None:
        """Make a video retryable as the real API needs it: its source back in the bucket (the worker deleted it
        once READY) and the row FAILED (the real retry refuses a READY video: ``Cannot retry``)."""
        row = self.video_row(video_id)
        if row is None:
            raise LookupError(f"no video {video_id}")
        self.s3().upload_file(str(self.make_clip(3)), awsmod.BUCKET, str(row["file_key"]))
        self.set_status(video_id, "FAILED")

    def upload_complete(self, video_id: int) -> tuple[int, dict[str, Any]]:
        return self.api_request("POST", f"/media/videos/{video_id}/upload/complete/")

    def retry(self, video_id: int) -> tuple[int, dict[str, Any]]:
        return self.api_request("POST", f"/media/videos/{video_id}/retry/")

    def delete_video(self, video_id: int) -> tuple[int, dict[str, Any]]:
        return self.api_request("DELETE", f"/media/videos/{video_id}/")

    def progress(self, video_id: int) -> dict[str, Any]:
        return self.api_request("GET", f"/media/videos/{video_id}/progress/")[1]

    def make_clip(self, seconds: float = 3) -> Path:
        """A cached test clip in the work dir."""
        path = self.workdir / "clips" / f"clip-{seconds:g}s.mp4"
        if not path.exists():
            media.make_clip(path, seconds)
        return path

    # --- logs and the worker -------------------------------------------------------------------

    def api_log_text(self) -> str:
        return self.api.log_text() if self.api else ""

    def worker_log_text(self) -> str:
        if self.fleet is not None:
            return str(self.fleet.log_text())  # every instance's worker
        worker = self.worker
        if worker is None:
            path = self.workdir / "worker.log"
            return path.read_text(errors="replace") if path.exists() else ""
        return worker.log_text() if isinstance(worker, ManagedProcess) else worker.logs()

    def worker_running(self) -> bool:
        if self.fleet is not None:
            return bool(self.fleet.running())
        worker = self.worker
        if worker is None:
            return False
        return worker.alive() if isinstance(worker, ManagedProcess) else worker.running()

    def worker_exit_code(self) -> int | None:
        worker = self.worker
        if worker is None:
            return None
        return worker.returncode if isinstance(worker, ManagedProcess) else worker.exit_code

    # --- the scaler ------------------------------------------------------------------------------

    def scaler_tick(self, *, force: bool = False) -> dict[str, Any] | None:
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
                "VIDEO_QUEUE": awsmod.QUEUE_NAME,
                "VIDEO_WORKER_ASG_NAME": awsmod.ASG_NAME,
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
