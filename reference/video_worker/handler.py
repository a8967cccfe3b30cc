"""One encode job, in the runbook's order (§5, §9, appendix).

1. cancel flag ``job:encode:{id}:cancel`` set       -> skip
2. ``SET job:encode:{id}:lock <worker> NX EX <ttl>`` fails -> skip
3. ``mark_processing``: UPLOADED -> PROCESSING, else     -> skip
4. ``[HANDLER] Lock acquired, marking as PROCESSING video_id=N``
5. ``process_fn``: R2 download, ffmpeg -> HLS, R2 upload of ``hls/{id}/``
6. ``complete_video``: READY + hls_path, or ``Failed to complete video: not_found``
7. progress READY, lock released

A skip tells the caller to delete the message (§9: "Handler가 skip 반환 시 메시지는 삭제됨"); a failure
keeps it, so it comes back after its visibility timeout (DLQ and retries are the queue's policy).
"""

from __future__ import annotations

import enum
import json
import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import redis

from reference import db
from reference.video_worker.config import WorkerConfig
from reference.video_worker.encode import EncodeInterrupted, encode_to_hls
from reference.video_worker.storage import R2Storage

logger = logging.getLogger("reference.video_worker.handler")

LOCK_KEY = "job:encode:{id}:lock"
CANCEL_KEY = "job:encode:{id}:cancel"
PROGRESS_KEY = "job:encode:{id}:progress"
PROGRESS_TTL = 24 * 3600  # long enough for any encode; old keys must not pile up forever


class Outcome(enum.Enum):
    """What the SQS loop does with the message afterwards."""

    COMPLETED = "completed"  # delete, SQS_JOB_COMPLETED
    SKIPPED = "skipped"  # delete (§9)
    FAILED = "failed"  # keep: visible again after the visibility timeout, SQS_JOB_FAILED
    INTERRUPTED = "interrupted"  # shutdown mid-job: keep, like a restarted worker (appendix B 0)


@dataclass(frozen=True)
class Job:
    """The message body the API sends: ``{"video_id", "tenant_id", "request_id", "file_key"}``."""

    video_id: int
    tenant_id: Any
    request_id: str
    file_key: str | None

    @classmethod
    def from_body(cls, body: str) -> Job:
        """Parse a message body; ValueError/KeyError/TypeError when it is not a job."""
        data = json.loads(body)
        return cls(int(data["video_id"]), data.get("tenant_id"), str(data.get("request_id", "")), data.get("file_key"))


class CompleteVideoError(Exception):
    """``complete_video`` found no row."""


class Progress:
    """Writes ``job:encode:{id}:progress``. Redis is only for display (§7): a failed write is logged
    once per job and never fails the encode."""

    # After a failed write, skip in-between percentages this long (each attempt may cost a 1 s
    # timeout); terminal states (READY, FAILED...) are always attempted.
    BACKOFF_SECONDS = 5.0

    def __init__(self, client: redis.Redis, video_id: int) -> None:
        self._client = client
        self._video_id = video_id
        self._key = PROGRESS_KEY.format(id=video_id)
        self._warned = False
        self._last: tuple[str, int | None] | None = None
        self._quiet_until = 0.0

    def write(self, status: str, percent: int | None = None) -> None:
        """Store ``{"status", "percent"}``; swallow (and report once) Redis errors."""
        if (status, percent) == self._last:
            return  # ffmpeg reports twice a second; only changes are worth a round trip
        if status == "PROCESSING" and time.monotonic() < self._quiet_until:
            return
        self._last = (status, percent)
        payload: dict[str, Any] = {"status": status}
        if percent is not None:
            payload["percent"] = percent
        try:
            self._client.set(self._key, json.dumps(payload), ex=PROGRESS_TTL)
        except redis.RedisError as exc:
            self._quiet_until = time.monotonic() + self.BACKOFF_SECONDS
            if not self._warned:
                self._warned = True
                logger.warning(
                    "Redis unavailable, progress not recorded for video_id=%s: %s: %s",
                    self._video_id,
                    type(exc).__name__,
                    exc,
                )


class JobHandler:
    """Runs jobs for one worker process; shares its Redis client and R2 client between jobs."""

    def __init__(self, config: WorkerConfig, redis_client: redis.Redis, stop: threading.Event) -> None:
        self.config = config
        self.redis = redis_client
        self.stop = stop
        self._storage: R2Storage | None = None

    @property
    def storage(self) -> R2Storage:
        if self._storage is None:
            self._storage = R2Storage(self.config)
        return self._storage

    @staticmethod
    def _db() -> db.Database:
        # A connection per step: jobs last hours, and a database restart in between must not matter.
        # create=False: a worker pointed at a wrong SQLite path fails instead of creating an empty file.
        return db.connect(create=False)

    # --- Redis: cancel flag and idempotency lock -------------------------------------------------

    def _cancel_requested(self, video_id: int) -> bool:
        try:
            return bool(self.redis.exists(CANCEL_KEY.format(id=video_id)))
        except redis.RedisError as exc:
            logger.warning(
                "Redis unavailable, cancel flag not checked for video_id=%s: %s: %s", video_id, type(exc).__name__, exc
            )
            return False

    def _acquire_lock(self, video_id: int) -> bool | None:
        """True: acquired. False: someone holds it. None: Redis unreachable.

        With Redis down the job goes on without the lock (logged): Redis is for progress and
        idempotency only, and the runbook (§7, fault "Redis down") says the encode itself completes.
        The DB's UPLOADED -> PROCESSING transition still keeps two workers off the same video.
        """
        key = LOCK_KEY.format(id=video_id)
        try:
            return bool(self.redis.set(key, self.config.worker_id, nx=True, ex=self.config.lock_ttl))
        except redis.RedisError as exc:
            logger.warning(
                "Redis unavailable, proceeding without idempotency lock video_id=%s: %s: %s",
                video_id,
                type(exc).__name__,
                exc,
            )
            return None

    def _release_lock(self, video_id: int) -> None:
        key = LOCK_KEY.format(id=video_id)
        try:
            # Only our own lock: if it expired and another worker took it, it is theirs now. (GET then
            # DEL is not atomic; the window is microseconds against a TTL of hours.)
            holder = self.redis.get(key)
            if holder is not None and holder == self.config.worker_id.encode():
                self.redis.delete(key)
        except redis.RedisError as exc:
            logger.warning("Redis unavailable, lock %s not released: %s: %s", key, type(exc).__name__, exc)

    # --- the job -----------------------------------------------------------------------------------

    def handle(self, job: Job) -> Outcome:
        """Run one job; never raises (every failure becomes an :class:`Outcome`)."""
        video_id = job.video_id
        if self._cancel_requested(video_id):
            logger.info("[HANDLER] Cancel requested for video_id=%s, skipping", video_id)
            return Outcome.SKIPPED
        locked = self._acquire_lock(video_id)
        if locked is False:
            logger.info("[HANDLER] Lock acquisition failed, skipping")
            return Outcome.SKIPPED
        progress = Progress(self.redis, video_id)
        try:
            try:
                with self._db() as conn:
                    marked = db.mark_processing(conn, video_id)
            except Exception as exc:  # DB unreachable / wrong DB: a job failure
                return self._fail(job, exc, progress)
            if not marked:
                logger.info("[HANDLER] Cannot mark video %s as PROCESSING, skipping", video_id)
                return Outcome.SKIPPED
            # The runbook's marker of the PROCESSING transition; it is logged also when Redis was down
            # and no lock was taken (the WARNING above says so).
            logger.info("[HANDLER] Lock acquired, marking as PROCESSING video_id=%s", video_id)
            progress.write("PROCESSING", 0)
            try:
                hls_path = self.process_fn(job, progress)
                logger.info("[HANDLER] process_fn completed video_id=%s hls_path=%s", video_id, hls_path)
                self.complete_video(video_id, hls_path)
            except EncodeInterrupted:
                return self._interrupted(job, progress)
            except Exception as exc:  # any failure of steps 5-6 fails the job
                return self._fail(job, exc, progress)
            progress.write("READY", 100)
            return Outcome.COMPLETED
        finally:
            if locked:
                self._release_lock(video_id)

    def process_fn(self, job: Job, progress: Progress) -> str:
        """Download the upload from R2, encode it to HLS, publish ``hls/{id}/``; return the playlist key."""
        file_key = job.file_key or self._file_key_from_db(job.video_id)
        with tempfile.TemporaryDirectory(prefix=f"video-worker-{job.video_id}-") as tmp:
            source = Path(tmp) / ("source" + PurePosixPath(file_key).suffix)
            self.storage.download(file_key, source)
            playlist = encode_to_hls(
                self.config.ffmpeg_binary,
                source,
                Path(tmp) / "hls",
                on_progress=lambda percent: progress.write("PROCESSING", percent),
                stop=self.stop,
                slowdown_per_segment=self.config.encode_slowdown_seconds,
            )
            return self.storage.publish_hls(playlist.parent, f"hls/{job.video_id}")

    def _file_key_from_db(self, video_id: int) -> str:
        with self._db() as conn:
            row = db.get_video(conn, video_id)
        if row is None or not row["file_key"]:
            raise ValueError(f"no file_key for video_id={video_id} (not in the message nor the row)")
        return str(row["file_key"])

    def complete_video(self, video_id: int, hls_path: str) -> None:
        """READY + hls_path. On a missing row, tell "deleted / other DB" (False) from a lock or
        connection problem (True) with a second, unlocked SELECT (appendix: ``row exists=True/False``)."""
        with self._db() as conn:
            if db.complete_video(conn, video_id, hls_path):
                return
            exists = db.video_exists(conn, video_id)
        logger.error("complete_video failed: video_id=%s row exists=%s", video_id, exists)
        raise CompleteVideoError("Failed to complete video: not_found")

    def _fail(self, job: Job, exc: Exception, progress: Progress) -> Outcome:
        logger.error("Video processing failed: video_id=%s, error=%s", job.video_id, exc)
        logger.debug("failure detail", exc_info=exc)
        try:
            with self._db() as conn:
                db.set_status(conn, job.video_id, "FAILED")  # a no-op when the row is gone
        except Exception as db_exc:  # the original failure is what matters
            logger.warning("could not mark video_id=%s FAILED: %s: %s", job.video_id, type(db_exc).__name__, db_exc)
        progress.write("FAILED")
        return Outcome.FAILED

    def _interrupted(self, job: Job, progress: Progress) -> Outcome:
        # Back to UPLOADED so that the redelivered message (after its visibility timeout) can run:
        # a graceful version of "restart the worker" in appendix B 0.
        logger.warning("Video processing interrupted by shutdown: video_id=%s (message left in flight)", job.video_id)
        try:
            with self._db() as conn:
                db.set_status(conn, job.video_id, "UPLOADED", only_from="PROCESSING")
        except Exception as exc:
            logger.warning("could not reset video_id=%s to UPLOADED: %s: %s", job.video_id, type(exc).__name__, exc)
        progress.write("UPLOADED", 0)
        return Outcome.INTERRUPTED
