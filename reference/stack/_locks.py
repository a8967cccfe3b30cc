"""A file lock taken within a deadline, for the stack's cross-process locks (shared moto server, container name).

``flock`` rather than a lock file's existence: the kernel drops the lock when its holder dies, so a killed
test run never leaves a lock behind for the next one to wait out.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


def flock_within(path: Path, timeout: float, *, poll: float, mode: int = 0o600) -> int | None:
    """A descriptor of ``path`` holding its exclusive ``flock`` (closing it releases the lock), taken by polling
    every ``poll`` seconds; None when another process still holds it after ``timeout`` seconds."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(poll)
