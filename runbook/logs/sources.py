"""Log sources: a file, ``docker:<container>`` or ``cloudwatch:<log group>``, read as lines of bytes.

    >>> with open_lines("/var/log/academy/worker.log") as lines:
    ...     for line in lines: ...

:func:`open_lines` opens the source at once (a missing file, container or group raises
:class:`LogSourceError` there, with a one-line message) and returns a :class:`LogLines`: an iterator
of lines without terminators, each cut to :data:`~runbook.logs.patterns.MAX_SCAN` bytes, and a
context manager that closes the source. It also closes itself once read to the end.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from types import TracebackType
from typing import Final, Literal

from runbook.logs.classify import parse_timestamp
from runbook.logs.coverage import Coverage, ReadState, Tracker, file_coverage, stream_coverage
from runbook.logs.errors import LogSourceError
from runbook.logs.scan import iter_blocks, split_block
from runbook.logs.source_cloudwatch import cloudwatch_blocks
from runbook.logs.source_docker import docker_blocks
from runbook.logs.summary import timestamp_head

logger = logging.getLogger(__name__)

SourceKind = Literal["file", "docker", "cloudwatch"]

_CONTAINER: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # docker's rule for names (and ids)
#: ``docker:academy-api*``: every container whose name matches (``runbook.logs.multi.expand``).
_CONTAINER_PATTERN: Final = re.compile(r"[A-Za-z0-9_.*?\[\]-]+")
_LOG_GROUP: Final = re.compile(r"[A-Za-z0-9._/#-]{1,512}")  # CloudWatch's rule for group names


def parse_spec(spec: str) -> tuple[SourceKind, str]:
    """Split a source spec into ``(kind, target)``; raise :class:`LogSourceError` if it is malformed.

    ``docker:NAME`` and ``cloudwatch:GROUP`` name a container (or a pattern of names: ``docker:academy-api*``)
    and a log group; ``file:PATH`` or any other text is a file path.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise LogSourceError(
            str(spec), "empty log source: give a file path, docker:<container> or cloudwatch:<log group>"
        )
    if spec.startswith("docker:"):
        name = spec.removeprefix("docker:")
        if not name:
            raise LogSourceError(spec, "no container name after 'docker:' (as in docker:academy-video-worker)")
        if _CONTAINER.fullmatch(name) is None and (
            not set("*?[") & set(name) or _CONTAINER_PATTERN.fullmatch(name) is None
        ):
            raise LogSourceError(spec, f"{name!r} is not a valid container name or pattern")
        return "docker", name
    if spec.startswith("cloudwatch:"):
        group = spec.removeprefix("cloudwatch:")
        if not group:
            raise LogSourceError(spec, "no log group after 'cloudwatch:' (as in cloudwatch:/academy/video-worker)")
        if _LOG_GROUP.fullmatch(group) is None:
            raise LogSourceError(spec, f"{group!r} is not a valid CloudWatch log group name")
        return "cloudwatch", group
    return "file", spec.removeprefix("file:")


class LogLines(Iterator[bytes]):
    """The lines of one source. Iterate for lines; :meth:`blocks` hands whole blocks to the parser."""

    def __init__(
        self,
        spec: str,
        blocks: Iterator[bytes],
        close: Callable[[], None],
        file_range: tuple[str, int, int] | None = None,
        read: Callable[[int], bytes] | None = None,
        coverage: Callable[[tzinfo], Coverage] | None = None,
    ) -> None:
        self.spec = spec
        self._coverage = coverage
        self._blocks = blocks
        self._close = close
        self._file_range = file_range
        self._read = read
        self._pending: list[bytes] = []
        self._next = 0
        self._touched = False
        self.closed = False

    def __next__(self) -> bytes:
        self._touched = True
        while self._next >= len(self._pending):
            block = next(self._blocks, None)
            if block is None:
                self.close()
                raise StopIteration
            self._pending, self._next = split_block(block), 0
        line = self._pending[self._next]
        self._next += 1
        return line

    def blocks(self) -> Iterator[bytes]:
        """The rest of the source as blocks of ``\\n``-terminated lines (the last may lack it)."""
        self._touched = True
        if self._next < len(self._pending):
            rest, self._pending = self._pending[self._next :], []
            yield b"\n".join(rest) + b"\n"
        yield from self._blocks
        self.close()

    def file_range(self) -> tuple[str, int, int] | None:
        """``(path, start, end)`` of an untouched, unfiltered regular file (for a parallel scan), else None."""
        return None if self._touched or self.closed else self._file_range

    def reader(self) -> Callable[[int], bytes] | None:
        """``read(n)`` of an untouched, unfiltered file source (for :func:`~runbook.logs.scan.iter_spans`), else None.

        Reading through it bypasses :meth:`blocks`, whose blocks cost a copy of every byte.
        """
        return None if self._touched or self.closed else self._read

    def coverage(self, tz: tzinfo = UTC) -> Coverage | None:
        """The time window what was read covers (``runbook.logs.coverage``; naive stamps in ``tz``, the
        ``--log-timezone``); meaningful once read to the end."""
        return self._coverage(tz) if self._coverage is not None else None

    def close(self) -> None:
        """Release the source (idempotent)."""
        if not self.closed:
            self.closed = True
            self._close()

    def __enter__(self) -> LogLines:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _file_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied (file not readable)"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a log file"
    return f"cannot read ({exc.strerror or type(exc).__name__})"


_Opened = tuple[
    Iterator[bytes], Callable[[], None], tuple[str, int, int] | None, Callable[[int], bytes], os.stat_result
]


def _open_file(spec: str, path: str, max_bytes: int | None) -> _Opened:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(path)
        regular = stat.S_ISREG(info.st_mode)
        # O_NONBLOCK: opening a FIFO that has no writer must not hang; reads are blocking again below.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (0 if regular else os.O_NONBLOCK))
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = _file_reason(exc) if isinstance(exc, OSError) else "invalid path"
        raise LogSourceError(spec, reason) from None
    if not regular:
        os.set_blocking(fd, True)
    handle = os.fdopen(fd, "rb", buffering=0)
    left = max_bytes

    def read(size: int) -> bytes:
        nonlocal left
        if left is not None:
            size = min(size, left)
            if size <= 0:
                return b""
        try:
            data = handle.read(size) or b""
        except OSError as exc:
            raise LogSourceError(spec, _file_reason(exc)) from None
        if left is not None:
            left -= len(data)
        return data

    file_range = None
    if regular:
        end = info.st_size if max_bytes is None else min(info.st_size, max_bytes)
        file_range = (path, 0, end)
    return iter_blocks(read), handle.close, file_range, read, info


def _after(blocks: Iterator[bytes], since: datetime) -> Iterator[bytes]:
    """Drop lines stamped before ``since``; an unstamped line shares the fate of the line before it."""
    keep = True  # lines before the first timestamp are of unknown age: kept rather than lost
    for block in blocks:
        kept: list[bytes] = []
        for line in split_block(block):
            stamp = parse_timestamp(timestamp_head(line))
            if stamp is not None:
                keep = stamp >= since
            if keep:
                kept.append(line)
        if kept:
            yield b"\n".join(kept) + b"\n"


def _capped(blocks: Iterator[bytes], max_bytes: int, state: ReadState) -> Iterator[bytes]:
    """Stop after ``max_bytes`` bytes, at the end of the last whole line within them."""
    left = max_bytes
    for block in blocks:
        if len(block) > left:
            cut = block.rfind(b"\n", 0, left)
            if cut >= 0:
                yield block[: cut + 1]
            state.truncated = True
            return
        left -= len(block)
        yield block


def open_lines(
    spec: str,
    *,
    timeout: float = 5.0,
    since: datetime | None = None,
    docker_client: object | None = None,
    logs_client: object | None = None,
    max_bytes: int | None = None,
    max_lines: int | None = None,
    budget: float | None = None,
) -> LogLines:
    """Open a log source and return its lines; raise :class:`LogSourceError` if it cannot be read.

    ``timeout`` bounds each request to Docker or AWS. ``since`` keeps the lines stamped from then on
    (docker and CloudWatch filter on their side; a file is filtered by its leading timestamps; a
    naive datetime is UTC). ``max_bytes`` stops reading after that many bytes from the start, as a
    safety bound. ``max_lines`` (docker) keeps the newest lines only, and ``budget`` bounds the
    reading time of a docker or CloudWatch source; CloudWatch reads newest first within its page bound
    (without ``since``: the last hours). ``docker_client`` (``docker.DockerClient``) and ``logs_client``
    (boto3 ``logs``) are built from the environment when not given. ``LogLines.coverage()`` says what the
    read covered.
    """
    kind, target = parse_spec(spec)
    file_range = None
    state = ReadState()
    read_at = datetime.now(UTC)
    aware = None if since is None else since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    if kind == "file":
        blocks, close, file_range, read, info = _open_file(spec, target, max_bytes)
        # A file ends where it was last written: a rotated-away file covers nothing after that.
        read_at = datetime.fromtimestamp(info.st_mtime, UTC)
        state.truncated = max_bytes is not None and info.st_size > max_bytes
    elif kind == "docker":
        blocks, close = docker_blocks(
            spec, target, timeout=timeout, since=since, client=docker_client, tail=max_lines, state=state,
            budget=budget,
        )  # fmt: skip
    else:
        blocks, close = cloudwatch_blocks(
            spec, target, timeout=timeout, since=since, client=logs_client, state=state, budget=budget, now=read_at
        )
    if aware is not None and kind == "file":
        blocks, file_range = _after(blocks, aware), None
    if max_bytes is not None and kind != "file":
        blocks = _capped(blocks, max_bytes, state)
    if file_range is not None:
        path, _, end = file_range
        size, mtime = info.st_size, info.st_mtime

        def coverage(tz: tzinfo) -> Coverage:
            return file_coverage(spec, path, size, end, mtime, tz)

        return LogLines(spec, blocks, close, file_range, read, coverage)
    tracker = Tracker(blocks)

    def tracked(tz: tzinfo) -> Coverage:
        return stream_coverage(
            spec, tracker, truncated=state.truncated or not tracker.exhausted, read_at=read_at, since=aware,
            detail=state.detail, known=(state.start, state.end), tz=tz,
        )  # fmt: skip

    return LogLines(spec, iter(tracker), close, None, None, tracked)
