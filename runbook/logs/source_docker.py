"""``docker:<container>``: a container's log through the Docker SDK (like ``docker logs -t``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from runbook.logs.coverage import ReadState
from runbook.logs.errors import LogSourceError
from runbook.logs.scan import chunk_reader, iter_blocks

logger = logging.getLogger(__name__)


def _names(exc: BaseException) -> set[str]:
    # Classify by class name so that a client passed in (or a stand-in for one) needs no docker import.
    return {cls.__name__ for cls in type(exc).__mro__}


def docker_reason(exc: BaseException, timeout: float) -> str:
    """A short, secret-free reason for a Docker SDK / requests exception."""
    names = _names(exc)
    if "NotFound" in names:
        return "container not found"
    if names & {"Timeout", "ReadTimeout", "ConnectTimeout", "TimeoutError", "ReadTimeoutError"}:
        return f"Docker did not answer within {timeout:g}s"
    if "ConnectionError" in names or "Error while fetching server API version" in str(exc):
        return "Docker unreachable (is dockerd running and DOCKER_HOST right?)"
    if "APIError" in names:
        return f"Docker API error (HTTP {getattr(exc, 'status_code', '?')})"
    return f"Docker error ({type(exc).__name__})"


def _quietly(close: Callable[[], object]) -> None:
    try:
        close()
    except Exception:  # closing a dead connection must not mask the result
        logger.debug("closing a docker connection failed", exc_info=True)


def _client(spec: str, timeout: float) -> Any:
    try:
        import docker  # optional dependency, only needed for docker: sources
    except ImportError:
        raise LogSourceError(spec, "the 'docker' Python package is not installed") from None
    try:
        return docker.from_env(timeout=max(1, round(timeout)))
    except Exception as exc:  # any failure to reach the engine is reported the same way
        logger.debug("docker.from_env failed", exc_info=True)
        raise LogSourceError(spec, docker_reason(exc, timeout)) from None


def docker_blocks(
    spec: str,
    name: str,
    *,
    timeout: float,
    since: datetime | None,
    client: object | None,
    tail: int | None = None,
    state: ReadState | None = None,
    budget: float | None = None,
) -> tuple[Iterator[bytes], Callable[[], None]]:
    """Open the container's log (stdout and stderr, with docker's timestamps, not following).

    ``since`` and ``tail`` bound it from the newest end, as ``docker logs --since --tail`` does: the engine
    sends the last ``tail`` lines of the window, so a long-running container's older lines are never
    transferred. ``budget`` bounds the reading time (the newer end is then cut, and ``state`` says so).
    Returns the blocks of its lines and a function closing the stream. The container is looked up
    and the log request sent now, so a missing container or an unreachable engine raises
    :class:`LogSourceError` here rather than on first read.
    """
    owned = client is None  # a client built here is closed with the stream
    api: Any = _client(spec, timeout) if client is None else client
    options: dict[str, object] = {
        "stream": True,
        "timestamps": True,
        "follow": False,
        "stdout": True,
        "stderr": True,
    }
    if since is not None:
        # A naive datetime is UTC, as everywhere in this package (docker would take it as local).
        aware = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        options["since"] = int(aware.timestamp())
    if tail is not None:
        options["tail"] = tail
    read_at = datetime.now(UTC)
    deadline = time.monotonic() + budget if budget is not None else None
    try:
        stream = api.containers.get(name).logs(**options)
    except Exception as exc:  # mapped to a one-line reason, details at debug level
        logger.debug("docker logs %s failed", name, exc_info=True)
        if owned:
            _quietly(api.close)
        raise LogSourceError(spec, docker_reason(exc, timeout)) from None

    def blocks() -> Iterator[bytes]:
        lines = 0
        try:
            for block in iter_blocks(chunk_reader(stream)):
                lines += block.count(b"\n")
                yield block
                if deadline is not None and time.monotonic() > deadline:
                    if state is not None:
                        state.truncated = True  # the newer end is not read: the window ends at the last line
                    logger.warning("%s: stopped reading after %.0fs", spec, budget)
                    return
            if state is not None and tail is not None and lines >= tail:
                # The engine sent the last ``tail`` lines: older ones of the window were left out.
                state.truncated, state.end = True, read_at
                state.detail = f"last {tail} lines"
        except Exception as exc:  # the stream broke mid-way
            logger.debug("docker log stream of %s broke", name, exc_info=True)
            raise LogSourceError(spec, docker_reason(exc, timeout)) from None

    def close() -> None:
        closer = getattr(stream, "close", None)
        if callable(closer):
            _quietly(closer)
        if owned:
            _quietly(api.close)

    return blocks(), close
