"""``cloudwatch:<log group>``: a CloudWatch Logs group through boto3's ``filter_log_events``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from runbook.logs.coverage import ReadState
from runbook.logs.errors import LogSourceError

logger = logging.getLogger(__name__)

#: Pages read at most (each up to 1 MB / 10,000 events): a bound on time and memory for a busy group.
MAX_PAGES: Final = 50

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
    budget: float | None = None,
    now: datetime | None = None,
) -> tuple[Iterator[bytes], Callable[[], None]]:
    """Read the group's events (every stream) from ``since`` (default: :data:`DEFAULT_WINDOW` back) to now,
    newest first, and hand them over oldest first.

    Why newest first: a production group holds weeks of events, and what on-call needs is the last hours. The
    window is cut into slices from now backwards (:data:`FIRST_SLICE`, then longer as the event rate allows),
    each read forward with ``filter_log_events`` (``startTime``/``endTime``) to its end. Reading stops at
    ``since``, after ``max_pages`` pages of ``page_size`` events (AWS's default: up to 10,000 or 1 MB), or after
    ``budget`` seconds; a slice not read to its end is left out, so what is returned runs without a gap from
    its oldest slice to now (``state`` says from when, and whether a bound stopped the read). The read happens
    here, so a missing group or denied access raises :class:`LogSourceError` now, not on first read.
    """
    api: Any = client if client is not None else _client(spec, timeout)
    end = now or datetime.now(UTC)
    start = _aware(since) if since is not None else end - DEFAULT_WINDOW
    deadline = time.monotonic() + (budget if budget is not None else max(30.0, 10 * timeout))
    base: dict[str, object] = {"logGroupName": group}
    if page_size is not None:
        base["limit"] = page_size
    pages = 0

    def fetch(lo: int, hi: int, token: str | None) -> dict[str, Any]:
        nonlocal pages
        extra = {"nextToken": token} if token else {}
        try:
            page: dict[str, Any] = api.filter_log_events(**base, startTime=lo, endTime=hi, **extra)
        except Exception as exc:  # mapped to a one-line reason, details at debug level
            logger.debug("filter_log_events on %s failed", group, exc_info=True)
            raise LogSourceError(spec, aws_reason(exc, timeout)) from None
        pages += 1
        return page

    def read_slice(lo: int, hi: int) -> tuple[list[dict[str, Any]], bool]:
        """The events of ``[lo, hi]`` (ms), and whether the slice was read to its end within the bounds."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = fetch(lo, hi, token)
            events.extend(page.get("events") or ())
            token = page.get("nextToken")
            if not token or not page.get("events"):
                return events, True
            if pages >= max_pages or time.monotonic() >= deadline:
                return events, False

    slices: list[list[dict[str, Any]]] = []  # complete slices, newest first
    covered_from = end
    length = FIRST_SLICE
    hi_ms, start_ms = _ms(end), _ms(start)
    truncated = False
    partial: list[dict[str, Any]] = []
    while hi_ms > start_ms:
        lo_ms = max(start_ms, hi_ms - int(length.total_seconds() * 1000))
        # endTime is inclusive: each older slice stops 1 ms before the newer one starts.
        events, complete = read_slice(lo_ms, hi_ms if not slices else hi_ms - 1)
        if not complete:
            truncated, partial = True, events
            break
        slices.append(events)
        covered_from, hi_ms = start if lo_ms == start_ms else _from_ms(lo_ms), lo_ms
        if pages >= max_pages or time.monotonic() >= deadline:
            truncated = hi_ms > start_ms
            break
        length = _next_length(length, sum(len(e) for e in slices), end - covered_from, page_size, max_pages - pages)
    only_partial = not slices and bool(partial)
    if only_partial:
        # Not even the newest slice fit: keep what was read of it (contiguous from its start, not up to now).
        slices, covered_from = [partial], _from_ms(lo_ms)
    streams = {str(e.get("logStreamName", "")) for events in slices for e in events}
    count = sum(len(events) for events in slices)
    if state is not None:
        state.truncated = truncated
        state.start = covered_from
        state.end = None if only_partial else end
        state.detail = f"{pages} pages, {count} events, {len(streams)} streams, asked from {_clock(start)}"
    if truncated:
        logger.warning("%s: stopped after %d pages at %s (asked from %s)", spec, pages, _clock(covered_from), start)

    def blocks() -> Iterator[bytes]:
        for events in reversed(slices):
            # Streams interleave; within a slice, order by time (a stable sort keeps each stream's order).
            data = _lines({"events": sorted(events, key=lambda e: e.get("timestamp") or 0)})
            if data:
                yield data

    return blocks(), lambda: None


#: What a read without ``since`` covers: the last hours (``--log-since``).
DEFAULT_WINDOW: Final = timedelta(hours=6)
#: The newest slice; later (older) slices grow with what the event rate leaves of the page bound.
FIRST_SLICE: Final = timedelta(minutes=15)
_EVENTS_PER_PAGE: Final = 10_000


def _next_length(
    length: timedelta, events: int, covered: timedelta, page_size: int | None, pages_left: int
) -> timedelta:
    """Double the slice, but not beyond what half the pages left can read at the rate seen so far: a slice cut
    short by the page bound is thrown away, so its pages are lost."""
    doubled = length * 2
    if events <= 0 or covered.total_seconds() <= 0:
        return doubled
    rate = events / covered.total_seconds()  # events per second
    per_page = page_size or _EVENTS_PER_PAGE
    fits = timedelta(seconds=max(1, pages_left // 2) * per_page / rate)
    return max(timedelta(minutes=1), min(doubled, fits))


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _ms(ts: datetime) -> int:
    return max(0, int(ts.timestamp() * 1000))


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _clock(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
