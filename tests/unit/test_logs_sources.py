"""runbook.logs sources: file paths, FIFOs, CloudWatch (against a moto server) and docker specs."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from runbook.logs import LogSourceError, Stage, open_lines, parse_spec, summarize
from runbook.logs.coverage import ReadState
from runbook.logs.source_cloudwatch import aws_reason, cloudwatch_blocks

WORKER_LOG = (
    "2024-05-01 12:00:00,000 INFO Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20\r\n"
    "2024-05-01 12:00:01,000 INFO SQS_MESSAGE_RECEIVED | request_id=a | video_id=333 | tenant_id=1\r\n"
    "2024-05-01 12:00:02,000 INFO [HANDLER] Lock acquired, marking as PROCESSING video_id=333\r\n"
    "2024-05-01 12:00:09,000 INFO SQS_JOB_COMPLETED | request_id=a | video_id=333\r\n"
)


# --- specs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("/var/log/worker.log", ("file", "/var/log/worker.log")),
        ("file:/var/log/worker.log", ("file", "/var/log/worker.log")),
        ("docker:academy-video-worker", ("docker", "academy-video-worker")),
        ("cloudwatch:/aws/ec2/academy-video-worker", ("cloudwatch", "/aws/ec2/academy-video-worker")),
    ],
)
def test_parse_spec(spec: str, expected: tuple[str, str]) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("docker:", "no container name"),
        ("docker:bad name!", "not a valid container name"),
        ("cloudwatch:", "no log group"),
        ("cloudwatch:a group?", "not a valid CloudWatch log group name"),
        ("  ", "empty log source"),
    ],
)
def test_malformed_spec_names_the_input(spec: str, reason: str) -> None:
    with pytest.raises(LogSourceError) as raised:
        parse_spec(spec)
    message = str(raised.value)
    assert repr(spec) in message and reason in message and "\n" not in message


# --- files -----------------------------------------------------------------------------------


def test_file_is_read_as_stripped_lines_and_summarized(tmp_path: Path) -> None:
    path = tmp_path / "worker.log"
    path.write_text(WORKER_LOG)
    with open_lines(str(path)) as lines:
        first = next(lines)
        assert first.endswith(b"wait_time=20")
        summary = summarize(lines, source="worker")  # the rest of the file, block by block
    assert lines.closed
    assert (summary.lines, summary.stage(333)) == (3, Stage.COMPLETED)
    assert summarize(open_lines(str(path))).started == 1


@pytest.mark.parametrize(("make", "reason"), [("missing", "file not found"), ("directory", "is a directory")])
def test_unreadable_paths_raise_one_line_naming_the_path(tmp_path: Path, make: str, reason: str) -> None:
    path = tmp_path / "worker.log"
    if make == "directory":
        path.mkdir()
    with pytest.raises(LogSourceError) as raised:
        open_lines(str(path))
    assert str(path) in str(raised.value) and reason in str(raised.value)
    assert "Traceback" not in str(raised.value) and raised.value.__suppress_context__


def test_permission_denied_names_the_path() -> None:
    # Root reads anything, so the check runs in a forked child that drops to 'nobody'.
    folder = Path(tempfile.mkdtemp(prefix="runbook-logs-"))
    try:
        folder.chmod(0o755)
        path = folder / "worker.log"
        path.write_text(WORKER_LOG)
        path.chmod(0o000)
        if os.geteuid() != 0:
            with pytest.raises(LogSourceError, match="permission denied"):
                open_lines(str(path))
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never returns into pytest
            try:
                os.setgid(65534)
                os.setuid(65534)
                try:
                    open_lines(str(path))
                    outcome = "opened"
                except LogSourceError as exc:
                    outcome = str(exc)
                os.write(write_end, outcome.encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            outcome = pipe.read().decode()
        os.waitpid(pid, 0)
        assert outcome == f"log source {str(path)!r}: permission denied (file not readable)"
    finally:
        shutil.rmtree(folder)


def _in_thread(target: Any, seconds: float = 5.0) -> list[Any]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(target()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked"
    return result


def test_fifo_without_writer_neither_hangs_nor_fails(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert _in_thread(lambda: list(open_lines(str(fifo)))) == [[]]


def test_fifo_with_a_writer_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    attached = threading.Event()

    def write() -> None:
        with fifo.open("w") as f:  # blocks until the reader has opened
            attached.set()
            f.write(WORKER_LOG)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with open_lines(str(fifo)) as lines:
        assert attached.wait(5)
        summary = _in_thread(lambda: summarize(lines))[0]
    assert summary.stage(333) is Stage.COMPLETED


def test_since_and_max_bytes_on_a_file(tmp_path: Path) -> None:
    path = tmp_path / "worker.log"
    path.write_text(WORKER_LOG + "  a continuation line without a timestamp\n")
    since = datetime(2024, 5, 1, 12, 0, 2, tzinfo=UTC)
    with open_lines(str(path), since=since) as lines:
        kept = list(lines)
    assert len(kept) == 3 and b"Lock acquired" in kept[0] and kept[2].startswith(b"  a continuation")
    with open_lines(str(path), max_bytes=len(WORKER_LOG.splitlines(True)[0]) + 5) as lines:
        assert len(list(lines)) == 2  # one whole line, then the cut start of the next


# --- CloudWatch Logs (moto server: ``moto_url``, conftest.py) ---------------------------------


def _client(endpoint: str, **extra: Any) -> Any:
    return boto3.client(
        "logs",
        endpoint_url=endpoint,
        region_name="ap-northeast-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret-do-not-print",
        **extra,
    )


@pytest.fixture
def worker_group(moto_url: str) -> Iterator[tuple[Any, str, int]]:
    """A log group holding a worker's lines (one multi-line event among them); yields (client, group, t0)."""
    client = _client(moto_url)
    group = f"/academy/video-worker-{time.monotonic_ns()}"
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="i-0abc")
    t0 = int(time.time() * 1000) - 60_000
    messages = [
        "SQS_MESSAGE_RECEIVED | request_id=a | video_id=111 | tenant_id=1",
        "[HANDLER] Lock acquisition failed, skipping",
        "SQS_MESSAGE_RECEIVED | request_id=b | video_id=17 | tenant_id=1",
        "Video processing failed: video_id=17, error=Failed to complete video: not_found\n"
        "Traceback (most recent call last):",
        "SQS_MESSAGE_RECEIVED | request_id=c | video_id=333 | tenant_id=1",
        "SQS_JOB_COMPLETED | request_id=c | video_id=333",
    ]
    events = [{"timestamp": t0 + i * 1000, "message": m} for i, m in enumerate(messages)]
    client.put_log_events(logGroupName=group, logStreamName="i-0abc", logEvents=events)
    yield client, group, t0
    client.delete_log_group(logGroupName=group)


def test_cloudwatch_group_is_read_back_with_event_times(worker_group: tuple[Any, str, int]) -> None:
    client, group, t0 = worker_group
    with open_lines(f"cloudwatch:{group}", logs_client=client) as lines:
        summary = summarize(lines, source="worker")
    assert summary.lines == 7  # six events, one of them two lines long
    assert {v: t.stage for v, t in summary.timelines.items()} == {
        111: Stage.SKIPPED,
        17: Stage.FAILED,
        333: Stage.COMPLETED,
    }
    assert summary.first_ts == datetime.fromtimestamp(t0 / 1000, UTC).replace(microsecond=(t0 % 1000) * 1000)


def test_cloudwatch_since_and_pagination(worker_group: tuple[Any, str, int]) -> None:
    client, group, t0 = worker_group
    since = datetime.fromtimestamp((t0 + 4000) / 1000, UTC)
    with open_lines(f"cloudwatch:{group}", logs_client=client, since=since) as lines:
        assert set(summarize(lines).timelines) == {333}
    blocks, _ = cloudwatch_blocks(f"cloudwatch:{group}", group, timeout=5, since=None, client=client, page_size=2)
    assert sum(block.count(b"\n") for block in blocks) == 7  # three pages followed
    # Bounded: the newest slice holds all six events, more than two pages of two; what was read of it is kept,
    # from the slice's start, and the read says it was cut short.
    state = ReadState()
    blocks, _ = cloudwatch_blocks(
        "x", group, timeout=5, since=None, client=client, page_size=2, max_pages=2, state=state
    )
    assert sum(block.count(b"\n") for block in blocks) == 5  # four events, one of two lines
    assert state.truncated and state.end is None and "2 pages" in state.detail


def test_cloudwatch_missing_group(moto_url: str) -> None:
    with pytest.raises(LogSourceError) as raised:
        open_lines("cloudwatch:/academy/nope", logs_client=_client(moto_url))
    assert str(raised.value) == "log source 'cloudwatch:/academy/nope': log group not found"


def test_cloudwatch_unreachable_and_silent_endpoints_fail_fast_without_secrets() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    from botocore.config import Config

    fast = Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1})
    with pytest.raises(LogSourceError, match="unreachable") as raised:
        open_lines("cloudwatch:/g", logs_client=_client(f"http://127.0.0.1:{port}", config=fast))
    assert "do-not-print" not in str(raised.value)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(LogSourceError, match=r"did not answer within 0.5s"):
            open_lines("cloudwatch:/g", timeout=0.5, logs_client=_client(endpoint, config=fast))
        assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("code", "reason"),
    [("AccessDeniedException", "access denied (AccessDeniedException)"), ("ThrottlingException", "AWS error")],
)
def test_aws_error_codes_map_to_short_reasons(code: str, reason: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "User: arn:aws:iam::1:user/x is not authorized"}}, "Op")
    assert aws_reason(error, 5).startswith(reason)
    assert "arn:" not in aws_reason(error, 5)


# --- docker ----------------------------------------------------------------------------------


def test_docker_unreachable_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    with pytest.raises(LogSourceError) as raised:
        open_lines("docker:academy-video-worker", timeout=2)
    assert str(raised.value).startswith("log source 'docker:academy-video-worker': Docker unreachable")


@pytest.fixture(scope="module")
def docker_client() -> Iterator[Any]:
    """A client of the local Docker engine; skips (with the reason) where there is none."""
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine here: {type(exc).__name__}: {str(exc)[:120]}")
    yield client
    client.close()


def test_docker_container_not_found(docker_client: Any) -> None:
    with pytest.raises(LogSourceError) as raised:
        open_lines("docker:runbook-logs-no-such-container", docker_client=docker_client)
    assert str(raised.value) == "log source 'docker:runbook-logs-no-such-container': container not found"


def test_docker_container_log_is_read_with_timestamps(docker_client: Any) -> None:
    image = next(
        (
            name
            for name in ("debian:bookworm-slim", "busybox:latest", "alpine:latest")
            if docker_client.images.list(name=name)
        ),
        None,
    )
    if image is None:
        pytest.skip("no local image with a shell (debian:bookworm-slim, busybox, alpine); none can be pulled here")
    name = f"runbook-logs-test-{os.getpid()}"
    # stdout and stderr are copied separately by docker, so their relative order is not kept:
    # the ordered pair goes to stdout, and stderr gets a line of its own.
    script = (
        "echo 'SQS_MESSAGE_RECEIVED | request_id=a | video_id=222 | tenant_id=1';"
        "echo '[HANDLER] Cannot mark video 222 as PROCESSING, skipping';"
        "echo 'config error: R2_ENDPOINT is required' >&2"
    )
    container = docker_client.containers.run(image, ["sh", "-c", script], name=name, detach=True)
    try:
        container.wait(timeout=60)
        before = datetime.now(UTC) - timedelta(minutes=5)
        with open_lines(f"docker:{name}", docker_client=docker_client, since=before) as lines:
            summary = summarize(lines)
        timeline = summary.timelines[222]
        assert (timeline.stage, summary.lines, summary.config_variables) == (Stage.SKIPPED, 3, ("R2_ENDPOINT",))
        assert timeline.first_ts is not None and timeline.first_ts > before
    finally:
        container.remove(force=True)


def test_cloudwatch_reads_the_last_hours_newest_first_within_its_page_bound(moto_url: str) -> None:
    """Three days of events, one every two minutes: the read asks for the last 6 hours with pages of 20 events
    and a bound of 8 pages. It returns the newest events without a gap or a duplicate back to where it stopped,
    says from when, and never reads the days before."""
    client = _client(moto_url)
    group = f"/academy/busy-{time.monotonic_ns()}"
    client.create_log_group(logGroupName=group)
    now = datetime.now(UTC).replace(microsecond=0)
    stamps = [now - timedelta(minutes=2 * i) for i in range(3 * 24 * 30)][::-1]
    for stream in ("i-a", "i-b"):  # two workers: every stream of the group is read
        client.create_log_stream(logGroupName=group, logStreamName=stream)
    for start in range(0, len(stamps), 1000):
        chunk = stamps[start : start + 1000]
        stream = "i-a" if start % 2000 == 0 else "i-b"
        events = [
            {"timestamp": int(t.timestamp() * 1000), "message": f"Video job enqueued: video_id={int(t.timestamp())}"}
            for t in chunk
        ]
        client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    state = ReadState()
    since = now - timedelta(hours=6)
    blocks, _ = cloudwatch_blocks(
        "cw", group, timeout=5, since=since, client=client, page_size=20, max_pages=8, state=state, now=now
    )
    ids = [int(line.rsplit(b"=", 1)[1]) for block in blocks for line in block.splitlines()]
    assert ids == sorted(ids) and len(ids) == len(set(ids)), "in order, no duplicates at slice boundaries"
    assert ids[-1] == int(now.timestamp())  # the newest event is read
    assert state.start is not None and since <= state.start < now
    expected = [int(t.timestamp()) for t in stamps if t >= state.start]
    assert ids == expected, "contiguous from where the read stopped up to now"
    assert state.truncated and "8 pages" in state.detail and "asked from" in state.detail
    # With room for the whole window, the read reaches ``since`` and is not cut.
    state = ReadState()
    blocks, _ = cloudwatch_blocks(
        "cw", group, timeout=5, since=since, client=client, page_size=50, max_pages=50, state=state, now=now
    )
    ids = [int(line.rsplit(b"=", 1)[1]) for block in blocks for line in block.splitlines()]
    assert ids == [int(t.timestamp()) for t in stamps if t >= since] and not state.truncated
    assert state.start == since and "2 streams" in state.detail
    client.delete_log_group(logGroupName=group)


def test_docker_reads_the_window_from_the_newest_end() -> None:
    """``docker logs --since --tail``: the engine sends the last lines of the window; when it sends as many as
    asked, the older part of the window may be missing and the read says so (no engine here: a stand-in for
    ``docker.DockerClient`` that records what it is asked)."""
    from runbook.logs.source_docker import docker_blocks

    asked: dict[str, object] = {}
    lines = [f"2026-02-20T03:00:0{i}.000000000Z SQS_MESSAGE_RECEIVED | video_id={i}\n".encode() for i in range(3)]

    def logs(**options: object) -> Any:
        asked.update(options)
        return iter([b"".join(lines)])

    client = SimpleNamespace(containers=SimpleNamespace(get=lambda name: SimpleNamespace(logs=logs)))
    since = datetime(2026, 2, 20, 0, 0, tzinfo=UTC)
    for tail, cut in ((3, True), (10, False)):
        state = ReadState()
        blocks, close = docker_blocks("docker:w", "w", timeout=3, since=since, client=client, tail=tail, state=state)
        assert b"".join(blocks).count(b"\n") == 3
        close()
        assert asked["since"] == int(since.timestamp()) and asked["tail"] == tail and asked["timestamps"] is True
        assert state.truncated is cut and (state.end is not None) is cut
