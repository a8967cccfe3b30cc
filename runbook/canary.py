"""The opt-in end-to-end canary: re-encode one small designated video and time it.

The only part of the suite that changes anything: one ``POST {API_BASE_URL}/media/videos/{id}/retry/`` (the
API's own retry action, §9: status back to UPLOADED, re-enqueue), made inside
``runbook.guard.allow_http_once`` so that exactly that request passes the read-only guard. Then it only reads,
bounded by a timeout: the video's row (UPLOADED → PROCESSING → READY | FAILED), the Redis cancel flag and,
when a worker log is configured, the worker's skip line.

The runbook's retry sets ``job:encode:{id}:cancel`` with a TTL (§9: "API retry 시 cancel 플래그 설정됨. TTL
만료 후 재시도"); where the API does, the worker skips the very job the retry enqueued. The canary then says
so (``cancel-skipped``) instead of waiting out its timeout or calling it slow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar

from runbook import guard
from runbook.probes import api as api_probe
from runbook.probes.errors import ProbeError

Outcome = Literal["ready", "failed", "cancel-skipped", "timeout"]
T = TypeVar("T")


@dataclass(frozen=True)
class CanaryProbes:
    """How the canary looks (all reads), given by the caller: the check builds them from the target."""

    status: Callable[[], str | None]  # the video row's status (None: no row)
    cancel_ttl: Callable[[], float | None]  # seconds left on the cancel flag, -1 for no expiry, None: absent
    #: True when the worker log shows a cancel skip of the video since the given time (None: no log)
    skipped_for_cancel: Callable[[datetime], bool] | None = None


@dataclass(frozen=True)
class CanaryResult:
    video_id: int
    outcome: Outcome
    http_status: int
    status: str | None  # the row's status when the canary stopped looking
    seconds: float | None  # from the retry's answer to READY
    waited: float
    cancel_ttl: float | None


def poll(check: Callable[[], T | None], timeout: float, interval: float) -> T | None:
    """Call ``check`` until it returns something other than ``None`` or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = check()
        if value is not None:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        pause.wait(min(interval, left))


def run(
    base_url: str,
    video_id: int,
    probes: CanaryProbes,
    *,
    timeout: float,
    request_timeout: float,
    interval: float = 0.5,
    prefix: str = "",
    headers: Mapping[str, str] | None = None,
) -> CanaryResult:
    """Retry ``video_id`` through the API (the one allowed write), then wait for its end state, bounded."""
    url = api_probe.retry_url(base_url, video_id, prefix)
    since = datetime.now(UTC)
    with guard.allow_http_once("POST", url):
        answer = api_probe.retry(base_url, video_id, timeout=request_timeout, headers=headers, prefix=prefix)
    enqueued = time.monotonic()
    seen: dict[str, object] = {"status": None, "cancel": None}

    def end_state() -> tuple[Outcome, float] | None:
        status = probes.status()
        seen["status"] = status
        if status == "READY":
            return "ready", time.monotonic() - enqueued
        if status == "FAILED":
            return "failed", time.monotonic() - enqueued
        if status == "UPLOADED":
            ttl = probes.cancel_ttl()
            seen["cancel"] = ttl
            if ttl is not None and probes.skipped_for_cancel is not None and probes.skipped_for_cancel(since):
                return "cancel-skipped", time.monotonic() - enqueued
        return None

    try:
        found = poll(end_state, timeout, interval)
    except ProbeError:
        raise
    waited = time.monotonic() - enqueued
    status = seen["status"] if isinstance(seen["status"], str) else None
    cancel = seen["cancel"] if isinstance(seen["cancel"], (int, float)) else None
    if found is None:
        # Never received, or skipped without a log to say so: a live cancel flag on an UPLOADED row is why.
        outcome: Outcome = "cancel-skipped" if status == "UPLOADED" and cancel is not None else "timeout"
        return CanaryResult(video_id, outcome, answer.http_status, status, None, waited, cancel)
    outcome, seconds = found
    return CanaryResult(
        video_id, outcome, answer.http_status, status, seconds if outcome == "ready" else None, waited, cancel
    )
