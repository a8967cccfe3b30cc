"""The API stand-in: the few endpoints of the real Django API that the runbook touches.

:data:`ROUTES` (at the end) lists the JSON endpoints. Those the runbook names: upload complete enqueues on
SQS (§6), progress reads Redis (§7), retry resets the status and sets the cancel flag (§9).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import redis

from reference import aws_config, db, redis_client
from reference.db import Database

logger = logging.getLogger("reference.api")
access_logger = logging.getLogger("reference.api.access")

DEFAULT_QUEUE = "academy-video-jobs"


@dataclass(frozen=True)
class ApiSettings:
    """Everything the API reads from its environment."""

    port: int
    queue_name: str
    region: str | None
    skip_enqueue: bool
    retry_cancel_ttl: int
    redis_host: str
    redis_port: int
    redis_password: str | None
    redis_db: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        """Read the settings; unset variables take the real deployment's defaults."""
        return cls(
            port=int(env.get("API_PORT", "8000")),
            queue_name=env.get("VIDEO_SQS_QUEUE_NAME") or DEFAULT_QUEUE,
            # boto3 itself only reads AWS_DEFAULT_REGION; the runbook (§4) allows AWS_REGION too.
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            skip_enqueue=env.get("API_SKIP_ENQUEUE", "") == "1",
            retry_cancel_ttl=int(env.get("RETRY_CANCEL_TTL", "300")),
            redis_host=env.get("REDIS_HOST") or "127.0.0.1",
            redis_port=int(env.get("REDIS_PORT") or "6379"),
            redis_password=env.get("REDIS_PASSWORD") or None,
            redis_db=int(env.get("REDIS_DB") or "0"),
        )


class HttpError(Exception):
    """An error answer: status code and message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


Reply = tuple[HTTPStatus, dict[str, Any]]


class VideoApi:
    """The endpoints, independent of HTTP plumbing (one instance per server)."""

    def __init__(self, settings: ApiSettings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self._env = env
        self.redis = redis_client(settings.redis_host, settings.redis_port, settings.redis_password, settings.redis_db)
        self._sqs: Any = None
        self._sqs_lock = threading.Lock()

    def db(self) -> Database:
        """A fresh connection per request: cheap, thread-safe, and survives a database restart."""
        return db.connect(self._env)

    # --- SQS ---------------------------------------------------------------------------------

    def _sqs_client(self) -> Any:
        """One client for all request threads (clients are thread-safe; creating them is not).
        Created on first use, so a bad region is a 503 with its error, not a crash at start."""
        with self._sqs_lock:
            if self._sqs is None:
                self._sqs = boto3.client("sqs", region_name=self.settings.region, config=aws_config())
            return self._sqs

    def enqueue(self, row: Mapping[str, Any]) -> Reply:
        """Send the encode job (``VideoSQSQueue().enqueue(video)``); 503 when SQS refuses."""
        video_id = row["id"]
        if self.settings.skip_enqueue:
            # Fault injection (matrix #11): the upload "completes" but nothing reaches the queue.
            return HTTPStatus.ACCEPTED, {"video_id": video_id, "enqueued": False}
        body = {
            "video_id": video_id,
            "tenant_id": row["tenant_id"],
            "request_id": uuid.uuid4().hex,
            "file_key": row["file_key"],
        }
        try:
            sqs = self._sqs_client()
            url = sqs.get_queue_url(QueueName=self.settings.queue_name)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
        except Exception as exc:  # any SQS failure is answered the same way (503)
            logger.error("Video job enqueue failed: video_id=%s, error=%s: %s", video_id, type(exc).__name__, exc)
            return HTTPStatus.SERVICE_UNAVAILABLE, {"video_id": video_id, "error": "enqueue failed"}
        logger.info("Video job enqueued: video_id=%s", video_id)
        return HTTPStatus.ACCEPTED, {"video_id": video_id, "request_id": body["request_id"], "enqueued": True}

    # --- endpoints ---------------------------------------------------------------------------

    def create_video(self, payload: Mapping[str, Any]) -> Reply:
        """``POST /media/videos/``."""

        def opt_int(name: str) -> int | None:
            value = payload.get(name)
            return None if value is None else int(value)

        with self.db() as conn:
            video_id = opt_int("id")
            if video_id is not None and db.get_video(conn, video_id) is not None:
                raise HttpError(HTTPStatus.CONFLICT, f"video {video_id} exists")
            row = db.create_video(
                conn,
                video_id=video_id,
                session_id=opt_int("session_id"),
                tenant_id=opt_int("tenant_id"),
                file_key=payload.get("file_key"),
            )
        return HTTPStatus.CREATED, row

    def get_video(self, video_id: int) -> Reply:
        """``GET /media/videos/{id}/``."""
        with self.db() as conn:
            return HTTPStatus.OK, self._row(conn, video_id)

    def upload_complete(self, video_id: int) -> Reply:
        """``POST /media/videos/{id}/upload/complete/``: enqueue whatever the row's status is, like
        the real view (the appendix tells the operator to check ``video.status`` at enqueue time)."""
        with self.db() as conn:
            row = self._row(conn, video_id)
        return self.enqueue(row)

    def progress(self, video_id: int) -> Reply:
        """``GET /media/videos/{id}/progress/``: Redis only, so a Redis outage shows as UNKNOWN (§7)."""
        try:
            raw = self.redis.get(f"job:encode:{video_id}:progress")
            data = json.loads(raw) if raw else None
        except (redis.RedisError, ValueError) as exc:
            logger.warning("progress unavailable for video_id=%s: %s: %s", video_id, type(exc).__name__, exc)
            data = None
        if not isinstance(data, dict):
            return HTTPStatus.OK, {"video_id": video_id, "status": "UNKNOWN"}
        status = data.get("status") or "UNKNOWN"
        return HTTPStatus.OK, {"video_id": video_id, "status": status, "percent": data.get("percent")}

    def retry(self, video_id: int) -> Reply:
        """``POST /media/videos/{id}/retry/``.

        Reading of runbook §9 ("API retry 시 cancel 플래그 설정됨. TTL 만료 후 재시도"): retry puts the video
        back to UPLOADED, sets ``job:encode:{id}:cancel`` with a TTL so that a still-running previous
        attempt stops, and re-enqueues. The flag does not know which job it is meant for, so the job this
        retry enqueues is skipped too while the flag lives: that is the §9 symptom, and the remedy is
        "retry again after the TTL". ``RETRY_CANCEL_TTL`` (default 300 s) sets the TTL; 0 sets no flag
        (a clean retry for the rehearsal).
        """
        with self.db() as conn:
            self._row(conn, video_id)
            db.set_status(conn, video_id, "UPLOADED")
            row = self._row(conn, video_id)
        logger.info("Video retry requested: video_id=%s, cancel_ttl=%s", video_id, self.settings.retry_cancel_ttl)
        if self.settings.retry_cancel_ttl > 0:
            try:
                self.redis.set(f"job:encode:{video_id}:cancel", "1", ex=self.settings.retry_cancel_ttl)
            except redis.RedisError as exc:
                logger.warning("cancel flag not set for video_id=%s: %s: %s", video_id, type(exc).__name__, exc)
        return self.enqueue(row)

    def delete_video(self, video_id: int) -> Reply:
        """``DELETE /media/videos/{id}/``."""
        with self.db() as conn:
            if not db.delete_video(conn, video_id):
                raise HttpError(HTTPStatus.NOT_FOUND, f"video {video_id} not found")
        return HTTPStatus.OK, {"deleted": {"video": video_id}}

    def delete_session(self, session_id: int) -> Reply:
        """``DELETE /media/sessions/{id}/``: its videos go too (ON DELETE CASCADE)."""
        with self.db() as conn:
            if not db.delete_session(conn, session_id):
                raise HttpError(HTTPStatus.NOT_FOUND, f"session {session_id} not found")
        return HTTPStatus.OK, {"deleted": {"session": session_id}}

    @staticmethod
    def _row(conn: Database, video_id: int) -> dict[str, Any]:
        row = db.get_video(conn, video_id)
        if row is None:
            raise HttpError(HTTPStatus.NOT_FOUND, f"video {video_id} not found")
        return row


# (method, path regex) -> handler(api, id from the path, JSON body).
Route = Callable[[VideoApi, int, Mapping[str, Any]], Reply]
ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    ("POST", re.compile(r"/media/videos/"), lambda api, _id, body: api.create_video(body)),
    ("GET", re.compile(r"/media/videos/(\d+)/"), lambda api, vid, _b: api.get_video(vid)),
    ("POST", re.compile(r"/media/videos/(\d+)/upload/complete/"), lambda api, vid, _b: api.upload_complete(vid)),
    ("GET", re.compile(r"/media/videos/(\d+)/progress/"), lambda api, vid, _b: api.progress(vid)),
    ("POST", re.compile(r"/media/videos/(\d+)/retry/"), lambda api, vid, _b: api.retry(vid)),
    ("DELETE", re.compile(r"/media/videos/(\d+)/"), lambda api, vid, _b: api.delete_video(vid)),
    ("DELETE", re.compile(r"/media/sessions/(\d+)/"), lambda api, sid, _b: api.delete_session(sid)),
    ("GET", re.compile(r"/healthz/?"), lambda _api, _id, _b: (HTTPStatus.OK, {"status": "ok"})),
]


class Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: route, parse JSON, answer JSON, write the access line."""

    server: ApiServer
    protocol_version = "HTTP/1.1"

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        # Read the body before routing: on a keep-alive connection unread bytes would be taken for
        # the next request.
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            for route_method, pattern, route in ROUTES:
                match = pattern.fullmatch(path)
                if match and route_method == method:
                    ident = int(match.group(1)) if match.groups() else 0
                    status, body = route(self.server.api, ident, self._json_body(raw))
                    break
            else:
                raise HttpError(HTTPStatus.NOT_FOUND, f"no route for {method} {path}")
        except HttpError as exc:
            status, body = exc.status, {"error": str(exc)}
        except (ValueError, TypeError) as exc:
            status, body = HTTPStatus.BAD_REQUEST, {"error": str(exc)}
        except Exception as exc:  # a stand-in answers 500 and logs, it never dies
            logger.exception("request failed: %s %s", method, path)
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _json_body(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise ValueError("JSON body must be an object")
        return payload

    def do_GET(self) -> None:  # http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # signature from http.server
        # Access lines ('"POST /path HTTP/1.1" 202 -') go to the same stream and format as the app's.
        access_logger.info("%s %s", self.address_string(), format % args)


class ApiServer(ThreadingHTTPServer):
    """A threading server that carries the :class:`VideoApi`."""

    daemon_threads = True  # a hung client must not keep the process alive at shutdown

    def __init__(self, address: tuple[str, int], api: VideoApi) -> None:
        super().__init__(address, Handler)
        self.api = api


def build_server(env: Mapping[str, str] | None = None) -> ApiServer:
    """Create the schema and bind to 127.0.0.1 (only loopback: this is a test stand-in)."""
    env = os.environ if env is None else env
    settings = ApiSettings.from_env(env)
    with db.connect(env) as conn:
        db.create_schema(conn)
    return ApiServer(("127.0.0.1", settings.port), VideoApi(settings, env))
