"""Video state in Redis, under the tenant's namespace, as the real API and worker keep it.

``tenant:{tenant}:video:{id}:status`` (the worker writes it at each transition: PROCESSING for 6 h, READY and
FAILED without expiry), ``...:progress`` (the worker's encode progress, 4 h), ``...:cancel_requested`` (the API's
retry sets it for 300 s before it enqueues; the worker skips while it stands). Redis is optional: without it
(``None`` client) nothing is written and nothing is found.
"""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger("apps.support.video.redis_status_cache")
repository_log = logging.getLogger("academy.adapters.db.django.repositories_video")

PROCESSING_TTL = 21600
PROGRESS_TTL = 14400
CANCEL_TTL = 300


def key(tenant: object, video_id: int, what: str) -> str:
    return f"tenant:{tenant}:video:{video_id}:{what}"


def set_cancel_requested(client: Any, tenant: object, video_id: int, ttl: int = CANCEL_TTL) -> bool:
    if client is None:
        return False
    try:
        client.setex(key(tenant, video_id, "cancel_requested"), ttl, "1")
        return True
    except Exception as exc:
        log.warning("Failed to set cancel_requested in Redis: %s", exc)
        return False


def is_cancel_requested(client: Any, tenant: object, video_id: int) -> bool:
    if client is None or tenant is None:
        return False
    try:
        return bool(client.get(key(tenant, video_id, "cancel_requested")))
    except Exception as exc:
        log.debug("Failed to check cancel_requested in Redis: %s", exc)
        return False


def cache_status(client: Any, tenant: object, video_id: int, status: str, ttl: int | None = None, **extra: Any) -> None:
    if client is None or tenant is None:
        return
    value = json.dumps({"status": status, **extra}, default=str)
    try:
        if ttl:
            client.setex(key(tenant, video_id, "status"), ttl, value)
        else:
            client.set(key(tenant, video_id, "status"), value)
    except Exception as exc:
        repository_log.warning("Failed to cache video status in Redis: %s", exc)


def get_status(client: Any, tenant: object, video_id: int) -> dict[str, Any] | None:
    if client is None:
        return None
    try:
        raw = client.get(key(tenant, video_id, "status"))
        data = json.loads(raw) if raw else None
    except Exception:
        return None
    return data if isinstance(data, dict) else None


def get_progress(client: Any, tenant: object, video_id: int) -> dict[str, Any] | None:
    if client is None:
        return None
    try:
        raw = client.get(key(tenant, video_id, "progress"))
        data = json.loads(raw) if raw else None
    except Exception:
        return None
    return data if isinstance(data, dict) else None
