"""The production profile: what the real academy system does, in one place, each fact with its source.

The runbook (``docs/runbook.ko.md``) was written for the public codebase ``guswls3028-art/academy-backend``; at
:data:`COMMIT` its ``docs/video_worker_diagnostic_checklist.md`` is the runbook byte for byte, so that commit's
code is the production the judge reads. Where the runbook's wording and the code disagree, the code wins and
the report says the runbook is out of date. Every constant below names the file and line it was read from
(``path:line`` at :data:`COMMIT`); when production drifts, this module is the one edit.

The stand-in pipeline (``reference/``) never imports this module: it reproduces the same behaviour on its own,
so the fault matrix stays an independent check of the judge (``tests/corpus`` compares both against the real
lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The repository and commit every fact below was read at.
REPOSITORY: Final = "guswls3028-art/academy-backend"
COMMIT: Final = "3bc9f472f9a894818bd08700bd36cf2f6dbdc97d"

# --- log formats ---------------------------------------------------------------------------------------

#: The worker's record format: ``logging.basicConfig`` at import time, before any handler exists, so it
#: applies to every logger of the process (apps/worker/video_worker/sqs_main.py:34-37). The tag is a literal.
WORKER_LOG_FORMAT: Final = "%(asctime)s [%(levelname)s] [VIDEO-WORKER-SQS] %(message)s"
WORKER_LOG_TAG: Final = "[VIDEO-WORKER-SQS]"
#: The API's record format under ``apps.api.config.settings.prod`` (apps/api/config/settings/prod.py:105-124,
#: formatter "simple", style "{"). Under ``base`` (the wsgi default) no LOGGING exists: only WARNING and above
#: are printed, as the bare message (Python's last-resort handler).
API_LOG_FORMAT: Final = "[{levelname}] {asctime} {name}: {message}"
#: ``asctime`` has no zone; Django sets ``TZ`` from ``TIME_ZONE`` before logging starts
#: (apps/api/config/settings/worker.py:94-96, apps/api/config/settings/base.py:199-202).
TIME_ZONE: Final = "Asia/Seoul"
#: Settings modules that carry that ``TIME_ZONE`` (a worker's or API's ``DJANGO_SETTINGS_MODULE``): the worker's
#: default (apps/worker/video_worker/sqs_main.py:13), the wsgi default (apps/api/config/wsgi.py:4-7), prod.
DJANGO_SETTINGS: Final = (
    "apps.api.config.settings.worker",
    "apps.api.config.settings.base",
    "apps.api.config.settings.prod",
)


@dataclass(frozen=True)
class LogLine:
    """One message format the real code logs, with the :class:`~runbook.logs.EventKind` value it classifies as."""

    kind: str
    level: str
    template: str  # the format string as the code writes it (%-style)
    source: str  # path:line at COMMIT


#: The lines on the runbook's paths (worker start §3, job flow §5, enqueue §6, Redis §7, skips §9, appendix),
#: in the order of a job's life. ``tests/corpus/production_lines.txt`` holds rendered samples of each.
LINES: Final[tuple[LogLine, ...]] = (
    LogLine("config_error", "CRITICAL", "config error: %s", "apps/worker/video_worker/config.py:125-128"),
    LogLine("credentials_found", "INFO", "Found credentials in environment variables.", "botocore (runtime)"),
    LogLine("queue_client", "INFO", "SQSQueueClient initialized: %s", "libs/queue/client.py:89"),
    LogLine(
        "started",
        "INFO",
        "Video Worker (SQS) started | queue=%s | wait_time=%ss",
        "apps/worker/video_worker/sqs_main.py:111-115",
    ),
    LogLine(
        "sqs_unavailable",
        "WARNING",
        "SQS %s (%s): %s — 로컬에서는 AWS 자격 증명이 없을 수 있음. 60초마다 재시도합니다.",
        "libs/queue/client.py:49-55",
    ),
    LogLine(
        "sqs_unavailable",
        "WARNING",
        "SQS unavailable (AWS credentials invalid or missing?). Waiting 60s before retry. %s",
        "apps/worker/video_worker/sqs_main.py:126-133",
    ),
    LogLine("sqs_error", "ERROR", "Failed to get queue URL for %s: %s", "libs/queue/client.py:102"),
    LogLine("sqs_error", "ERROR", "Failed to send message to %s: %s", "libs/queue/client.py:116-118"),
    LogLine("sqs_error", "ERROR", "Failed to receive message from %s: %s", "libs/queue/client.py:140"),
    LogLine("sqs_error", "ERROR", "Failed to delete message: %s", "libs/queue/client.py:153"),
    LogLine("sqs_error", "ERROR", "Failed to change message visibility: %s", "libs/queue/client.py:169"),
    LogLine(
        "sqs_error", "ERROR", "Error receiving message from SQS: %s", "apps/support/video/services/sqs_queue.py:216-218"
    ),
    LogLine("invalid_message", "ERROR", "Invalid JSON in message: %s", "apps/support/video/services/sqs_queue.py:168"),
    LogLine("invalid_message", "ERROR", "Invalid message format: %s", "apps/support/video/services/sqs_queue.py:175"),
    LogLine(
        "invalid_message",
        "ERROR",
        "Invalid message format (video_id required): %s",
        "apps/support/video/services/sqs_queue.py:195",
    ),
    LogLine(
        "invalid_message",
        "ERROR",
        "Missing ReceiptHandle in SQS message",
        "apps/support/video/services/sqs_queue.py:200",
    ),
    LogLine(
        "invalid_message",
        "ERROR",
        "Invalid message format (video_id, tenant_id required): %s",
        "apps/worker/video_worker/sqs_main.py:184-187",
    ),
    LogLine(
        "skip_ready",
        "INFO",
        "VIDEO_ALREADY_READY_SKIP | video_id=%s (retry 등으로 이미 완료)",
        "apps/worker/video_worker/sqs_main.py:190-194",
    ),
    LogLine(
        "received",
        "INFO",
        "SQS_MESSAGE_RECEIVED | request_id=%s | video_id=%s | tenant_id=%s | queue_wait_sec=%.2f | created_at=%s",
        "apps/worker/video_worker/sqs_main.py:212-219",
    ),
    LogLine(
        "handle_called",
        "INFO",
        "[SQS_MAIN] Calling handler.handle() video_id=%s",
        "apps/worker/video_worker/sqs_main.py:240",
    ),
    LogLine("redis_connected", "INFO", "Redis connected: %s:%s db=%s", "libs/redis/client.py:63"),
    LogLine(
        "handler_started",
        "INFO",
        "[HANDLER] Starting video processing video_id=%s job_id=%s",
        "src/application/video/handler.py:83",
    ),
    LogLine(
        "lock_held",
        "INFO",
        "IDEMPOTENT_SKIP job_id=%s reason=duplicate",
        "src/infrastructure/cache/redis_idempotency_adapter.py:16,49",
    ),
    LogLine(
        "skip_lock",
        "INFO",
        "[HANDLER] Lock acquisition failed, skipping video_id=%s",
        "src/application/video/handler.py:85",
    ),
    LogLine(
        "lock_acquired",
        "INFO",
        "[HANDLER] Lock acquired, marking as PROCESSING video_id=%s",
        "src/application/video/handler.py:88",
    ),
    LogLine(
        "mark_refused",
        "WARNING",
        "Cannot mark video %s as PROCESSING: status=%s",
        "academy/adapters/db/django/repositories_video.py:441-446",
    ),
    LogLine(
        "skip_status",
        "WARNING",
        "[HANDLER] Cannot mark video %s as PROCESSING, skipping",
        "src/application/video/handler.py:90-92",
    ),
    LogLine(
        "process_started", "INFO", "[HANDLER] Starting process_fn video_id=%s", "src/application/video/handler.py:94"
    ),
    LogLine(
        "download_retry", "WARNING", "download retry attempt=%s err=%s", "apps/worker/video_worker/download.py:48-53"
    ),
    LogLine(
        "transcode",
        "INFO",
        "[TRANSCODER] Starting ffmpeg for video_id=%s cmd=%s",
        "apps/worker/video_worker/video/transcoder.py:265",
    ),
    LogLine(
        "transcode",
        "INFO",
        "[PROCESSOR] Transcode progress video_id=%s current=%.1f/%d step_percent=%d%% overall=%d%%",
        "src/infrastructure/video/processor.py:228-231",
    ),
    LogLine(
        "transcode",
        "INFO",
        "[TRANSCODER] Progress pipe finished video_id=%s progress_updates=%d",
        "apps/worker/video_worker/video/transcoder.py:288",
    ),
    LogLine(
        "transcode",
        "INFO",
        "[TRANSCODER] Stderr reading finished video_id=%s lines=%d",
        "apps/worker/video_worker/video/transcoder.py:295",
    ),
    LogLine(
        "thumbnail_failed",
        "WARNING",
        "thumbnail failed video_id=%s err=%s",
        "src/infrastructure/video/processor.py:356-357",
    ),
    LogLine(
        "process_completed",
        "INFO",
        "[HANDLER] process_fn completed video_id=%s hls_path=%s duration=%s",
        "src/application/video/handler.py:96",
    ),
    LogLine(
        "complete_warning",
        "WARNING",
        "Video %s status is %s (expected PROCESSING)",
        "academy/adapters/db/django/repositories_video.py:486-490",
    ),
    LogLine(
        "row_exists",
        "WARNING",
        "complete_video: video_id=%s not found (row exists=%s). Possible: row/parent deleted during encode, "
        "or worker DB differs from API.",
        "academy/adapters/db/django/repositories_video.py:473-483",
    ),
    LogLine(
        "processing_completed",
        "INFO",
        "Video processing completed: video_id=%s, duration=%s",
        "src/application/video/handler.py:106",
    ),
    LogLine(
        "processing_failed",
        "ERROR",
        "Video processing failed: video_id=%s, error=%s",
        "src/application/video/handler.py:112-115",
    ),
    LogLine(
        "skip_cancel",
        "INFO",
        "[HANDLER] Cancel requested for video_id=%s, skipping",
        "src/application/video/handler.py:64-69",
    ),
    LogLine(
        "cancelled",
        "INFO",
        "[HANDLER] Processing cancelled (retry requested) video_id=%s",
        "src/application/video/handler.py:109-111",
    ),
    LogLine(
        "handle_result",
        "INFO",
        "[SQS_MAIN] handler.handle() returned video_id=%s result=%s",
        "apps/worker/video_worker/sqs_main.py:242",
    ),
    LogLine(
        "handler_exception",
        "ERROR",
        "[SQS_MAIN] Handler exception (visibility 0 applied): video_id=%s: %s",
        "apps/worker/video_worker/sqs_main.py:243-256",
    ),
    LogLine(
        "raw_deleted",
        "INFO",
        "R2 raw deleted after encode video_id=%s key=%s",
        "apps/worker/video_worker/sqs_main.py:273",
    ),
    LogLine(
        "raw_deleted",
        "WARNING",
        "R2 raw delete after encode failed video_id=%s attempt=%s: %s",
        "apps/worker/video_worker/sqs_main.py:276-281",
    ),
    LogLine(
        "job_completed",
        "INFO",
        "SQS_JOB_COMPLETED | request_id=%s | video_id=%s | tenant_code=%s | processing_duration=%.2f"
        " | queue_wait_sec=%.2f",
        "apps/worker/video_worker/sqs_main.py:283-290",
    ),
    LogLine(
        "encoding_duration",
        "INFO",
        "VIDEO_ENCODING_DURATION | video_id=%s | duration_sec=%.2f",
        "apps/worker/video_worker/sqs_main.py:292-296",
    ),
    LogLine(
        "job_failed",
        "ERROR",
        "SQS_JOB_FAILED | request_id=%s | video_id=%s | tenant_code=%s | processing_duration=%.2f"
        " | queue_wait_sec=%.2f",
        "apps/worker/video_worker/sqs_main.py:307-317",
    ),
    LogLine("loop_error", "ERROR", "Unexpected error in main loop: %s", "apps/worker/video_worker/sqs_main.py:330-344"),
    LogLine(
        "worker_exit",
        "ERROR",
        "Too many consecutive errors (%s), shutting down",
        "apps/worker/video_worker/sqs_main.py:252-254",
    ),
    LogLine("loop_error", "ERROR", "Fatal error in Video Worker", "apps/worker/video_worker/sqs_main.py:356-358"),
    LogLine(
        "shutdown",
        "INFO",
        "Received %s, initiating graceful shutdown... | current_job=%s",
        "apps/worker/video_worker/sqs_main.py:77-81",
    ),
    LogLine("shutdown", "INFO", "Video Worker shutdown complete", "apps/worker/video_worker/sqs_main.py:353"),
    LogLine(
        "redis_unavailable",
        "WARNING",
        "Redis connection failed (will use DB fallback): %s",
        "libs/redis/client.py:65-68",
    ),
    LogLine(
        "redis_unavailable",
        "WARNING",
        "Redis not available, allowing job (no idempotency)",
        "src/infrastructure/cache/redis_idempotency_adapter.py:38-41",
    ),
    LogLine(
        "redis_error",
        "WARNING",
        "Redis lock acquire failed, allowing job: %s",
        "src/infrastructure/cache/redis_idempotency_adapter.py:51-53",
    ),
    LogLine(
        "redis_error",
        "WARNING",
        "Redis progress record failed: %s",
        "src/infrastructure/cache/redis_progress_adapter.py:67-68",
    ),
    LogLine(
        "redis_error",
        "WARNING",
        "Failed to cache video status in Redis: %s",
        "academy/adapters/db/django/repositories_video.py:417-419",
    ),
    # --- the API (enqueue §6, retry §9) ---
    LogLine("enqueued", "INFO", "Video job enqueued: video_id=%s", "apps/support/video/services/sqs_queue.py:97-98"),
    LogLine(
        "enqueue_failed",
        "ERROR",
        "Failed to enqueue video job: video_id=%s",
        "apps/support/video/services/sqs_queue.py:99-100",
    ),
    LogLine(
        "enqueue_failed",
        "ERROR",
        "Error enqueuing video job: video_id=%s, error=%s",
        "apps/support/video/services/sqs_queue.py:104-106",
    ),
    LogLine(
        "enqueue_refused",
        "WARNING",
        "Cannot enqueue video %s: status=%s (expected UPLOADED)",
        "apps/support/video/services/sqs_queue.py:65-71",
    ),
    LogLine(
        "enqueue_refused", "ERROR", "Cannot get tenant for video %s", "apps/support/video/services/sqs_queue.py:74-80"
    ),
    LogLine(
        "redis_error",
        "WARNING",
        "Failed to set cancel_requested in Redis: %s",
        "apps/support/video/redis_status_cache.py:34-36",
    ),
    LogLine(
        "enqueue_failed",
        "ERROR",
        "Service Unavailable: %s",
        "django.request (runtime) for a 503 of upload/complete or retry",
    ),
    LogLine("api_error", "ERROR", "Unhandled exception: %s", "apps/api/common/middleware.py:21-26"),
)

#: Worker lines that name their video only through the job id ``encode:{id}``.
JOB_ID_TEMPLATE: Final = "encode:{id}"  # src/application/video/handler.py:61

# --- SQS ------------------------------------------------------------------------------------------------

QUEUE_NAME: Final = "academy-video-jobs"  # apps/api/config/settings/base.py:340, worker.py:105
DLQ_NAME: Final = "academy-video-jobs-dlq"  # apps/support/video/services/sqs_queue.py:39
#: The message the API sends (apps/support/video/services/sqs_queue.py:82-89); ``request_id`` is the worker's
#: own (apps/worker/video_worker/sqs_main.py:196), never in the body.
MESSAGE_FIELDS: Final = ("video_id", "file_key", "tenant_id", "tenant_code", "created_at", "attempt")
#: Long poll (apps/worker/video_worker/sqs_main.py:45, 125).
WAIT_TIME_SECONDS: Final = 20
#: The worker hides a job's message for this long ... (apps/worker/video_worker/sqs_main.py:47)
VISIBILITY_EXTEND_SECONDS: Final = 300
#: ... every this many seconds while the handler runs, the first time this long after the job starts
#: (apps/worker/video_worker/sqs_main.py:48, 55-66, 232-238). A queue VisibilityTimeout not above it lets a
#: second receive happen mid-encode (that worker skips on the lock and deletes the message).
VISIBILITY_EXTEND_INTERVAL_SECONDS: Final = 240
#: After a failed job the worker sets visibility 0: the message is redelivered at once
#: (apps/worker/video_worker/sqs_main.py:307-309); the next delivery finds the row FAILED (or gone) and skips.
FAILED_VISIBILITY_SECONDS: Final = 0
#: Queue attributes as provisioned (scripts/create_sqs_resources.py:56-70); nothing in the code enforces them.
QUEUE_VISIBILITY_TIMEOUT: Final = 300
MAX_RECEIVE_COUNT: Final = 3
#: SQS error codes the queue client treats as "credentials" (libs/queue/client.py:29-42): only these give
#: ``SQS unavailable``; any other error is ``Failed to get queue URL for ...`` / ``Failed to receive ...``.
AUTH_ERROR_CODES: Final = (
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
)
#: The queue client reads only ``AWS_REGION`` (default below); ``AWS_DEFAULT_REGION`` is ignored
#: (libs/queue/client.py:87).
REGION_VARIABLE: Final = "AWS_REGION"
DEFAULT_REGION: Final = "ap-northeast-2"

# --- Redis ----------------------------------------------------------------------------------------------

#: The idempotency lock (src/infrastructure/cache/redis_idempotency_adapter.py:43-45; job id handler.py:61).
LOCK_KEY: Final = "job:encode:{id}:lock"
LOCK_TTL_SECONDS: Final = 14400  # VIDEO_LOCK_TTL_SECONDS, apps/worker/video_worker/sqs_main.py:51
#: Set by the API's retry before it enqueues (apps/support/video/redis_status_cache.py:20-36,
#: apps/support/video/views/video_views.py:402-406); read by the worker before the lock (handler.py:63-69).
CANCEL_KEY: Final = "tenant:{tenant}:video:{id}:cancel_requested"
CANCEL_TTL_SECONDS: Final = 300
#: Written by the worker's processor (src/infrastructure/cache/redis_progress_adapter.py:47-65), read by the
#: API's progress view (apps/support/video/views/progress_views.py:41, 78-80).
PROGRESS_KEY: Final = "tenant:{tenant}:video:{id}:progress"
PROGRESS_TTL_SECONDS: Final = 14400  # VIDEO_PROGRESS_TTL_SECONDS, sqs_main.py:52
#: Written at each status change by the worker (apps/support/video/redis_status_cache.py:10-12, 70-106).
STATUS_KEY: Final = "tenant:{tenant}:video:{id}:status"

# --- database -------------------------------------------------------------------------------------------

VIDEO_TABLE: Final = "video_video"  # apps/support/video/models.py:31-132 (app label "video")
#: A video's tenant: video.session.lecture.tenant (apps/support/video/services/sqs_queue.py:75-77,
#: academy/adapters/db/django/repositories_video.py:384-390).
SESSION_TABLE: Final = "lectures_session"
LECTURE_TABLE: Final = "lectures_lecture"
TENANT_TABLE: Final = "core_tenant"
STATUSES: Final = ("PENDING", "UPLOADED", "PROCESSING", "READY", "FAILED")  # apps/support/video/models.py:32-37
#: ``mark_processing`` (academy/adapters/db/django/repositories_video.py:430-460): UPLOADED -> PROCESSING;
#: PROCESSING -> True without a write (the job re-encodes); row missing -> False without a log line;
#: anything else -> ``Cannot mark video N as PROCESSING: status=S`` and False.
MARKABLE_STATUSES: Final = ("UPLOADED", "PROCESSING")

# --- the API --------------------------------------------------------------------------------------------

#: apps/api/config/urls.py:37 ``api/v1/`` -> apps/api/v1/urls.py:71 ``media/`` -> apps/support/video/urls.py.
API_PREFIX: Final = "/api/v1"
PROGRESS_PATH: Final = "/media/videos/{id}/progress/"  # apps/support/video/urls.py:103-107
RETRY_PATH: Final = "/media/videos/{id}/retry/"  # apps/support/video/views/video_views.py:389-420
UPLOAD_COMPLETE_PATH: Final = "/media/videos/{id}/upload/complete/"  # video_views.py:306-384
#: Tenant by header, honoured only for hosts in TENANT_HEADER_CODE_ALLOWED_HOSTS (apps/core/tenant/resolver.py:77-95),
#: else by Host (TenantDomain); authentication ``Authorization: Bearer <JWT>`` (base.py:234-254).
TENANT_HEADER: Final = "X-Tenant-Code"
AUTH_SCHEME: Final = "Bearer"
#: The progress view's answer for anything not READY/FAILED or PROCESSING in Redis (progress_views.py:64-67).
PROGRESS_UNKNOWN: Final = "UNKNOWN"

# --- the worker's configuration -------------------------------------------------------------------------

#: Checked in this order; only the first missing one is logged (apps/worker/video_worker/config.py:88-116).
#: The bucket pair has no default in ``load_config`` (config.py:112).
REQUIRED_WORKER_VARS: Final[tuple[tuple[str, ...], ...]] = (
    ("API_BASE_URL",),
    ("INTERNAL_WORKER_TOKEN",),
    ("R2_BUCKET", "R2_VIDEO_BUCKET"),
    ("R2_ENDPOINT",),
    ("R2_ACCESS_KEY",),
    ("R2_SECRET_KEY",),
)

# --- the scaler Lambda (infra/worker_asg/queue_depth_lambda/lambda_function.py) -------------------------

#: The Lambda clamps the video ASG's desired capacity to its own bounds (lambda_function.py:38-40, 71-94),
#: one instance per message (visible + in flight), not to the group's MinSize/MaxSize.
SCALER_MIN_VARIABLE: Final = "VIDEO_WORKER_ASG_MIN"
SCALER_MAX_VARIABLE: Final = "VIDEO_WORKER_ASG_MAX"
SCALER_MIN_DEFAULT: Final = 0
SCALER_MAX_DEFAULT: Final = 20
