"""A stack leaves nothing behind: no child process, no temp dir, no container; also on exceptions,
KeyboardInterrupt (inside the ``with`` block or during start), SIGTERM and SIGKILL of the runner."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from stack_testutil import ROOT, live_children, pid_alive

from reference.stack import HEALTHY, Stack, wait_for

pytestmark = pytest.mark.timeout(120)
STACK_NAMES = {"api", "worker", "redis", "postgres", "moto-aws", "moto-r2"}


_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before() -> None:
    """Children this process already had (other tests' session fixtures under xdist): not this test's."""
    _BEFORE.clear()
    _BEFORE.update(pid for pid, _ in live_children())


def assert_gone(pids: dict[str, int], workdir: Path | None) -> None:
    still = {name: pid for name, pid in pids.items() if pid_alive(pid)}
    assert not still, f"processes left behind: {still}"
    new = [child for child in live_children() if child[0] not in _BEFORE]
    assert new == [], new
    if workdir is not None:
        assert not workdir.exists(), f"work dir left behind: {workdir}"


def test_with_block_leaves_nothing() -> None:
    with Stack("embedded") as stack:
        stack.scenario.run(timeout=30)
        pids, workdir = stack.pids(), stack.workdir
        assert set(pids) == STACK_NAMES and workdir.is_dir()
        assert {pid for pid, _ in live_children()} >= set(pids.values())
    assert_gone(pids, workdir)


def test_exception_inside_with_block() -> None:
    with pytest.raises(RuntimeError, match="boom"), Stack("embedded", faults=["row-deleted-mid-encode"]) as stack:
        stack.scenario.upload(111)
        stack.upload_complete(111)
        stack.wait_for(lambda: stack.video_status(111) == "PROCESSING", 30, "encode started")
        pids, workdir = stack.pids(), stack.workdir  # the worker is mid-encode, ffmpeg running
        raise RuntimeError("boom")
    assert_gone(pids, workdir)


def test_keyboard_interrupt_inside_with_block() -> None:
    with pytest.raises(KeyboardInterrupt), Stack("embedded") as stack:
        pids, workdir = stack.pids(), stack.workdir
        raise KeyboardInterrupt
    assert_gone(pids, workdir)


def test_keyboard_interrupt_during_start() -> None:
    seen: dict[str, object] = {}

    def interrupt(stack: Stack) -> None:  # AWS, R2, Redis and PostgreSQL are up, API and worker not yet
        seen["pids"], seen["workdir"] = stack.pids(), stack.workdir
        raise KeyboardInterrupt

    stack = Stack("embedded", faults=[dataclasses.replace(HEALTHY, id="ctrl-c-during-start", prepare=interrupt)])
    with pytest.raises(KeyboardInterrupt):
        stack.start()
    assert set(seen["pids"]) == {"redis", "postgres", "moto-aws", "moto-r2"}  # type: ignore[arg-type]
    assert_gone(seen["pids"], seen["workdir"])  # type: ignore[arg-type]


RUNNER = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {root!r})
    from reference.stack import Stack
    with Stack("embedded") as stack:
        stack.scenario.run(timeout=30)
        print(json.dumps({{"pids": stack.pids(), "workdir": str(stack.workdir)}}), flush=True)
        time.sleep(600)
""")


def _runner() -> tuple[subprocess.Popen[str], dict[str, int], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER.format(root=str(ROOT))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line:
        proc.kill()
        pytest.fail(f"runner died: {proc.stderr.read()}")  # type: ignore[union-attr]
    info = json.loads(line)
    return proc, info["pids"], Path(info["workdir"])


def test_sigterm_to_the_runner() -> None:
    proc, pids, workdir = _runner()
    assert set(pids) == STACK_NAMES
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert_gone(pids, workdir)


def test_sigkill_of_the_runner() -> None:
    """SIGKILL allows no teardown: the children still die with it (PR_SET_PDEATHSIG, and moto also on stdin
    EOF). Only the work dir remains, as it must for a post-mortem."""
    proc, pids, workdir = _runner()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    try:
        wait_for(lambda: not any(pid_alive(pid) for pid in pids.values()), 15, "children to die")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
