"""Local worker processes (runbook §1 for a non-container deployment, §3 env) from ``/proc``.

The probe's own process and its ancestors (pytest, xdist's controller, the shell that started them)
are left out: their command lines contain the very pattern being looked for; so are other runs of the suite
(``--worker-process PATTERN`` on their command line).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from runbook.probes._env import keep_only
from runbook.probes.errors import ProbeError, from_os


@dataclass(frozen=True)
class ProcInfo:
    """One process whose command line matched; ``argv`` as the kernel holds it."""

    pid: int
    ppid: int
    state: str
    cmdline: str
    argv: tuple[str, ...]
    uid: int | None


def _stat(proc: Path, pid: int) -> tuple[str, int]:
    """``(state, ppid)`` from ``/proc/<pid>/stat``; the command field may contain spaces and ')'."""
    text = (proc / str(pid) / "stat").read_text(errors="replace")
    rest = text[text.rindex(")") + 2 :].split()
    return rest[0], int(rest[1])


def _ancestors(proc: Path, pid: int) -> set[int]:
    seen = {pid}
    current = pid
    while current > 1:
        try:
            _, parent = _stat(proc, current)
        except (OSError, ValueError, IndexError):
            break
        if parent in seen or parent <= 0:
            break
        seen.add(parent)
        current = parent
    return seen


def find_processes(pattern: str, proc_root: str = "/proc") -> tuple[ProcInfo, ...]:
    """Processes whose command line (args joined by spaces) matches the regex ``pattern``."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ProbeError("process", "invalid", f"invalid pattern {pattern!r}: {exc}") from exc
    proc = Path(proc_root)
    if not proc.is_dir():
        raise ProbeError("process", "not-found", f"not-found: {proc_root} is not a directory")
    excluded = _ancestors(proc, os.getpid()) if proc_root == "/proc" else set()
    found: list[ProcInfo] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in excluded:
            continue
        pid = int(entry.name)
        try:
            raw = (entry / "cmdline").read_bytes()
            if not raw:
                continue  # kernel threads and zombies have no command line
            argv = tuple(part.decode("utf-8", "replace") for part in raw.rstrip(b"\0").split(b"\0"))
            cmdline = " ".join(argv)
            if not regex.search(cmdline) or _is_runbook_run(argv):
                continue
            state, ppid = _stat(proc, pid)
            uid: int | None = entry.stat().st_uid
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
        except (OSError, ValueError, IndexError):
            continue
        found.append(ProcInfo(pid=pid, ppid=ppid, state=state, cmdline=cmdline, argv=argv, uid=uid))
    return tuple(sorted(found, key=lambda info: info.pid))


def _is_runbook_run(argv: tuple[str, ...]) -> bool:
    """Another run of this suite (a canary beside an on-call run) carries the pattern on its own command line."""
    return any(arg == "--worker-process" or arg.startswith("--worker-process=") for arg in argv)


def process_env(
    pid: int,
    proc_root: str = "/proc",
    *,
    keep: Collection[str] = (),
    observe: Callable[[Mapping[str, str]], None] | None = None,
) -> dict[str, str]:
    """The environment a process started with (``/proc/<pid>/environ``), reduced to the names in ``keep``
    (none by default): the others, secrets among them, are dropped here
    (:func:`runbook.probes._env.keep_only`)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise ProbeError("process", "invalid", f"invalid pid {pid!r}")
    path = Path(proc_root) / str(pid) / "environ"
    try:
        raw = path.read_bytes()
    except PermissionError as exc:
        raise ProbeError("process", "denied", f"denied: cannot read {path}") from exc
    except (FileNotFoundError, ProcessLookupError) as exc:
        raise ProbeError("process", "not-found", f"not-found: no process {pid}") from exc
    except OSError as exc:
        raise from_os(exc, "process", target=str(path)) from exc
    env: dict[str, str] = {}
    for entry in raw.split(b"\0"):
        if not entry:
            continue
        key, _, value = entry.decode("utf-8", "replace").partition("=")
        if key:
            env[key] = value
    return keep_only(env, keep, observe)
