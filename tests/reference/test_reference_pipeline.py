"""API + worker as real processes: the healthy path and the API-side faults (runbook §5, §6, §7, §9).

Expected lines come from the runbook's text (``runbook_lines``) and the real system's (``corpus_shapes``), never
from ``reference/``.
"""

from __future__ import annotations

import json

import pytest
from corpus_shapes import strays
from reference_harness import (
    ACCESS_LINE,
    API_LINE,
    CLIP_KEY,
    TENANT_ID,
    WORKER_LINE,
    Pipeline,
    Proc,
    free_port,
    wait_for,
)
from runbook_lines import RunbookLog

RB = RunbookLog()
pytestmark = pytest.mark.timeout(60)

# The healthy worker's phases, by the start of their runbook line (§5 table).
HEALTHY_PHASES = (
    "Video Worker (SQS) started",
    "SQS_MESSAGE_RECEIVED | request_id=",
    "[HANDLER] Lock acquired",
    "[HANDLER] process_fn completed",
    "SQS_JOB_COMPLETED",
)


def assert_conforms(proc: Proc) -> None:
    """Each emitted line that claims to be a runbook line matches its text, and each has production's shape."""
    assert RB.nonconforming(proc.messages()) == [], proc.text()
    assert strays(proc.records()) == [], proc.text()


def init_video(pipe: Pipeline, video_id: int) -> str:
    """``upload/init`` (PENDING), then the source into the bucket where it said; returns its key."""
    body = {"id": video_id, "session": 1, "filename": f"upload-{video_id}.mp4"}
    status, answer = pipe.http("POST", "/media/videos/upload/init/", body)
    assert status == 201 and answer["video"]["status"] == "PENDING", answer
    source = {"Bucket": "academy-video", "Key": CLIP_KEY}
    pipe.s3.copy_object(Bucket="academy-video", Key=answer["file_key"], CopySource=source)
    return str(answer["file_key"])


def test_upload_to_ready_end_to_end(pipeline: Pipeline) -> None:
    api = pipeline.start_api()
    worker = pipeline.start_worker()
    video_id = pipeline.new_video_id()
    raw_key = init_video(pipeline, video_id)

    status, body = pipeline.http("POST", f"/media/videos/{video_id}/upload/complete/")
    assert status == 200 and body["status"] == "UPLOADED"
    enqueued = api.wait_for_message(RB.line("Video job enqueued").matches, "enqueue log")
    assert enqueued == f"Video job enqueued: video_id={video_id}"

    completed = worker.wait_for_message(RB.line("SQS_JOB_COMPLETED").matches, "SQS_JOB_COMPLETED", timeout=40)
    assert completed.startswith("SQS_JOB_COMPLETED | request_id=") and f"| video_id={video_id} |" in completed
    assert pipeline.status(video_id) == "READY"
    hls = f"tenants/{TENANT_ID}/video/hls/{video_id}"
    assert pipeline.execute("SELECT hls_path FROM video_video WHERE id = ?", video_id) == [(f"{hls}/master.m3u8",)]
    keys = pipeline.hls_keys(video_id)
    segments = [key for key in keys if key.endswith(".ts")]
    assert f"{hls}/master.m3u8" in keys and f"{hls}/v1/index.m3u8" in keys and len(segments) >= 3, keys
    playlist = pipeline.s3.get_object(Bucket="academy-video", Key=f"{hls}/v1/index.m3u8")["Body"].read().decode()
    assert "#EXT-X-ENDLIST" in playlist and all(key.rsplit("/", 1)[1] in playlist for key in segments)
    assert "Contents" not in pipeline.s3.list_objects_v2(Bucket="academy-video", Prefix=raw_key)  # raw deleted

    assert pipeline.redis.get(pipeline.key(video_id, "lock")) is None
    assert json.loads(pipeline.redis.get(pipeline.key(video_id, "status")) or b"{}")["status"] == "READY"
    assert json.loads(pipeline.redis.get(pipeline.key(video_id, "progress")) or b"{}")["percent"] == 100
    assert wait_for(lambda: pipeline.queue_counts() == (0, 0), 5, "message deleted")
    status, progress = pipeline.http("GET", f"/media/videos/{video_id}/progress/")
    assert status == 200 and progress["status"] == "READY" and progress["hls_path"] == f"{hls}/master.m3u8"

    messages = worker.messages()
    received = next(m for m in messages if m.startswith("SQS_MESSAGE_RECEIVED"))
    assert f"| video_id={video_id} | tenant_id={TENANT_ID} | queue_wait_sec=" in received
    assert f"[HANDLER] process_fn completed video_id={video_id} hls_path={hls}/master.m3u8 duration=" in "\n".join(
        messages
    )
    # The runbook's §5 table lists the phases in this order, and the worker logs them in it.
    table_order = [RB.patterns.index(RB.line(phase)) for phase in HEALTHY_PHASES]
    assert table_order == sorted(table_order)
    log_order = [next(i for i, m in enumerate(messages) if RB.line(phase).matches(m)) for phase in HEALTHY_PHASES]
    assert log_order == sorted(log_order), messages

    # Production's formats: every worker line, every API line (or gunicorn's access line).
    assert all(WORKER_LINE.match(line) for line in worker.text().splitlines()), worker.text()
    api_lines = api.text().splitlines()
    assert api_lines[0].startswith("API listening on http://127.0.0.1:")
    assert all(API_LINE.match(line) or ACCESS_LINE.match(line) for line in api_lines[1:]), api.text()
    assert any(f'"POST /api/v1/media/videos/{video_id}/upload/complete/ HTTP/1.1" 200' in line for line in api_lines)
    assert not any(level in ("ERROR", "WARNING") for _, level, _, _ in worker.records()), worker.text()
    assert_conforms(worker)
    assert_conforms(api)


def test_api_cannot_reach_sqs_answers_503_and_logs_failure(pipeline: Pipeline) -> None:
    api = pipeline.start_api(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    video_id = pipeline.new_video_id()
    init_video(pipeline, video_id)
    status, body = pipeline.http("POST", f"/media/videos/{video_id}/upload/complete/")
    assert status == 503 and "SQS" in body["detail"]
    api.wait_for_message(lambda m: m == f"Failed to enqueue video job: video_id={video_id}", "enqueue failure")
    # gunicorn's access line is written once the answer is sent: the client may read the 503 before it is there.
    wait_for(lambda: '/upload/complete/ HTTP/1.1" 503' in api.text(), 5, "access line")
    messages = api.messages()
    assert any(m.startswith("Failed to get queue URL for ") and "Could not connect" in m for m in messages), messages
    assert any(m.startswith("Failed to send message to ") for m in messages)
    assert f"Service Unavailable: /api/v1/media/videos/{video_id}/upload/complete/" in messages
    assert any('/upload/complete/ HTTP/1.1" 503' in line for line in api.text().splitlines())
    assert not any(RB.line("Video job enqueued").matches(m) for m in messages)
    assert_conforms(api)


def test_api_skip_enqueue_fault_completes_upload_without_enqueue(pipeline: Pipeline) -> None:
    api = pipeline.start_api(API_SKIP_ENQUEUE="1")
    video_id = pipeline.new_video_id()
    init_video(pipeline, video_id)
    status, _ = pipeline.http("POST", f"/media/videos/{video_id}/upload/complete/")
    assert status == 200 and pipeline.status(video_id) == "UPLOADED"
    wait_for(lambda: "upload/complete/" in api.text(), 5, "access line")
    assert not any("enqueue" in m.lower() for m in api.messages())
    assert pipeline.queue_counts() == (0, 0)


def test_tenant_and_token_are_required(pipeline: Pipeline) -> None:
    pipeline.start_api()
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)
    status, body = pipeline.http("GET", f"/media/videos/{video_id}/progress/", token=False)
    assert status == 401
    # A Host no TenantDomain knows: 404 before anything else; X-Tenant-Code counts only on the API's own host.
    other = {"Host": "elsewhere.example", "X-Tenant-Code": "academy"}
    status, body = pipeline.http("GET", f"/media/videos/{video_id}/progress/", headers=other)
    assert (status, body["code"], body["host"]) == (404, "tenant_invalid", "elsewhere.example")
    own = {"Host": "api.hakwonplus.com", "X-Tenant-Code": "academy"}
    assert pipeline.http("GET", f"/media/videos/{video_id}/progress/", headers=own)[0] == 200
    assert pipeline.http("GET", f"/media/videos/{video_id}/progress/")[0] == 200
    assert pipeline.http("GET", "/health", token=False)[0] == 200


def test_progress_from_redis_else_the_database_for_ready_and_failed(pipeline: Pipeline) -> None:
    pipeline.start_api()
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)  # UPLOADED: nothing in Redis, and the database says nothing final
    assert pipeline.http("GET", f"/media/videos/{video_id}/progress/")[1]["status"] == "UNKNOWN"
    pipeline.redis.set(pipeline.key(video_id, "status"), json.dumps({"status": "PROCESSING"}))
    pipeline.redis.set(pipeline.key(video_id, "progress"), json.dumps({"step": "transcoding", "percent": 57}))
    status, body = pipeline.http("GET", f"/media/videos/{video_id}/progress/")
    assert (status, body["status"], body["encoding_progress"]) == (200, "PROCESSING", 57)

    pipeline.execute("UPDATE video_video SET status = 'READY', hls_path = 'x/master.m3u8' WHERE id = ?", video_id)
    pipeline.start_api(REDIS_PORT=str(free_port()))  # the same database, a Redis that is not there
    status, body = pipeline.http("GET", f"/media/videos/{video_id}/progress/")
    assert (status, body["status"], body["encoding_progress"]) == (200, "READY", 100)  # the database's answer


def test_retry_sets_cancel_flag_and_worker_skips_until_it_is_gone(pipeline: Pipeline) -> None:
    api = pipeline.start_api()  # RETRY_CANCEL_TTL default: 300 s, as production
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id, status="PENDING")
    assert pipeline.http("POST", f"/media/videos/{video_id}/retry/")[0] == 400  # PENDING cannot be retried
    pipeline.execute("UPDATE video_video SET status = 'FAILED' WHERE id = ?", video_id)

    status, body = pipeline.http("POST", f"/media/videos/{video_id}/retry/")
    assert (status, body) == (202, {"detail": "Video reprocessing queued (SQS)"}) and pipeline.status(
        video_id
    ) == "UPLOADED"
    assert 0 < pipeline.redis.ttl(pipeline.key(video_id, "cancel_requested")) <= 300
    api.wait_for_message(RB.line("Video job enqueued").matches, "re-enqueue")

    # §9: the retry's own message meets its cancel flag, is skipped, and deleted.
    skipper = pipeline.start_worker("worker-cancel", VIDEO_WORKER_MAX_JOBS="1")
    assert skipper.wait_exit(20) == 0
    assert f"[HANDLER] Cancel requested for video_id={video_id}, skipping" in skipper.messages()
    assert pipeline.queue_counts() == (0, 0) and pipeline.status(video_id) == "UPLOADED"
    assert_conforms(skipper)

    # "TTL 만료 후 재시도": the flag gone, a retry whose flag is off (a stand-in switch) encodes.
    pipeline.redis.delete(pipeline.key(video_id, "cancel_requested"))
    pipeline.start_api(RETRY_CANCEL_TTL="0")
    assert pipeline.http("POST", f"/media/videos/{video_id}/retry/")[0] == 202
    worker = pipeline.start_worker("worker-retry", VIDEO_WORKER_MAX_JOBS="1")
    assert worker.wait_exit(30) == 0
    assert pipeline.status(video_id) == "READY", worker.text()
