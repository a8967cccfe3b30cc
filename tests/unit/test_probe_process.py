"""Process probe against real processes started here."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook.probes import ProbeError, process

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def worker() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A sleeping stand-in whose command line carries a unique ``video_worker`` marker."""
    marker = f"video_worker_marker_{uuid.uuid4().hex[:8]}"
    env = {"PATH": os.environ.get("PATH", ""), "VIDEO_SQS_QUEUE_NAME": "academy-video-jobs", "EMPTY": ""}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", marker], env=env)
    # Until exec completes the child still shows pytest's command line: wait for ours (bounded).
    cmdline = Path(f"/proc/{child.pid}/cmdline")
    deadline = time.monotonic() + 10
    while marker.encode() not in cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield child, marker
    child.kill()
    child.wait()


def test_find_process_by_pattern(worker: tuple[subprocess.Popen[bytes], str]) -> None:
    child, marker = worker
    found = process.find_processes(marker)
    assert [info.pid for info in found] == [child.pid]
    (info,) = found
    assert info.ppid == os.getpid()
    assert info.argv[-1] == marker and marker in info.cmdline
    assert info.uid == os.getuid()
    assert info.state in {"S", "R"}


def test_own_process_and_parents_are_excluded() -> None:
    # This process's (and pytest's) command line mentions the test file; it must not find itself.
    # (Another engineer's pytest run may match too, so only our own line is checked.)
    found = {info.pid for info in process.find_processes(r"test_probe_process|python")}
    assert os.getpid() not in found
    assert os.getppid() not in found


def test_process_env(worker: tuple[subprocess.Popen[bytes], str]) -> None:
    child, _ = worker
    env = process.process_env(child.pid, keep={"VIDEO_SQS_QUEUE_NAME", "EMPTY"})
    assert env == {"VIDEO_SQS_QUEUE_NAME": "academy-video-jobs", "EMPTY": ""}, "only the variables asked for"
    seen: list[dict[str, str]] = []
    assert process.process_env(child.pid, observe=lambda whole: seen.append(dict(whole))) == {}
    assert seen and seen[0]["VIDEO_SQS_QUEUE_NAME"] == "academy-video-jobs" and "PATH" in seen[0]


def test_process_env_of_a_gone_process_is_not_found() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ProbeError) as caught:
        process.process_env(child.pid)
    assert (caught.value.dependency, caught.value.kind) == ("process", "not-found")


def test_unreadable_environ_is_denied(worker: tuple[subprocess.Popen[bytes], str]) -> None:
    child, _ = worker
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to another user")
    # A forked copy of this process turns into "nobody": a root process's environ is closed to it.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        kind = "none"
        try:
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            process.process_env(child.pid)
        except ProbeError as exc:
            kind = exc.kind
        except BaseException as exc:
            kind = f"unexpected {type(exc).__name__}"
        os.write(write_end, kind.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        answer = reader.read().decode()
    os.waitpid(pid, 0)
    assert answer == "denied"


def test_fake_proc_root(tmp_path: Path) -> None:
    entry = tmp_path / "77"
    entry.mkdir()
    (entry / "cmdline").write_bytes(b"python\0-m\0video_worker\0")
    (entry / "stat").write_text("77 (python (x)) S 1 77 77 0 -1 0\n")
    (entry / "environ").write_bytes(b"A=1\0B=x=y\0")
    (tmp_path / "78").mkdir()
    (tmp_path / "78" / "cmdline").write_bytes(b"")  # a kernel thread
    (info,) = process.find_processes("video_worker", proc_root=str(tmp_path))
    assert (info.pid, info.ppid, info.state, info.cmdline) == (77, 1, "S", "python -m video_worker")
    assert process.process_env(77, proc_root=str(tmp_path), keep={"A", "B"}) == {"A": "1", "B": "x=y"}
    assert process.process_env(77, proc_root=str(tmp_path), keep={"B"}) == {"B": "x=y"}


def test_invalid_pattern() -> None:
    with pytest.raises(ProbeError) as caught:
        process.find_processes("video_worker(")
    assert caught.value.kind == "invalid"
