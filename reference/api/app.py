"""The API stand-in: the real API's routes the runbook touches, with its tenant and authentication rules.

Every route is under ``/api/v1``. The tenant comes from the Host header (a ``TenantDomain``), or from
``X-Tenant-Code`` for the API's own public host only; none found is a 404 ``tenant_invalid`` before anything else.
Requests carry ``Authorization: Bearer <token>`` (``POST /api/v1/token/``); the video actions want a staff user.

- ``POST /media/videos/{id}/upload/complete/``: a PENDING video whose source is in R2 becomes UPLOADED and is
  enqueued; SQS refusing is a 503 (``Failed to enqueue video job: video_id=N``).
- ``POST /media/videos/{id}/retry/`` (FAILED, UPLOADED or PROCESSING): the cancel flag for 300 s, UPLOADED,
  enqueue (202). The flag outlives the retry: a worker that receives the new message within 300 s skips it.
- ``GET /media/videos/{id}/progress/``: the status the worker cached in Redis, else the database for READY and
  FAILED, else ``UNKNOWN``.

Logs: the production format (``[LEVEL] time logger: message``) plus gunicorn's access lines.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reference import LocalTimeFormatter, RedisConnection, db, status_cache
from reference.api.auth import TokenSigner, resolve_tenant
from reference.db import Database
from reference.queue_client import QueueClient

logger = logging.getLogger("apps.support.video.services.sqs_queue")
request_log = logging.getLogger("django.request")
middleware_log = logging.getLogger("apps.api.common.middleware")

PREFIX = "/api/v1"
ENQUEUE_FAILED = "비디오 작업 큐 등록 실패(SQS). API 서버 AWS 설정 및 academy-video-jobs 큐를 확인하세요."


@dataclass(frozen=True)
class ApiSettings:
    """Everything the API reads from its environment."""

    port: int
    queue_name: str
    skip_enqueue: bool  # stand-in fault switch (matrix row 11): the upload completes, nothing is sent
    retry_cancel_ttl: int  # stand-in switch: the retry's cancel flag (production: 300 s; 0: none)
    secret: str
    r2_bucket: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        return cls(
            port=int(env.get("API_PORT", "8000")),
            queue_name=env.get("VIDEO_SQS_QUEUE_NAME") or "academy-video-jobs",
            skip_enqueue=env.get("API_SKIP_ENQUEUE", "") == "1",
            retry_cancel_ttl=int(env.get("RETRY_CANCEL_TTL", str(status_cache.CANCEL_TTL))),
            secret=env.get("SECRET_KEY") or "dev-secret-key",
            r2_bucket=env.get("R2_VIDEO_BUCKET") or "academy-video",
        )


class HttpError(Exception):
    """An error answer: status and JSON body."""

    def __init__(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


Reply = tuple[HTTPStatus, dict[str, Any]]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    tenant: dict[str, Any] | None
    user: dict[str, Any] | None


class VideoApi:
    """The endpoints, independent of HTTP plumbing (one instance per server)."""

    def __init__(self, settings: ApiSettings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self._env = env
        self.redis = RedisConnection(dict(env))
        self.tokens = TokenSigner(settings.secret)
        self._redis_lock = threading.Lock()

    def db(self) -> Database:
        """A fresh connection per request: cheap, thread-safe, and survives a database restart."""
        return db.connect(self._env)

    def _redis(self) -> Any:
        with self._redis_lock:  # the first use PINGs; one at a time
            return self.redis.get()

    # --- enqueue (VideoSQSQueue.enqueue) -----------------------------------------------------------------

    def enqueue(self, row: Mapping[str, Any]) -> bool:
        video_id = row["id"]
        if row["status"] != "UPLOADED":
            logger.warning("Cannot enqueue video %s: status=%s (expected UPLOADED)", video_id, row["status"])
            return False
        if row.get("tenant_id") is None:
            logger.error("Cannot get tenant for video %s", video_id)
            return False
        body = {
            "video_id": int(video_id),
            "file_key": str(row.get("file_key") or ""),
            "tenant_id": int(row["tenant_id"]),
            "tenant_code": str(row.get("tenant_code") or ""),
            "created_at": datetime.now(UTC).isoformat(),
            "attempt": 1,
        }
        try:
            sent = QueueClient().send(self.settings.queue_name, body)
        except Exception as exc:  # building the client failed (a region that is no region, say)
            logger.exception("Error enqueuing video job: video_id=%s, error=%s", video_id, exc)
            return False
        if sent:
            logger.info("Video job enqueued: video_id=%s", video_id)
        else:
            logger.error("Failed to enqueue video job: video_id=%s", video_id)
        return sent

    # --- endpoints ---------------------------------------------------------------------------------------

    def token(self, request: Request) -> Reply:
        """``POST /api/v1/token/``: a tenant's user (``t{tenant}_{username}``) and password → an access token."""
        code = request.headers.get("X-Tenant-Code") or str(request.body.get("tenant_code") or "")
        with self.db() as conn:
            tenant = db.tenant_for_code(conn, code) if code else None
            found = db.user(conn, f"t{tenant['id']}_{request.body.get('username')}") if tenant else None
        if found is None or found["password"] != request.body.get("password"):
            raise HttpError(HTTPStatus.UNAUTHORIZED, {"detail": "No active account found with the given credentials"})
        access = self.tokens.sign(int(found["id"]), int(found["tenant_id"]))
        return HTTPStatus.OK, {"refresh": access, "access": access}

    def upload_init(self, request: Request) -> Reply:
        """``POST /media/videos/upload/init/``: a PENDING video and where to put its source (the stand-in also
        takes an explicit ``id``)."""
        tenant = _need_tenant(request)
        session = int(request.body.get("session") or 0)
        with self.db() as conn:
            video_id = request.body.get("id")
            if video_id is not None and db.get_video(conn, int(video_id)) is not None:
                raise HttpError(HTTPStatus.CONFLICT, {"detail": f"video {video_id} exists"})
            name = str(request.body.get("filename") or "source.mp4")
            file_key = str(request.body.get("file_key") or f"tenants/{tenant['id']}/video/raw/{session}/{name}")
            row = db.create_video(conn, video_id=None if video_id is None else int(video_id), session_id=session,
                                  file_key=file_key)  # fmt: skip
        return HTTPStatus.CREATED, {"video": _public(row), "file_key": file_key}

    def upload_complete(self, request: Request, video_id: int) -> Reply:
        with self.db() as conn:
            row = self._row(conn, request, video_id)
            if row["status"] != "PENDING":
                raise HttpError(HTTPStatus.CONFLICT, {"detail": f"Invalid status: {row['status']}"})
            if not self._source_exists(str(row["file_key"] or "")):
                raise HttpError(HTTPStatus.CONFLICT, {"detail": "S3 object not found"})
            db.set_status(conn, video_id, "UPLOADED")
            row = self._row(conn, request, video_id)
        if not self.settings.skip_enqueue and not self.enqueue(row):
            raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, {"detail": ENQUEUE_FAILED})
        return HTTPStatus.OK, _public(row)

    def retry(self, request: Request, video_id: int) -> Reply:
        with self.db() as conn:
            row = self._row(conn, request, video_id)
            if row["status"] not in ("FAILED", "UPLOADED", "PROCESSING"):
                raise HttpError(HTTPStatus.BAD_REQUEST, {"detail": "Cannot retry"})
            if self.settings.retry_cancel_ttl > 0 and row.get("tenant_id") is not None:
                status_cache.set_cancel_requested(
                    self._redis(), row["tenant_id"], video_id, self.settings.retry_cancel_ttl
                )
            db.set_status(conn, video_id, "UPLOADED")
            row = self._row(conn, request, video_id)
        if not self.enqueue(row):
            raise HttpError(HTTPStatus.SERVICE_UNAVAILABLE, {"detail": ENQUEUE_FAILED})
        return HTTPStatus.ACCEPTED, {"detail": "Video reprocessing queued (SQS)"}

    def progress(self, request: Request, video_id: int) -> Reply:
        tenant = request.tenant
        if tenant is None:
            raise HttpError(HTTPStatus.BAD_REQUEST, {"detail": "tenant가 필요합니다."})
        client = self._redis()
        cached = status_cache.get_status(client, tenant["id"], video_id)
        if cached is None:
            with self.db() as conn:
                row = db.get_video(conn, video_id)
            if row is not None and row.get("tenant_id") == tenant["id"] and row["status"] in ("READY", "FAILED"):
                return HTTPStatus.OK, {
                    "id": video_id,
                    "status": row["status"],
                    "encoding_progress": 100 if row["status"] == "READY" else None,
                    "hls_path": row["hls_path"],
                    "duration": row["duration"],
                    "error_reason": row["error_reason"] if row["status"] == "FAILED" else None,
                }
            return HTTPStatus.OK, {"status": "UNKNOWN", "message": "진행 상태를 확인할 수 없습니다."}
        status = cached.get("status")
        progress = status_cache.get_progress(client, tenant["id"], video_id) if status == "PROCESSING" else None
        answer: dict[str, Any] = {
            "id": video_id,
            "status": status,
            "encoding_progress": progress.get("percent") if progress else None,
            "encoding_step_index": progress.get("step_index") if progress else None,
            "encoding_step_total": progress.get("step_total") if progress else None,
        }
        if status in ("READY", "FAILED"):
            answer.update(hls_path=cached.get("hls_path"), duration=cached.get("duration"))
            if status == "FAILED":
                answer["error_reason"] = cached.get("error_reason")
        return HTTPStatus.OK, answer

    def get_video(self, request: Request, video_id: int) -> Reply:
        with self.db() as conn:
            return HTTPStatus.OK, _public(self._row(conn, request, video_id))

    def delete_video(self, request: Request, video_id: int) -> Reply:
        with self.db() as conn:
            self._row(conn, request, video_id)
            db.delete_video(conn, video_id)
        return HTTPStatus.NO_CONTENT, {}

    def _source_exists(self, key: str) -> bool:
        """``head_object`` of the upload in R2 with the API's R2 keys."""
        import boto3
        from botocore.config import Config

        env = self._env
        s3 = boto3.client(
            "s3",
            endpoint_url=env.get("R2_ENDPOINT") or None,
            aws_access_key_id=env.get("R2_ACCESS_KEY") or None,
            aws_secret_access_key=env.get("R2_SECRET_KEY") or None,
            region_name="auto",
            config=Config(
                s3={"addressing_style": "path"}, signature_version="s3v4", connect_timeout=5, read_timeout=10
            ),
        )
        try:
            head = s3.head_object(Bucket=self.settings.r2_bucket, Key=key)
        except Exception:
            return False
        return int(head.get("ContentLength", 0)) > 0

    @staticmethod
    def _row(conn: Database, request: Request, video_id: int) -> dict[str, Any]:
        row = db.get_video(conn, video_id)
        if row is None:
            raise HttpError(HTTPStatus.NOT_FOUND, {"detail": "Not found."})
        return row


def _need_tenant(request: Request) -> dict[str, Any]:
    if request.tenant is None:
        raise HttpError(HTTPStatus.BAD_REQUEST, {"detail": "tenant가 필요합니다."})
    return request.tenant


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("id", "session_id", "title", "file_key", "status", "duration", "error_reason", "hls_path")
    return {key: row.get(key) for key in keep}


# (method, path regex, needs: "staff" | "user" | None (token route: no tenant either)) -> handler.
Route = Callable[[VideoApi, Request, int], Reply]
ROUTES: list[tuple[str, re.Pattern[str], str | None, Route]] = [
    ("POST", re.compile(rf"{PREFIX}/token/"), None, lambda api, r, _id: api.token(r)),
    ("POST", re.compile(rf"{PREFIX}/media/videos/upload/init/"), "staff", lambda api, r, _id: api.upload_init(r)),
    ("POST", re.compile(rf"{PREFIX}/media/videos/(\d+)/upload/complete/"), "staff", VideoApi.upload_complete),
    ("POST", re.compile(rf"{PREFIX}/media/videos/(\d+)/retry/"), "staff", VideoApi.retry),
    ("GET", re.compile(rf"{PREFIX}/media/videos/(\d+)/progress/"), "user", VideoApi.progress),
    ("GET", re.compile(rf"{PREFIX}/media/videos/(\d+)/"), "user", VideoApi.get_video),
    ("DELETE", re.compile(rf"{PREFIX}/media/videos/(\d+)/"), "staff", VideoApi.delete_video),
]
_BYPASS = (f"{PREFIX}/token/", "/health")


class Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: tenant, authentication, route, JSON, and gunicorn's access line."""

    server: ApiServer
    protocol_version = "HTTP/1.1"

    def _dispatch(self, method: str) -> None:
        api = self.server.api
        path = self.path.split("?", 1)[0]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            status, body = self._answer(api, method, path, raw)
        except HttpError as exc:
            status, body = exc.status, exc.body
        except Exception as exc:  # a stand-in answers 500 and logs, it never dies
            middleware_log.exception("Unhandled exception: %s", exc)
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {"detail": "Internal Server Error"}
        if status >= 500:
            request_log.error("%s: %s", status.phrase, path)
        elif status >= 400:
            request_log.warning("%s: %s", status.phrase, path)
        data = b"" if status == HTTPStatus.NO_CONTENT else json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._access(status, len(data))

    def _answer(self, api: VideoApi, method: str, path: str, raw: bytes) -> Reply:
        if path == "/health":
            return HTTPStatus.OK, {"status": "ok"}
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise HttpError(HTTPStatus.BAD_REQUEST, {"detail": "JSON body must be an object"})
        tenant = None
        if path not in _BYPASS:
            with api.db() as conn:
                tenant = resolve_tenant(conn, self.headers.get("Host", ""), self.headers.get("X-Tenant-Code"))
        user = api.tokens.user(api, self.headers.get("Authorization", ""))
        request = Request(method, path, dict(self.headers.items()), body, tenant, user)
        for route_method, pattern, needs, route in ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                if needs is not None and user is None:
                    raise HttpError(
                        HTTPStatus.UNAUTHORIZED, {"detail": "Authentication credentials were not provided."}
                    )
                if needs == "staff" and not (user or {}).get("is_staff"):
                    raise HttpError(
                        HTTPStatus.FORBIDDEN, {"detail": "You do not have permission to perform this action."}
                    )
                return route(api, request, int(match.group(1)) if match.groups() else 0)
        raise HttpError(HTTPStatus.NOT_FOUND, {"detail": "Not found."})

    def _access(self, status: int, size: int) -> None:
        """gunicorn's access line (``--access-logfile -``), in its own format, not the app's."""
        now = datetime.now(LocalTimeFormatter.zone)
        line = (
            f'{self.address_string()} - - [{now:%d/%b/%Y:%H:%M:%S %z}] "{self.requestline}" {status} {size} "-" '
            f'"{self.headers.get("User-Agent", "-")}"'
        )
        self.server.access(line)

    def do_GET(self) -> None:  # http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # signature from http.server
        return None  # the access line is written by _access


class ApiServer(ThreadingHTTPServer):
    """A threading server that carries the :class:`VideoApi`."""

    daemon_threads = True  # a hung client must not keep the process alive at shutdown

    def __init__(self, address: tuple[str, int], api: VideoApi, access: Callable[[str], None]) -> None:
        super().__init__(address, Handler)
        self.api = api
        self.access = access


def build_server(env: Mapping[str, str] | None = None, access: Callable[[str], None] | None = None) -> ApiServer:
    """Create the schema and bind to 127.0.0.1 (only loopback: this is a test stand-in)."""
    env = os.environ if env is None else env
    settings = ApiSettings.from_env(env)
    with db.connect(env) as conn:
        db.create_schema(conn)
    return ApiServer(("127.0.0.1", settings.port), VideoApi(settings, env), access or (lambda line: None))
