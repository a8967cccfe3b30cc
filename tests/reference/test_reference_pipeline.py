"""API + worker as real processes: the healthy path and the API-side faults (runbook §5, §6, §7, §9).

Every expected log line comes from the runbook's text (``runbook_lines``), never from ``reference/``.
"""

from __future__ import annotations

import json

import pytest
from reference_harness import CLIP_KEY, LOG_LINE, Pipeline, Proc, free_port, wait_for
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
    """Each emitted line that claims to be a runbook line (contains its anchor) matches its text."""
    assert RB.nonconforming(proc.messages()) == [], proc.text()


def create_video(pipe: Pipeline, video_id: int, tenant_id: int = 7) -> None:
    status, row = pipe.http("POST", "/media/videos/", {"id": video_id, "tenant_id": tenant_id, "file_key": CLIP_KEY})
    assert status == 201, row
    assert row["status"] == "UPLOADED" and row["id"] == video_id


def test_upload_to_ready_end_to_end(pipeline: Pipeline) -> None:
    api = pipeline.start_api()
    worker = pipeline.start_worker()
    video_id = pipeline.new_video_id()
    create_video(pipeline, video_id)

    status, body = pipeline.http("POST", f"/media/videos/{video_id}/upload/complete/")
    assert status == 202 and body["enqueued"] is True
    enqueued = api.wait_for_message(RB.line("Video job enqueued").matches, "enqueue log")
    assert enqueued == f"Video job enqueued: video_id={video_id}"

    completed = worker.wait_for_message(RB.line("SQS_JOB_COMPLETED").matches, "SQS_JOB_COMPLETED", timeout=40)
    assert completed == f"SQS_JOB_COMPLETED | request_id={body['request_id']} | video_id={video_id}"
    assert pipeline.status(video_id) == "READY"
    assert pipeline.execute("SELECT hls_path FROM video_video WHERE id = ?", video_id) == [
        (f"hls/{video_id}/index.m3u8",)
    ]

    keys = pipeline.hls_keys(video_id)
    segments = [key for key in keys if key.endswith(".ts")]
    assert f"hls/{video_id}/index.m3u8" in keys and len(segments) >= 3, keys
    playlist = pipeline.s3.get_object(Bucket="academy-video", Key=f"hls/{video_id}/index.m3u8")["Body"].read().decode()
    assert "#EXT-X-ENDLIST" in playlist and all(key.rsplit("/", 1)[1] in playlist for key in segments)

    assert pipeline.redis.get(f"job:encode:{video_id}:lock") is None
    assert wait_for(lambda: pipeline.queue_counts() == (0, 0), 5, "message deleted")
    status, progress = pipeline.http("GET", f"/media/videos/{video_id}/progress/")
    assert (status, progress) == (200, {"video_id": video_id, "status": "READY", "percent": 100})

    messages = worker.messages()
    received = RB.line("SQS_MESSAGE_RECEIVED | request_id=")
    assert f"SQS_MESSAGE_RECEIVED | request_id={body['request_id']} | video_id={video_id} | tenant_id=7" in messages
    assert any(received.matches(m) for m in messages)
    assert f"[HANDLER] process_fn completed video_id={video_id} hls_path=hls/{video_id}/index.m3u8" in messages

    # The runbook's §5 table lists the phases in this order, and the worker logs them in it.
    table_order = [RB.patterns.index(RB.line(phase)) for phase in HEALTHY_PHASES]
    assert table_order == sorted(table_order)
    log_order = [next(i for i, m in enumerate(messages) if RB.line(phase).matches(m)) for phase in HEALTHY_PHASES]
    assert log_order == sorted(log_order), messages

    # One format for every line (ISO-8601 UTC with ms), access lines on the same stream.
    assert all(LOG_LINE.match(line) for line in worker.text().splitlines()), worker.text()
    api_lines = api.text().splitlines()
    assert api_lines[0].startswith("API listening on http://127.0.0.1:")
    assert all(LOG_LINE.match(line) for line in api_lines[1:]), api.text()
    assert any(f'"POST /media/videos/{video_id}/upload/complete/ HTTP/1.1" 202' in m for m in api.messages())
    assert not any(level in ("ERROR", "WARNING") for _, level, _, _ in worker.records()), worker.text()
    assert_conforms(worker)
    assert_conforms(api)


def test_api_cannot_reach_sqs_answers_503_and_logs_failure(pipeline: Pipeline) -> None:
    api = pipeline.start_api(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    video_id = pipeline.new_video_id()
    create_video(pipeline, video_id)
    status, _ = pipeline.http("POST", f"/media/videos/{video_id}/upload/complete/")
    assert status == 503
    failure = api.wait_for_message(lambda m: m.startswith("Video job enqueue failed:"), "enqueue failure")
    assert failure.startswith(f"Video job enqueue failed: video_id={video_id}, error=EndpointConnectionError: ")
    assert ("ERROR", "reference.api") in {(r[1], r[2]) for r in api.records() if r[3] == failure}
    assert not any(RB.line("Video job enqueued").matches(m) for m in api.messages())
    assert_conforms(api)


def test_api_skip_enqueue_fault_completes_upload_without_enqueue(pipeline: Pipeline) -> None:
    api = pipeline.start_api(API_SKIP_ENQUEUE="1")
    video_id = pipeline.new_video_id()
    create_video(pipeline, video_id)
    status, body = pipeline.http("POST", f"/media/videos/{video_id}/upload/complete/")
    assert (status, body["enqueued"]) == (202, False)
    api.wait_for_message(lambda m: "upload/complete/" in m, "access line")
    assert not any("enqueue" in m.lower() for m in api.messages() if "upload/complete/" not in m)
    assert pipeline.queue_counts() == (0, 0)


def test_progress_unknown_without_key_or_redis(pipeline: Pipeline) -> None:
    pipeline.start_api()
    video_id = pipeline.new_video_id()
    create_video(pipeline, video_id)
    assert pipeline.http("GET", f"/media/videos/{video_id}/progress/") == (
        200,
        {"video_id": video_id, "status": "UNKNOWN"},
    )
    pipeline.redis.set(f"job:encode:{video_id}:progress", json.dumps({"status": "PROCESSING", "percent": 42}))
    assert pipeline.http("GET", f"/media/videos/{video_id}/progress/") == (
        200,
        {"video_id": video_id, "status": "PROCESSING", "percent": 42},
    )

    pipeline.start_api(REDIS_PORT=str(free_port()))  # the same database, a Redis that is not there
    assert pipeline.http("GET", f"/media/videos/{video_id}/progress/") == (
        200,
        {"video_id": video_id, "status": "UNKNOWN"},
    )


def test_retry_sets_cancel_flag_and_worker_skips_until_it_is_gone(pipeline: Pipeline) -> None:
    api = pipeline.start_api()  # RETRY_CANCEL_TTL default: 300 s
    video_id = pipeline.new_video_id()
    create_video(pipeline, video_id)
    pipeline.execute("UPDATE video_video SET status = 'FAILED' WHERE id = ?", video_id)

    status, _ = pipeline.http("POST", f"/media/videos/{video_id}/retry/")
    assert status == 202 and pipeline.status(video_id) == "UPLOADED"
    assert 0 < pipeline.redis.ttl(f"job:encode:{video_id}:cancel") <= 300
    api.wait_for_message(RB.line("Video job enqueued").matches, "re-enqueue")

    # §9: the re-enqueued job meets the cancel flag, is skipped, and its message deleted.
    skipper = pipeline.start_worker("worker-cancel", VIDEO_WORKER_MAX_JOBS="1")
    assert skipper.wait_exit(20) == 0
    assert f"[HANDLER] Cancel requested for video_id={video_id}, skipping" in skipper.messages()
    assert any(RB.line("[HANDLER] Cancel requested").matches(m) for m in skipper.messages())
    assert pipeline.queue_counts() == (0, 0) and pipeline.status(video_id) == "UPLOADED"
    assert_conforms(skipper)

    # "TTL 만료 후 재시도": the flag gone, a retry from an API with RETRY_CANCEL_TTL=0 encodes.
    pipeline.redis.delete(f"job:encode:{video_id}:cancel")
    pipeline.start_api(RETRY_CANCEL_TTL="0")
    assert pipeline.http("POST", f"/media/videos/{video_id}/retry/")[0] == 202
    assert pipeline.redis.exists(f"job:encode:{video_id}:cancel") == 0
    worker = pipeline.start_worker("worker-retry", VIDEO_WORKER_MAX_JOBS="1")
    assert worker.wait_exit(30) == 0
    assert pipeline.status(video_id) == "READY", worker.text()


def test_delete_session_cascades_to_videos(pipeline: Pipeline) -> None:
    pipeline.start_api()
    video_id = pipeline.new_video_id()
    status, row = pipeline.http("POST", "/media/videos/", {"file_key": CLIP_KEY, "session_id": video_id})
    assert status == 201 and row["session_id"] == video_id
    assert pipeline.http("GET", "/healthz")[0] == 200
    assert pipeline.http("DELETE", f"/media/sessions/{video_id}/")[0] == 200
    assert pipeline.http("GET", f"/media/videos/{row['id']}/")[0] == 404
    assert pipeline.http("DELETE", f"/media/videos/{row['id']}/")[0] == 404
