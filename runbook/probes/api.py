"""The API's progress endpoint (runbook §7: ``GET /media/videos/{id}/progress/``) and its retry action (§9).

A GET with a timeout; HTTP and socket failures become :class:`ProbeError`. The body's shape is
read leniently (``status``/``state``, ``percent``/``progress``), since §7 names the endpoint only. The real
API serves them under a prefix (``/api/v1``), for an authenticated user of a tenant (``runbook.production``):
:func:`headers` builds the ``Authorization`` and ``X-Tenant-Code`` headers; the token never appears in a
message.

:func:`retry` (``POST /media/videos/{id}/retry/``) changes the video: only the opt-in canary calls it, inside
``runbook.guard.allow_http_once``; every request here passes :func:`runbook.guard.check_http` first.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from runbook import guard, production
from runbook.probes.errors import Kind, ProbeError, from_os

PROGRESS_PATH: Final = production.PROGRESS_PATH
RETRY_PATH: Final = production.RETRY_PATH
_STATUS_KEYS: Final = ("status", "state", "encoding_status", "processing_status")
_PERCENT_KEYS: Final = ("percent", "progress", "progress_percent", "percentage")


@dataclass(frozen=True)
class Progress:
    """What the progress endpoint said about one video."""

    video_id: int
    status: str | None
    percent: float | None
    http_status: int
    raw: Mapping[str, Any] = field(repr=False, hash=False, compare=False, default_factory=dict)


def progress_url(base_url: str, video_id: int, prefix: str = "") -> str:
    """``{base_url without trailing /}{prefix}/media/videos/{id}/progress/``."""
    return base_url.rstrip("/") + prefix.rstrip("/") + PROGRESS_PATH.replace("{id}", str(video_id))


def headers(token: str | None, tenant: str | None) -> dict[str, str]:
    """The real API's request headers: ``Authorization: Bearer <token>`` and ``X-Tenant-Code: <tenant>``
    (honoured for the API's own host; other hosts resolve the tenant from the Host header)."""
    found: dict[str, str] = {}
    if token:
        found["Authorization"] = f"{production.AUTH_SCHEME} {token}"
    if tenant:
        found[production.TENANT_HEADER] = tenant
    return found


def _safe_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _percent(value: object) -> float | None:
    if isinstance(value, Mapping):
        for key in _PERCENT_KEYS:
            if key in value:
                return _percent(value[key])
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            return None
    return None


def _status(body: Mapping[str, Any]) -> str | None:
    for key in _STATUS_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    nested = body.get("progress")
    if isinstance(nested, Mapping):
        return _status(nested)
    return None


def _http_kind(status: int) -> Kind:
    if status == 401:
        return "auth"
    if status == 403:
        return "denied"
    if status == 404:
        return "not-found"
    if status in (400, 405, 422):
        return "invalid"
    if status in (502, 503, 504):
        return "unreachable"
    return "error"


def retry_url(base_url: str, video_id: int, prefix: str = "") -> str:
    """``{base_url without trailing /}{prefix}/media/videos/{id}/retry/``."""
    return base_url.rstrip("/") + prefix.rstrip("/") + RETRY_PATH.replace("{id}", str(video_id))


@dataclass(frozen=True)
class Answer:
    """An API answer: HTTP status and JSON body."""

    http_status: int
    body: Mapping[str, Any]


def retry(
    base_url: str,
    video_id: int,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    prefix: str = "",
) -> Answer:
    """POST the retry action for ``video_id`` (status back to UPLOADED, re-enqueue). A write: refused by the
    guard unless the caller holds ``guard.allow_http_once("POST", retry_url(...))``."""
    if isinstance(video_id, bool) or not isinstance(video_id, int):
        raise ProbeError("api", "invalid", f"video id {video_id!r} is not an integer")
    status, body = _request("POST", retry_url(base_url, video_id, prefix), timeout=timeout, headers=headers)
    return Answer(status, body)


def progress(
    base_url: str,
    video_id: int,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    prefix: str = "",
) -> Progress:
    """GET the progress of ``video_id``; non-2xx, bad JSON and socket failures raise ``ProbeError``."""
    if isinstance(video_id, bool) or not isinstance(video_id, int):
        raise ProbeError("api", "invalid", f"video id {video_id!r} is not an integer")
    url = progress_url(base_url, video_id, prefix)
    status, body = _request("GET", url, timeout=timeout, headers=headers)
    return Progress(
        video_id=video_id,
        status=_status(body),
        percent=_percent(body.get("percent", body.get("progress", body.get("progress_percent")))),
        http_status=status,
        raw=dict(body),
    )


def _said(exc: urllib.error.HTTPError) -> str:
    """What an error answer says, briefly: the real API's ``code``/``detail`` (``tenant_invalid``, ...)."""
    try:
        body = json.loads(exc.read(4096).decode("utf-8", "replace"))
    except (OSError, ValueError):
        return ""
    if not isinstance(body, Mapping):
        return ""
    parts = [str(body[key])[:120] for key in ("code", "detail") if isinstance(body.get(key), (str, int))]
    return f" ({': '.join(parts)})" if parts else ""


def _request(
    method: str, url: str, *, timeout: float, headers: Mapping[str, str] | None = None
) -> tuple[int, Mapping[str, Any]]:
    """One HTTP request with a timeout, through the read-only guard; the JSON object it answered."""
    safe = _safe_url(url)
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ProbeError("api", "invalid", f"not an http(s) URL: {safe}")
    guard.check_http(method, url)
    data = b"" if method == "POST" else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Accept": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
            payload = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        said = _said(exc)
        raise ProbeError(
            "api", _http_kind(exc.code), f"HTTP {exc.code} from {method} {safe}{said}", code=str(exc.code)
        ) from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, BaseException):
            raise from_os(reason, "api", timeout=timeout, target=safe) from exc
        raise ProbeError("api", "unreachable", f"unreachable: {reason} ({safe})") from exc
    except TimeoutError as exc:
        raise from_os(exc, "api", timeout=timeout, target=safe) from exc
    except OSError as exc:
        raise from_os(exc, "api", timeout=timeout, target=safe) from exc
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProbeError("api", "error", f"response from {method} {safe} is not JSON") from exc
    if not isinstance(body, Mapping):
        raise ProbeError("api", "error", f"response from {method} {safe} is not a JSON object")
    return status, body
