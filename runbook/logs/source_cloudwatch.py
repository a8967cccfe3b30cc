"""``cloudwatch:<log group>``: a CloudWatch Logs group through boto3's ``filter_log_events``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Final

from runbook.logs.coverage import ReadState
from runbook.logs.errors import LogSourceError

logger = logging.getLogger(__name__)

#: Pages read at most (each up to 1 MB / 10,000 events): a bound on time and memory for a busy group.
MAX_PAGES: Final = 100

_DENIED: Final = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnauthorizedOperation",
    }
)


def aws_reason(exc: BaseException, timeout: float) -> str:
    """A short, secret-free reason for a boto3 / botocore exception."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "ClientError" in names:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", "?"))
        if code == "ResourceNotFoundException":
            return "log group not found"
        if code in _DENIED:
            return f"access denied ({code})"
        return f"AWS error ({code})"
    if names & {"NoCredentialsError", "PartialCredentialsError"}:
        return "no AWS credentials"
    if "NoRegionError" in names:
        return "no AWS region configured (set AWS_REGION)"
    if names & {"ConnectTimeoutError", "ReadTimeoutError", "TimeoutError"}:
        return f"CloudWatch Logs did not answer within {timeout:g}s"
    if names & {"EndpointConnectionError", "ConnectionClosedError"}:
        return "CloudWatch Logs endpoint unreachable"
    return f"AWS error ({type(exc).__name__})"


def _client(spec: str, timeout: float) -> Any:
    try:
        import boto3  # optional dependency, only needed for cloudwatch: sources
        from botocore.config import Config
    except ImportError:
        raise LogSourceError(spec, "the 'boto3' Python package is not installed") from None
    config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"})
    try:
        return boto3.client("logs", config=config)
    except Exception as exc:  # e.g. NoRegionError
        raise LogSourceError(spec, aws_reason(exc, timeout)) from None


def _lines(page: dict[str, Any]) -> bytes:
    """One page as log lines, each prefixed with the event's time as docker does (RFC3339, UTC)."""
    out: list[str] = []
    for event in page.get("events") or ():
        stamp = ""
        millis = event.get("timestamp")
        if isinstance(millis, int):
            try:
                when = datetime.fromtimestamp(millis / 1000, UTC)
                stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z") + " "
            except (ValueError, OverflowError, OSError):
                stamp = ""
        # A multi-line event (a traceback) keeps its lines; each carries the event's time.
        out.extend(stamp + piece.rstrip("\r") for piece in str(event.get("message", "")).split("\n"))
    return ("\n".join(out) + "\n").encode("utf-8", "surrogatepass") if out else b""


def cloudwatch_blocks(
    spec: str,
    group: str,
    *,
    timeout: float,
    since: datetime | None,
    client: object | None,
    max_pages: int = MAX_PAGES,
    page_size: int | None = None,
    state: ReadState | None = None,
) -> tuple[Iterator[bytes], Callable[[], None]]:
    """Read the group's events from ``since`` on (all of them without it), at most ``max_pages`` pages
    of ``page_size`` events (AWS's default: up to 10,000 events or 1 MB).

    The first page is fetched now, so a missing group or denied access raises
    :class:`LogSourceError` here rather than on first read.
    """
    api: Any = client if client is not None else _client(spec, timeout)
    params: dict[str, object] = {"logGroupName": group}
    if since is not None:
        aware = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        params["startTime"] = max(0, int(aware.timestamp() * 1000))
    if page_size is not None:
        params["limit"] = page_size

    def fetch(**extra: object) -> dict[str, Any]:
        try:
            page: dict[str, Any] = api.filter_log_events(**params, **extra)
        except Exception as exc:  # mapped to a one-line reason, details at debug level
            logger.debug("filter_log_events on %s failed", group, exc_info=True)
            raise LogSourceError(spec, aws_reason(exc, timeout)) from None
        return page

    first = fetch()

    def blocks() -> Iterator[bytes]:
        page, pages = first, 1
        while True:
            data = _lines(page)
            if data:
                yield data
            token = page.get("nextToken")
            if not token:
                return
            if pages >= max_pages:
                if state is not None:
                    state.truncated = True
                logger.warning("%s: stopped after %d pages; narrow it with 'since'", spec, pages)
                return
            page, pages = fetch(nextToken=token), pages + 1

    return blocks(), lambda: None
