"""Several sources for one side, read as one log (issue 16, item 4)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from runbook.logs import LogSourceError, Stage, open_lines, parse_spec, summarize
from runbook.logs.multi import expand, summarize_sources


def write(path: Path, *lines: str) -> str:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_two_workers_interleaved_keep_their_own_lock_skips(tmp_path: Path) -> None:
    """The runbook's ``Lock acquisition failed, skipping`` names no video: it belongs to the last video received
    by the same worker, even when the other worker received one in between."""
    a = write(
        tmp_path / "worker-a.log",
        "2026-02-20T03:00:00.000Z INFO w: Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20",
        "2026-02-20T03:00:01.000Z INFO w: SQS_MESSAGE_RECEIVED | request_id=a | video_id=111 | tenant_id=1",
        "2026-02-20T03:00:03.000Z INFO w: [HANDLER] Lock acquisition failed, skipping",
    )
    b = write(
        tmp_path / "worker-b.log",
        "2026-02-20T03:00:00.500Z INFO w: Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20",
        "2026-02-20T03:00:02.000Z INFO w: SQS_MESSAGE_RECEIVED | request_id=b | video_id=333 | tenant_id=1",
        "2026-02-20T03:00:02.500Z INFO w: [HANDLER] Lock acquired, marking as PROCESSING video_id=333",
        "2026-02-20T03:00:04.000Z INFO w: SQS_JOB_COMPLETED | request_id=b | video_id=333",
        "a line no pattern knows",
    )
    merged = summarize_sources([open_lines(a), open_lines(b)], source="both")
    assert merged.stage(111) is Stage.SKIPPED and merged.stage(333) is Stage.COMPLETED
    assert merged.started == 2 and merged.lines == 8 and merged.unattributed_skips == 0
    assert [c.source for c in merged.coverage] == [a, b]
    # One source alone is summarized exactly as before.
    alone = summarize_sources([open_lines(a)], source="a")
    with open_lines(a) as lines:
        assert alone == summarize(lines, source="a")


def test_api_instances_merge_their_enqueue_lines(tmp_path: Path) -> None:
    a = write(tmp_path / "api-a.log", "2026-02-20T03:00:00.000Z INFO api: Video job enqueued: video_id=1")
    b = write(
        tmp_path / "api,b.log",
        "[INFO] 2026-02-20 12:00:05,000 apps.support.video.services.sqs_queue: Video job enqueued: video_id=2",
        "[ERROR] 2026-02-20 12:00:06,000 api: Video job enqueue failed: video_id=3 error=HTTP 503",
    )
    merged = summarize_sources([open_lines(a), open_lines(b)], source="api")
    assert set(merged.enqueued) == {1, 2} and set(merged.enqueue_failures) == {3}
    assert len(merged.coverage) == 2


def test_a_docker_pattern_names_every_matching_container() -> None:
    assert parse_spec("docker:academy-api*") == ("docker", "academy-api*")
    with pytest.raises(LogSourceError, match="not a valid container name or pattern"):
        parse_spec("docker:academy api*")
    # A stand-in for docker.DockerClient: only ``containers.list(all=True)`` is called.
    names = ["academy-api-2", "academy-video-worker", "academy-api-1"]
    client = SimpleNamespace(
        containers=SimpleNamespace(list=lambda all=False: [SimpleNamespace(name=n) for n in names])
    )
    assert expand("docker:academy-api*", client, 3.0) == ["docker:academy-api-1", "docker:academy-api-2"]
    assert expand("docker:academy-api", client, 3.0) == ["docker:academy-api"]  # a name, not a pattern
    assert expand("/var/log/api.log", None, 3.0) == ["/var/log/api.log"]
    with pytest.raises(LogSourceError, match="no container matches"):
        expand("docker:nothing-*", client, 3.0)
