"""The worker under the faults the runbook diagnoses (§3, §5, §7, §9, appendix), as a real process.

Expected lines come from the runbook's text; where the runbook only gives a prefix (``config error: ...``)
the rest is the contract's wording (``<VAR> is required``).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from reference_harness import Pipeline, Proc, free_port, wait_for
from runbook_lines import RunbookLog

RB = RunbookLog()
pytestmark = pytest.mark.timeout(60)


def assert_conforms(proc: Proc) -> None:
    assert RB.nonconforming(proc.messages()) == [], proc.text()


def has_line(proc: Proc, runbook_start: str) -> list[str]:
    """The emitted messages that match the runbook line starting with ``runbook_start``."""
    pattern = RB.line(runbook_start)
    return [m for m in proc.messages() if pattern.matches(m)]


def run_one_job(pipe: Pipeline, video_id: int, **env: str | None) -> Proc:
    """A worker that handles exactly one message and exits 0."""
    worker = pipe.start_worker(VIDEO_WORKER_MAX_JOBS="1", **env)
    assert worker.wait_exit(30) == 0, worker.text()
    assert has_line(worker, "SQS_MESSAGE_RECEIVED | request_id="), worker.text()
    assert_conforms(worker)
    return worker


# --- §3: config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variable", ["API_BASE_URL", "INTERNAL_WORKER_TOKEN", "R2_ENDPOINT", "R2_ACCESS_KEY", "R2_SECRET_KEY"]
)
def test_missing_required_variable_exits_1_with_config_error(pipeline: Pipeline, variable: str) -> None:
    worker = pipeline.start_worker(**{variable: None})
    assert worker.wait_exit(15) == 1
    messages = worker.messages()
    assert messages == [f"config error: {variable} is required"], worker.text()
    assert RB.line("config error").matches(messages[0])
    assert not has_line(worker, "Video Worker (SQS) started")


def test_bucket_has_a_default_so_it_is_never_missing(pipeline: Pipeline) -> None:
    worker = pipeline.start_worker(R2_BUCKET=None, R2_VIDEO_BUCKET=None)
    started = worker.wait_for_message(RB.line("Video Worker (SQS) started").matches, "start line")
    assert started == f"Video Worker (SQS) started | queue={pipeline.queue_name} | wait_time=1"
    assert worker.stop() == 0
    assert not any(m.startswith("config error") for m in worker.messages())


# --- §2, §4: SQS unreachable, queue missing; prompt shutdown -------------------------------------------


@pytest.mark.parametrize("fault", ["endpoint-dead", "queue-missing"])
def test_sqs_unavailable_is_logged_and_retried_and_sigterm_is_prompt(pipeline: Pipeline, fault: str) -> None:
    env = {"VIDEO_WORKER_RETRY_DELAY": "60"}
    if fault == "endpoint-dead":
        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    else:
        env["VIDEO_SQS_QUEUE_NAME"] = "academy-video-jobs-does-not-exist"
    worker = pipeline.start_worker(**env)
    line = worker.wait_for_message(RB.line("SQS unavailable").matches, "SQS unavailable")
    assert line.startswith("SQS unavailable (AWS credentials invalid or missing?): ")
    assert ("NonExistentQueue" in line) if fault == "queue-missing" else ("Could not connect" in line), line
    started = time.monotonic()
    assert worker.stop(timeout=5) == 0  # inside the 60 s retry delay
    assert time.monotonic() - started < 3
    assert_conforms(worker)


@pytest.mark.parametrize("blocked_in", ["long-poll", "silent-endpoint"])
def test_sigterm_during_a_blocking_sqs_call_exits_promptly(pipeline: Pipeline, blocked_in: str) -> None:
    with socket.socket() as silent:  # accepts connections (kernel backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        env = {"VIDEO_WORKER_WAIT_TIME": "20"}
        if blocked_in == "silent-endpoint":
            env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
        worker = pipeline.start_worker(**env)
        worker.wait_for_message(RB.line("Video Worker (SQS) started").matches, "start line")
        time.sleep(0.5)  # let the blocking call begin; nothing else is waited on
        started = time.monotonic()
        assert worker.stop(timeout=5) == 0
        assert time.monotonic() - started < 3
        assert not has_line(worker, "SQS unavailable")


# --- §9: the three skips ------------------------------------------------------------------------------


def test_stale_lock_skips_and_deletes_message(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_schema_and_video(video_id)
    pipeline.redis.set(f"job:encode:{video_id}:lock", "crashed-worker:1", ex=14400)
    pipeline.send_job(video_id)
    worker = run_one_job(pipeline, video_id)
    assert "[HANDLER] Lock acquisition failed, skipping" in has_line(worker, "[HANDLER] Lock acquisition failed")
    assert pipeline.queue_counts() == (0, 0)
    assert pipeline.status(video_id) == "UPLOADED"
    assert pipeline.redis.get(f"job:encode:{video_id}:lock") == b"crashed-worker:1"  # not ours to release


def test_status_not_uploaded_skips_releases_lock_and_deletes_message(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_schema_and_video(video_id, status="PROCESSING")
    pipeline.send_job(video_id)
    worker = run_one_job(pipeline, video_id)
    assert has_line(worker, "[HANDLER] Cannot mark video N") == [
        f"[HANDLER] Cannot mark video {video_id} as PROCESSING, skipping"
    ]
    assert pipeline.queue_counts() == (0, 0)
    assert pipeline.redis.exists(f"job:encode:{video_id}:lock") == 0


def test_cancel_flag_skips_and_deletes_message(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_schema_and_video(video_id)
    pipeline.redis.set(f"job:encode:{video_id}:cancel", "1", ex=300)
    pipeline.send_job(video_id)
    worker = run_one_job(pipeline, video_id)
    assert has_line(worker, "[HANDLER] Cancel requested") == [
        f"[HANDLER] Cancel requested for video_id={video_id}, skipping"
    ]
    assert pipeline.queue_counts() == (0, 0)
    assert pipeline.status(video_id) == "UPLOADED"


# --- §5 / appendix: failures keep the message -------------------------------------------------------------


def assert_failed(pipe: Pipeline, worker: Proc, video_id: int, request_id: str, row_gone: bool = False) -> str:
    """The failure shape: the runbook's lines, message kept in flight, lock released, progress FAILED."""
    failures = has_line(worker, "Video processing failed: video_id=...")  # the §5 table's form
    assert len(failures) == 1 and failures[0].startswith(f"Video processing failed: video_id={video_id}, error=")
    assert has_line(worker, "SQS_JOB_FAILED") == [f"SQS_JOB_FAILED | request_id={request_id} | video_id={video_id}"]
    assert not has_line(worker, "SQS_JOB_COMPLETED")
    assert pipe.queue_counts() == (0, 1)  # not deleted: back after its visibility timeout
    assert pipe.redis.exists(f"job:encode:{video_id}:lock") == 0
    assert json.loads(pipe.redis.get(f"job:encode:{video_id}:progress") or b"{}") == {"status": "FAILED"}
    assert pipe.status(video_id) == (None if row_gone else "FAILED")
    return failures[0]


def test_row_deleted_during_encode_fails_with_not_found(pipeline: Pipeline) -> None:
    pipeline.start_api()
    video_id = pipeline.new_video_id()
    pipeline.create_schema_and_video(video_id)
    request_id = pipeline.send_job(video_id)
    worker = pipeline.start_worker(VIDEO_WORKER_MAX_JOBS="1", ENCODE_SLOWDOWN_SECONDS="0.5")
    worker.wait_for_message(RB.line("[HANDLER] Lock acquired").matches, "PROCESSING")
    # The lecture/session is deleted through the API while the encode runs: CASCADE takes the video.
    assert pipeline.http("DELETE", f"/media/sessions/{video_id}/")[0] == 200
    assert worker.wait_exit(30) == 0
    assert has_line(worker, "[HANDLER] process_fn completed")  # the encode itself finished
    line = assert_failed(pipeline, worker, video_id, request_id, row_gone=True)
    assert RB.line("Video processing failed: video_id=N, error=Failed").matches(line)
    assert line == f"Video processing failed: video_id={video_id}, error=Failed to complete video: not_found"
    assert f"complete_video failed: video_id={video_id} row exists=False" in worker.messages()
    assert has_line(worker, "row exists=")
    assert_conforms(worker)


@pytest.mark.parametrize("ffmpeg", ["failing", "missing"])
def test_broken_ffmpeg_fails_the_job(pipeline: Pipeline, tmp_path: Path, ffmpeg: str) -> None:
    binary = tmp_path / "ffmpeg"
    if ffmpeg == "failing":
        binary.write_text("#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 3\n")
        binary.chmod(0o755)
    video_id = pipeline.new_video_id()
    pipeline.create_schema_and_video(video_id)
    request_id = pipeline.send_job(video_id)
    worker = run_one_job(pipeline, video_id, FFMPEG_BINARY=str(binary))
    line = assert_failed(pipeline, worker, video_id, request_id)
    assert "ffmpeg" in line
    if ffmpeg == "failing":
        assert "code 3" in line and "Unknown encoder libx264" in line
    assert not has_line(worker, "[HANDLER] process_fn completed")


def test_r2_error_names_the_s3_error_code(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_schema_and_video(video_id)
    request_id = pipeline.send_job(video_id)
    worker = run_one_job(pipeline, video_id, R2_BUCKET="academy-video-missing")
    assert "NoSuchBucket" in assert_failed(pipeline, worker, video_id, request_id)


# --- §7: Redis down, the encode still completes ---------------------------------------------------------


def test_redis_down_encode_still_completes(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_schema_and_video(video_id)
    request_id = pipeline.send_job(video_id)
    worker = run_one_job(pipeline, video_id, REDIS_PORT=str(free_port()))
    assert has_line(worker, "SQS_JOB_COMPLETED") == [
        f"SQS_JOB_COMPLETED | request_id={request_id} | video_id={video_id}"
    ]
    assert pipeline.status(video_id) == "READY"
    assert pipeline.queue_counts() == (0, 0)
    warnings = [r[3] for r in worker.records() if r[1] == "WARNING"]
    assert any("without idempotency lock" in w for w in warnings), worker.text()
    assert sum("progress not recorded" in w for w in warnings) == 1  # once per job, not per write


# --- appendix B 0: restart during a long job -------------------------------------------------------------


def test_sigterm_during_long_job_leaves_message_in_flight(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_schema_and_video(video_id)
    pipeline.send_job(video_id)
    worker = pipeline.start_worker(ENCODE_SLOWDOWN_SECONDS="10")
    worker.wait_for_message(RB.line("[HANDLER] Lock acquired").matches, "PROCESSING")
    wait_for(lambda: pipeline.redis.get(f"job:encode:{video_id}:progress"), 10, "first progress write")
    started = time.monotonic()
    assert worker.stop(timeout=5) == 0
    assert time.monotonic() - started < 3
    assert pipeline.queue_counts() == (0, 1)  # 6 h visibility: the "video 17" of appendix B 0
    assert pipeline.status(video_id) == "UPLOADED"  # so the redelivered message can run
    assert pipeline.redis.exists(f"job:encode:{video_id}:lock") == 0
    assert not has_line(worker, "SQS_JOB_FAILED") and not has_line(worker, "SQS_JOB_COMPLETED")
