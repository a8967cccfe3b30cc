"""Child processes of the stack: started in their own process group, logged to a file, always reaped.

Every process is started from the calling thread with ``start_new_session=True`` (its own process group,
so a Ctrl-C in the terminal reaches only the test runner, which then tears the stack down in order) and,
on Linux, ``PR_SET_PDEATHSIG=SIGKILL`` so that it dies with its parent even if the parent is SIGKILLed.
:func:`stop` sends SIGTERM to the whole group, waits, then SIGKILLs the group (ffmpeg children included).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

POLL_INTERVAL = 0.05


def wait_for(predicate: Callable[[], T], timeout: float, what: str = "condition", interval: float = POLL_INTERVAL) -> T:
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass
    (TimeoutError naming ``what``). Exceptions from the predicate count as "not yet"; the last one is
    chained to the TimeoutError. The one synchronisation primitive of the stack: no fixed sleeps."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}") from last_exc
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (for servers that cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A 127.0.0.1 port with nothing behind it: connections are refused at once (a "dead endpoint")."""
    return free_port()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class ManagedProcess:
    """One child process with its stdout+stderr in ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        cwd: str | Path | None = None,
        keep_stdin_open: bool = False,
        run_as: tuple[int, int] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.keep_stdin_open = keep_stdin_open
        self.run_as = run_as  # (uid, gid): a server that refuses to run as root (PostgreSQL)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        ids = {} if self.run_as is None else {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(  # type: ignore[call-overload]
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A pipe we never write to: the child sees EOF when we die (moto_server watches it).
                stdin=subprocess.PIPE if self.keep_stdin_open else subprocess.DEVNULL,
                start_new_session=True,
                # CPython changes the ids before it calls preexec_fn, so the death signal survives the change.
                preexec_fn=_die_with_parent if os.name == "posix" else None,
                **ids,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait for a line matching ``pattern``; fail early (RuntimeError) if the process exits first."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            match = regex.search(self.log_text())
            if match is None and not self.alive():
                # One more read: the line may have landed between the search and the exit check.
                match = regex.search(self.log_text())
                if match is None:
                    raise _Exited(
                        f"{self.name} exited with code {self.returncode} before logging "
                        f"/{pattern}/; log tail:\n{self.log_text()[-2000:]}"
                    )
            return match

        try:
            return wait_for(found, timeout, f"{self.name} to log /{pattern}/")
        except TimeoutError as exc:
            if isinstance(exc.__cause__, _Exited):
                raise RuntimeError(str(exc.__cause__)) from None
            raise TimeoutError(f"{exc}; log tail:\n{self.log_text()[-2000:]}") from None

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM the process group, wait up to ``timeout``, then SIGKILL it. Idempotent."""
        if self.proc is None:
            return None
        pgid = self.proc.pid  # start_new_session: the child leads its own group
        if self.proc.poll() is None:
            _killpg(pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        # Always: the leader may be gone while a child of it (ffmpeg) still runs in the group.
        _killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        return self.proc.returncode

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.returncode}"
        return f"<ManagedProcess {self.name} pid={self.pid} {state}>"


class _Exited(Exception):
    pass


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def python_env(
    extra: Mapping[str, str],
    *,
    path_prefix: Sequence[str] = (),
    repo_root: Path | None = None,
    base_path: str | None = None,
) -> dict[str, str]:
    """A clean environment for a Python child: PATH, HOME, locale, PYTHONPATH=<repo root>, no AWS profile
    files (so nothing from the developer's ~/.aws leaks in), plus ``extra``. The caller's own AWS_* / REDIS_*
    variables are deliberately not inherited: the stack's services are the only ones the children see."""
    path = os.pathsep.join([*path_prefix, base_path if base_path is not None else os.environ.get("PATH", "")])
    env = {
        "PATH": path,
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }
    if repo_root is not None:
        env["PYTHONPATH"] = str(repo_root)
    env.update(extra)
    return env
