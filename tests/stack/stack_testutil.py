"""Helpers for the stack's own tests (no fixtures here: the tests run with and without conftest files)."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def proc_state(pid: int) -> tuple[str, int] | None:
    """(state letter, ppid) from /proc, or None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def pid_alive(pid: int) -> bool:
    """Running (a zombie counts as gone: it holds no resources and only waits to be reaped)."""
    state = proc_state(pid)
    return state is not None and state[0] != "Z"


def live_children(pid: int | None = None) -> list[tuple[int, str]]:
    """Non-zombie direct children of ``pid`` (default: this process), with their command lines."""
    pid = os.getpid() if pid is None else pid
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        state = proc_state(int(entry.name))
        if state is None or state[1] != pid or state[0] == "Z":
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            cmd = "?"
        found.append((int(entry.name), cmd))
    return found


def unique_container_name(tag: str) -> str:
    return f"academy-video-worker-{tag}-{uuid.uuid4().hex[:6]}"


def docker_skip_reason(*images: str) -> str | None:
    """Why a Docker-backed test cannot run here (None: it can)."""
    from reference.stack.containers import docker_unavailable_reason, image_exists

    reason = docker_unavailable_reason()
    if reason:
        return reason
    missing = [image for image in images if not image_exists(image)]
    if missing:
        return f"images not built: {', '.join(missing)} (run images/build.sh)"
    return None
