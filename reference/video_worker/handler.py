"""One encode job, as the real handler runs it (§5, §9, appendix):

1. the retry's cancel flag ``tenant:{t}:video:{id}:cancel_requested`` stands → ``Cancel requested``, skip
2. ``[HANDLER] Starting video processing``; ``SET job:encode:{id}:lock 1 NX EX 14400`` refused →
   ``IDEMPOTENT_SKIP`` + ``Lock acquisition failed``, skip (Redis unavailable: go on without it)
3. ``[HANDLER] Lock acquired, marking as PROCESSING``; ``mark_processing`` refused → ``Cannot mark ... skipping``
4. ``process_fn``: download, ffmpeg → HLS, upload ``tenants/{t}/video/hls/{id}/``, with the cancel flag checked
   between steps (``Processing cancelled (retry requested)``, skip)
5. ``complete_video`` (``Failed to complete video: not_found`` for a row that is gone)
6. any exception: ``Video processing failed`` with its traceback, ``fail_video``, failed
7. the lock is released on every path after it was taken

The result is ``ok``, ``skip`` or ``failed``: the SQS loop deletes the message for the first two and makes it
visible at once for the last.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from reference import RedisConnection, db, status_cache
from reference.video_worker.config import WorkerConfig
from reference.video_worker.encode import EncodeError, encode_to_hls
from reference.video_worker.storage import R2Storage

log = logging.getLogger("src.application.video.handler")
lock_log = logging.getLogger("src.infrastructure.cache.redis_idempotency_adapter")
progress_log = logging.getLogger("src.infrastructure.cache.redis_progress_adapter")
processor_log = logging.getLogger("src.infrastructure.video.processor")

LOCK_KEY = "job:encode:{id}:lock"
STEPS = ("presigning", "downloading", "probing", "transcoding", "validating", "thumbnail", "uploading")


class Cancelled(Exception):
    """The cancel flag appeared while the job ran."""


@dataclass(frozen=True)
class Job:
    """What the worker takes from a message: ``video_id, file_key, tenant_id, tenant_code``."""

    video_id: int
    file_key: str
    tenant_id: int
    tenant_code: str


class JobHandler:
    """Runs jobs for one worker process; shares its Redis connection and R2 client between jobs."""

    def __init__(self, config: WorkerConfig, redis: RedisConnection, stop: threading.Event) -> None:
        self.config = config
        self.redis = redis
        self.stop = stop
        self._storage: R2Storage | None = None

    @property
    def storage(self) -> R2Storage:
        if self._storage is None:
            self._storage = R2Storage(self.config)
        return self._storage

    @staticmethod
    def db() -> db.Database:
        # A connection per step: jobs last hours, and a database restart in between must not matter.
        return db.connect(create=False)

    # --- Redis ---------------------------------------------------------------------------------------

    def _cancelled(self, job: Job) -> bool:
        return status_cache.is_cancel_requested(self.redis.get(), job.tenant_id, job.video_id)

    def _acquire(self, job_id: str) -> bool:
        client = self.redis.get()
        if client is None:
            lock_log.warning("Redis not available, allowing job (no idempotency)")
            return True
        try:
            if client.set(f"job:{job_id}:lock", "1", nx=True, ex=self.config.lock_ttl):
                return True
            lock_log.info("IDEMPOTENT_SKIP job_id=%s reason=duplicate", job_id)
            return False
        except Exception as exc:
            lock_log.warning("Redis lock acquire failed, allowing job: %s", exc)
            return True

    def _release(self, job_id: str) -> None:
        client = self.redis.get()
        if client is None:
            return
        try:
            client.delete(f"job:{job_id}:lock")
        except Exception as exc:
            lock_log.warning("Redis lock release failed: %s", exc)

    def _progress(self, job: Job, step: str, percent: int, **extra: Any) -> None:
        client = self.redis.get()
        if client is None:
            return
        index = STEPS.index(step) + 1 if step in STEPS else len(STEPS)
        value = {"step": step, **extra, "percent": percent, "step_index": index, "step_total": len(STEPS)}
        try:
            client.setex(
                status_cache.key(job.tenant_id, job.video_id, "progress"),
                self.config.progress_ttl,
                json.dumps(value, default=str),
            )
        except Exception as exc:
            progress_log.warning("Redis progress record failed: %s", exc)

    # --- the job -------------------------------------------------------------------------------------

    def handle(self, job: Job) -> str:
        """``ok``, ``skip`` or ``failed``."""
        video_id = job.video_id
        job_id = f"encode:{video_id}"
        if self._cancelled(job):
            log.info("[HANDLER] Cancel requested for video_id=%s, skipping", video_id)
            return "skip"
        log.info("[HANDLER] Starting video processing video_id=%s job_id=%s", video_id, job_id)
        if not self._acquire(job_id):
            log.info("[HANDLER] Lock acquisition failed, skipping video_id=%s", video_id)
            return "skip"
        log.info("[HANDLER] Lock acquired, marking as PROCESSING video_id=%s", video_id)
        try:
            with self.db() as conn:
                marked, tenant = db.mark_processing(conn, video_id)
            if not marked:
                log.warning("[HANDLER] Cannot mark video %s as PROCESSING, skipping", video_id)
                return "skip"
            status_cache.cache_status(self.redis.get(), tenant, video_id, "PROCESSING", ttl=status_cache.PROCESSING_TTL)
            log.info("[HANDLER] Starting process_fn video_id=%s", video_id)
            hls_path, duration = self.process_fn(job)
            log.info("[HANDLER] process_fn completed video_id=%s hls_path=%s duration=%s", video_id, hls_path, duration)
            with self.db() as conn:
                ok, reason, tenant = db.complete_video(conn, video_id, hls_path, duration)
            if not ok:
                raise RuntimeError(f"Failed to complete video: {reason}")
            if reason != "idempotent":
                status_cache.cache_status(
                    self.redis.get(), tenant, video_id, "READY", hls_path=hls_path, duration=duration
                )
            log.info("Video processing completed: video_id=%s, duration=%s", video_id, duration)
            return "ok"
        except Cancelled:
            log.info("[HANDLER] Processing cancelled (retry requested) video_id=%s", video_id)
            return "skip"
        except Exception as exc:
            log.exception("Video processing failed: video_id=%s, error=%s", video_id, exc)
            with self.db() as conn:
                changed, tenant = db.fail_video(conn, video_id, str(exc)[:2000])
            if changed:
                status_cache.cache_status(self.redis.get(), tenant, video_id, "FAILED", error_reason=str(exc)[:2000])
            return "failed"
        finally:
            self._release(job_id)

    def _checkpoint(self, job: Job) -> None:
        if self._cancelled(job):
            raise Cancelled()

    def process_fn(self, job: Job) -> tuple[str, int]:
        """Download, encode to HLS, upload; return ``(hls_path, duration)``."""
        vid = job.video_id
        self._checkpoint(job)
        self._progress(job, "presigning", 5)
        with tempfile.TemporaryDirectory(prefix=f"video-{vid}-") as tmp:
            source = Path(tmp) / ("source" + (PurePosixPath(job.file_key).suffix or ".mp4"))
            self._checkpoint(job)
            self._progress(job, "downloading", 15, file_key=job.file_key)
            self.storage.download(job.file_key, source)
            self._checkpoint(job)
            self._progress(job, "transcoding", 50)
            processor_log.info("[TRANSCODER] Starting ffmpeg for video_id=%s cmd=%s -y -i %s ...", vid,
                               self.config.ffmpeg_binary, source)  # fmt: skip
            last = [-1]

            def progress(percent: int) -> None:
                overall = 50 + percent * 35 // 100
                if overall != last[0]:
                    last[0] = overall
                    processor_log.info("[PROCESSOR] Transcode progress video_id=%s current=%.1f/%d step_percent=%d%% "
                                       "overall=%d%%", vid, percent / 100, 1, percent, overall)  # fmt: skip
                    self._progress(job, "transcoding", overall)

            try:
                playlist = encode_to_hls(
                    self.config.ffmpeg_binary,
                    source,
                    Path(tmp) / "hls",
                    on_progress=progress,
                    stop=threading.Event(),  # a shutdown waits for the job, as the real worker does
                    slowdown_per_segment=self.config.encode_slowdown_seconds,
                )
            except EncodeError as exc:
                if isinstance(exc.__cause__, OSError):  # ffmpeg could not start (missing, not executable)
                    raise RuntimeError(f"ffmpeg error video_id={vid}: {exc.__cause__}") from exc
                raise RuntimeError(f"ffmpeg failed video_id={vid} with_audio=True stderr={exc.stderr}") from exc
            duration = max(1, len(list(playlist.parent.glob("*.ts"))))
            self._checkpoint(job)
            self._progress(job, "uploading", 95)
            prefix = f"tenants/{job.tenant_id}/video/hls/{vid}"
            hls_path = self.storage.publish_hls(playlist.parent, prefix)
        self._progress(job, "done", 100, hls_path=hls_path, duration=duration)
        return hls_path, duration
