"""Run the checks against one isolated rehearsal in a subprocess and read its verdict.

Each rehearsal is its own ``pytest checks`` process with its own stack (Redis, database, API, worker, work
dir). A :class:`RehearsalHost` (one per test worker, see ``conftest.py``) makes them cheaper without making
them less separate:

- moto servers shared by the test worker's rehearsals, one after another: each stack resets them and
  provisions its account anew (``reference.stack.aws``: ``STACK_MOTO_AWS_URL``, ``STACK_MOTO_R2_URL``);
  ``MATRIX_SHARED_MOTO=0``: every stack starts its own;
- the rehearsal process forked from a pre-loaded Python (``rehearsal_zygote.py``) instead of a new
  interpreter; ``MATRIX_ZYGOTE=0``: ``python -m pytest`` as a plain subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
BACKEND = os.environ.get("MATRIX_BACKEND", "embedded")
TIMEOUT = 240.0
# Container runs: no reaper container, reach the engine as DOCKER_HOST says (as CI does).
_TESTCONTAINERS_ENV = {"TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_CONNECTION_MODE": "docker_host"}
# A rehearsal needs no gc sweep of the unraisable-exception plugin at its end: 5 full collections, ~0.8 s.
_INNER_PYTEST_OPTIONS = ("-p", "no:xdist", "-p", "no:unraisableexception")


def _enabled(variable: str) -> bool:
    return os.environ.get(variable, "1").strip().lower() not in ("0", "false", "no", "off")


class Zygote:
    """The client of ``rehearsal_zygote.py``: one request at a time, each child waited for (bounded)."""

    def __init__(self, log_path: Path) -> None:
        self._log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the zygote
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("rehearsal_zygote.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
            env={**os.environ, **_TESTCONTAINERS_ENV},
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True, name="zygote-reader").start()
        self._lock = threading.Lock()
        self.ready_seconds: float | None = None

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)  # EOF: the zygote is gone

    def _answer(self, key: str, timeout: float) -> Any:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"rehearsal zygote: no {key!r} within {timeout:.0f}s") from None
        if line is None:
            raise RuntimeError(f"rehearsal zygote exited (code {self.proc.poll()}); see {self._log.name}")
        return json.loads(line)[key]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = 120.0) -> float:
        self.ready_seconds = float(self._answer("ready", timeout))
        return self.ready_seconds

    def run(self, args: list[str], env: Mapping[str, str], log: Path, timeout: float = TIMEOUT) -> int:
        """``python -m pytest ARGS`` in a fork; its exit code. On timeout, or when the caller is interrupted
        (pytest-timeout, Ctrl-C), the child is stopped first: SIGTERM (its stack tears down), then SIGKILL."""
        with self._lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(
                json.dumps({"args": args, "env": dict(env), "cwd": str(ROOT), "log": str(log)}) + "\n"
            )
            self.proc.stdin.flush()
            pid = int(self._answer("pid", 30))
            try:
                return int(self._answer("rc", timeout))
            except BaseException:
                self._stop_child(pid)
                raise

    def _stop_child(self, pid: int) -> None:
        # The zygote answers one request at a time: its "rc" for this child must be read before the next
        # request, or the next row would read this one's. If it never comes, the zygote is not used again.
        for sig, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            try:
                self._answer("rc", grace)
                return
            except TimeoutError:
                continue
            except RuntimeError:
                break
        self.proc.kill()

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()  # EOF: the zygote leaves its loop
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._log.close()


class RehearsalHost:
    """What one test worker keeps between its rehearsals: shared moto servers and the zygote (both optional)."""

    def __init__(self, workdir: Path, share_moto: bool | None = None, zygote: bool | None = None) -> None:
        self.workdir = workdir
        self.share_moto = _enabled("MATRIX_SHARED_MOTO") if share_moto is None else share_moto
        self.use_zygote = _enabled("MATRIX_ZYGOTE") if zygote is None else zygote
        self.moto: Any = None
        self.zygote: Zygote | None = None
        self.env: dict[str, str] = {}

    def start(self) -> RehearsalHost:
        try:
            # Both start side by side: the moto servers import moto while the zygote loads the rest.
            if self.share_moto:
                from reference.stack.aws import SharedMotoServers

                self.moto = SharedMotoServers(self.workdir, ROOT)
                self.moto.aws.start()
                self.moto.r2.start()
            if self.use_zygote:
                self.zygote = Zygote(self.workdir / "zygote.log")
            if self.moto is not None:
                self.moto.aws.ready()
                self.moto.r2.ready()
                self.env.update(self.moto.env)
            if self.zygote is not None:
                self.zygote.wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def describe(self) -> str:
        return (
            f"moto servers {'shared, reset per rehearsal' if self.moto else 'per rehearsal'}; "
            f"rehearsal process {'forked from a pre-loaded zygote' if self.zygote else 'python -m pytest'}"
        )

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None


def run_rehearsal(
    tmp_path: Path,
    fault: str | None,
    backend: str = BACKEND,
    extra: tuple[str, ...] = (),
    host: RehearsalHost | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[dict, str]:
    """One isolated rehearsal (its own stack, container name and report files); returns (verdict, output).
    ``env``: variables added to the rehearsal's environment (what a CI job would set)."""
    verdict = tmp_path / "verdict.json"
    args = [
        "checks",
        "-q",
        *_INNER_PYTEST_OPTIONS,
        "--backend",
        backend,
        "--runbook-json",
        str(verdict),
        "--html",
        str(tmp_path / "report.html"),
        "--junitxml",
        str(tmp_path / "junit.xml"),
        "--worker-container",
        f"academy-video-worker-{uuid.uuid4().hex[:8]}",
        # The rehearsal's work dir (stack logs) beside its verdict, and no new numbered dir under
        # /tmp/pytest-of-<user> per row (each one made pytest prune the oldest, other sessions' too).
        "--basetemp",
        str(tmp_path / "tmp"),
    ]
    if fault:
        args += ["--rehearsal-fault", fault]
    args += list(extra)
    env = {**os.environ, **_TESTCONTAINERS_ENV, **(host.env if host else {}), **(env or {})}
    started = time.monotonic()
    # A dead zygote (it should not die; its log says why) costs speed, not the row: fall back to a plain run.
    if host is not None and host.zygote is not None and host.zygote.alive():
        log = tmp_path / "rehearsal.log"
        rc = host.zygote.run(args, env, log)
        output = log.read_text(errors="replace")
    else:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        rc, output = proc.returncode, proc.stdout + proc.stderr
    output += f"\n[rehearsal_runner] exit {rc} after {time.monotonic() - started:.1f}s"
    assert verdict.exists(), f"no verdict written (exit {rc}):\n{output[-3000:]}"
    return json.loads(verdict.read_text()), output
