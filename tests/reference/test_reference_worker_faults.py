"""The worker under the faults the runbook diagnoses (§3, §5, §7, §9, appendix), as a real process.

Expected lines come from the runbook's text and the real system's (``corpus_shapes``); where the runbook only
gives a prefix (``config error: ...``) the rest is the real ``load_config``'s wording.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from corpus_shapes import strays
from reference_harness import Pipeline, Proc, free_port, wait_for
from runbook_lines import RunbookLog

RB = RunbookLog()
pytestmark = pytest.mark.timeout(60)


def assert_conforms(proc: Proc) -> None:
    assert RB.nonconforming(proc.messages()) == [], proc.text()
    assert strays(proc.records()) == [], proc.text()


def has_line(proc: Proc, runbook_start: str) -> list[str]:
    """The emitted messages that match the runbook line starting with ``runbook_start``."""
    pattern = RB.line(runbook_start)
    return [m for m in proc.messages() if pattern.matches(m)]


def run_jobs(pipe: Pipeline, count: int = 1, **env: str | None) -> Proc:
    """A worker that handles exactly ``count`` messages and exits 0."""
    worker = pipe.start_worker(VIDEO_WORKER_MAX_JOBS=str(count), **env)
    assert worker.wait_exit(40) == 0, worker.text()
    assert has_line(worker, "SQS_MESSAGE_RECEIVED | request_id="), worker.text()
    assert_conforms(worker)
    return worker


# --- §3: config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (("API_BASE_URL",), "Missing required env: API_BASE_URL"),
        (("INTERNAL_WORKER_TOKEN",), "Missing required env: INTERNAL_WORKER_TOKEN"),
        (("R2_BUCKET", "R2_VIDEO_BUCKET"), "Missing required env (any of): R2_BUCKET, R2_VIDEO_BUCKET"),
        (("R2_ENDPOINT",), "Missing required env: R2_ENDPOINT"),
        (("R2_ACCESS_KEY",), "Missing required env: R2_ACCESS_KEY"),
        (("R2_SECRET_KEY",), "Missing required env: R2_SECRET_KEY"),
        (("API_BASE_URL", "R2_ENDPOINT"), "Missing required env: API_BASE_URL"),  # only the first is named
    ],
)
def test_missing_required_variable_exits_1_with_config_error(
    pipeline: Pipeline, missing: tuple[str, ...], message: str
) -> None:
    worker = pipeline.start_worker(**dict.fromkeys(missing))
    assert worker.wait_exit(15) == 1
    assert worker.records() == [(worker.records()[0][0], "CRITICAL", "", f"config error: {message}")], worker.text()
    assert RB.line("config error").matches(worker.messages()[0])
    assert not has_line(worker, "Video Worker (SQS) started")


# --- §2, §4: SQS refused, unreachable, missing; prompt shutdown -------------------------------------------


def test_queue_missing_is_the_queue_client_s_failure_not_sqs_unavailable(pipeline: Pipeline) -> None:
    worker = pipeline.start_worker(VIDEO_SQS_QUEUE_NAME="academy-video-jobs-does-not-exist")
    worker.wait_for_message(
        lambda m: m.startswith("Failed to receive message from academy-video-jobs-does-not-exist"), "receive failure"
    )
    messages = worker.messages()
    assert any(
        m.startswith("Failed to get queue URL for academy-video-jobs-does-not-exist: ") and "NonExistentQueue" in m
        for m in messages
    )
    assert not has_line(worker, "SQS unavailable")  # only the four credential codes give that line
    started = time.monotonic()
    assert worker.stop(timeout=5) == 0
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
        assert "Received SIGTERM, initiating graceful shutdown... | current_job=idle" in worker.messages()
        assert worker.messages()[-1] == "Video Worker shutdown complete"


# --- §9: the skips ------------------------------------------------------------------------------------


def test_stale_lock_skips_and_deletes_message(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)
    pipeline.redis.set(pipeline.key(video_id, "lock"), "1", ex=14400)
    pipeline.send_job(video_id)
    worker = run_jobs(pipeline)
    assert f"IDEMPOTENT_SKIP job_id=encode:{video_id} reason=duplicate" in worker.messages()
    assert has_line(worker, "[HANDLER] Lock acquisition failed") == [
        f"[HANDLER] Lock acquisition failed, skipping video_id={video_id}"
    ]
    assert pipeline.queue_counts() == (0, 0) and pipeline.status(video_id) == "UPLOADED"
    assert pipeline.redis.ttl(pipeline.key(video_id, "lock")) > 14000  # not ours to release


@pytest.mark.parametrize("status", ["FAILED", "PENDING", None])
def test_a_row_that_cannot_be_marked_is_skipped_and_its_message_deleted(pipeline: Pipeline, status: str | None) -> None:
    """FAILED/PENDING: the repository names the status; no row: the skip alone (production's shapes)."""
    video_id = pipeline.new_video_id()
    if status is not None:
        pipeline.create_video(video_id, status=status)
    pipeline.send_job(video_id)
    worker = run_jobs(pipeline)
    refused = [m for m in worker.messages() if m.startswith("Cannot mark video")]
    assert refused == ([f"Cannot mark video {video_id} as PROCESSING: status={status}"] if status else [])
    assert has_line(worker, "[HANDLER] Cannot mark video N") == [
        f"[HANDLER] Cannot mark video {video_id} as PROCESSING, skipping"
    ]
    assert pipeline.queue_counts() == (0, 0)
    assert pipeline.redis.exists(pipeline.key(video_id, "lock")) == 0  # released


def test_a_processing_row_is_encoded_again(pipeline: Pipeline) -> None:
    """Production's mark_processing accepts a PROCESSING row: the runbook's "already PROCESSING" skip never happens."""
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id, status="PROCESSING")
    pipeline.send_job(video_id)
    worker = run_jobs(pipeline)
    assert not has_line(worker, "[HANDLER] Cannot mark video N") and pipeline.status(video_id) == "READY"


def test_cancel_flag_skips_and_deletes_message(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)
    pipeline.redis.set(pipeline.key(video_id, "cancel_requested"), "1", ex=300)
    pipeline.send_job(video_id)
    worker = run_jobs(pipeline)
    assert has_line(worker, "[HANDLER] Cancel requested") == [
        f"[HANDLER] Cancel requested for video_id={video_id}, skipping"
    ]
    assert pipeline.queue_counts() == (0, 0) and pipeline.status(video_id) == "UPLOADED"


# --- §5 / appendix: a failure is redelivered at once and skipped -------------------------------------------


def assert_failed(pipe: Pipeline, worker: Proc, video_id: int, row_gone: bool = False) -> str:
    """Production's failure shape: the runbook's lines, visibility 0, the redelivery skipped and deleted."""
    failures = has_line(worker, "Video processing failed: video_id=...")  # the §5 table's form
    assert len(failures) == 1 and failures[0].startswith(f"Video processing failed: video_id={video_id}, error=")
    failed = has_line(worker, "SQS_JOB_FAILED")
    assert len(failed) == 1 and f"| video_id={video_id} |" in failed[0]
    assert "NoneType: None" in worker.text()  # logger.exception outside an except block, as production's
    assert not has_line(worker, "SQS_JOB_COMPLETED")
    assert [m for m in worker.messages() if m.startswith("SQS_MESSAGE_RECEIVED")].__len__() == 2  # redelivered
    assert has_line(worker, "[HANDLER] Cannot mark video N") == [
        f"[HANDLER] Cannot mark video {video_id} as PROCESSING, skipping"
    ]
    assert pipe.queue_counts() == (0, 0)  # the redelivery's skip deleted it: nothing for the DLQ
    assert pipe.redis.exists(pipe.key(video_id, "lock")) == 0
    assert pipe.status(video_id) == (None if row_gone else "FAILED")
    if not row_gone:
        assert json.loads(pipe.redis.get(pipe.key(video_id, "status")) or b"{}")["status"] == "FAILED"
    return failures[0]


def test_row_deleted_during_encode_fails_with_not_found(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)
    pipeline.send_job(video_id)
    worker = pipeline.start_worker(VIDEO_WORKER_MAX_JOBS="2", ENCODE_SLOWDOWN_SECONDS="0.5")
    worker.wait_for_message(RB.line("[HANDLER] Lock acquired").matches, "PROCESSING")
    pipeline.execute("DELETE FROM lectures_session WHERE id = 1")  # the lecture's session: CASCADE takes the video
    assert worker.wait_exit(40) == 0, worker.text()
    assert has_line(worker, "[HANDLER] process_fn completed")  # the encode itself finished
    line = assert_failed(pipeline, worker, video_id, row_gone=True)
    assert RB.line("Video processing failed: video_id=N, error=Failed").matches(line)
    assert line == f"Video processing failed: video_id={video_id}, error=Failed to complete video: not_found"
    assert any(
        m.startswith(f"complete_video: video_id={video_id} not found (row exists=False)") for m in worker.messages()
    )
    assert not any(m.startswith("Cannot mark video") for m in worker.messages())  # no row: no status= line
    assert_conforms(worker)


@pytest.mark.parametrize("ffmpeg", ["failing", "missing"])
def test_broken_ffmpeg_fails_the_job(pipeline: Pipeline, tmp_path: Path, ffmpeg: str) -> None:
    binary = tmp_path / "ffmpeg"
    if ffmpeg == "failing":
        binary.write_text("#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 3\n")
        binary.chmod(0o755)
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)
    pipeline.send_job(video_id)
    worker = run_jobs(pipeline, 2, FFMPEG_BIN=str(binary))
    line = assert_failed(pipeline, worker, video_id)
    if ffmpeg == "failing":
        assert line.startswith(f"Video processing failed: video_id={video_id}, error=ffmpeg failed video_id={video_id}")
        assert "Unknown encoder libx264" in line
    else:
        assert f"error=ffmpeg error video_id={video_id}: [Errno 2] No such file or directory" in line
    assert not has_line(worker, "[HANDLER] process_fn completed")


def test_r2_download_failure_is_retried_then_fails(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)
    pipeline.send_job(video_id)
    worker = run_jobs(pipeline, 2, R2_VIDEO_BUCKET="academy-video-missing")
    assert any(
        m.startswith("download retry attempt=1 err=404 Client Error: Not Found for url: ") for m in worker.messages()
    )
    assert "download failed: 404 Client Error" in assert_failed(pipeline, worker, video_id)


# --- §7: Redis down, the encode still completes ---------------------------------------------------------


def test_redis_down_encode_still_completes(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)
    pipeline.send_job(video_id)
    worker = run_jobs(pipeline, REDIS_PORT=str(free_port()))
    assert len(has_line(worker, "SQS_JOB_COMPLETED")) == 1
    assert pipeline.status(video_id) == "READY" and pipeline.queue_counts() == (0, 0)
    warnings = [r[3] for r in worker.records() if r[1] == "WARNING"]
    assert sum(w.startswith("Redis connection failed (will use DB fallback): ") for w in warnings) == 1  # remembered
    assert "Redis not available, allowing job (no idempotency)" in warnings


# --- appendix B 0: a restart during a long job -------------------------------------------------------------


def test_sigterm_during_long_job_waits_for_it_and_a_kill_leaves_the_lock(pipeline: Pipeline) -> None:
    video_id = pipeline.new_video_id()
    pipeline.create_video(video_id)
    pipeline.send_job(video_id)
    worker = pipeline.start_worker(ENCODE_SLOWDOWN_SECONDS="10")
    worker.wait_for_message(RB.line("[HANDLER] Lock acquired").matches, "PROCESSING")
    wait_for(lambda: pipeline.redis.get(pipeline.key(video_id, "progress")), 10, "first progress write")
    worker.stop(timeout=1)  # SIGTERM: the job goes on; after the grace period, SIGKILL (docker stop's 10 s)
    assert "Received SIGTERM, initiating graceful shutdown... | current_job=processing" in worker.messages()
    assert pipeline.queue_counts() == (0, 1)  # hidden until 300 s after its last extension
    assert pipeline.status(video_id) == "PROCESSING"
    assert pipeline.redis.exists(pipeline.key(video_id, "lock")) == 1  # never released: 4 h of skips
    assert not has_line(worker, "SQS_JOB_FAILED") and not has_line(worker, "SQS_JOB_COMPLETED")
