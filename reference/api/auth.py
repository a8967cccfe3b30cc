"""Tenant resolution and bearer tokens, with the real API's rules.

Tenant: the ``X-Tenant-Code`` header counts only when the request's host is the API's own public host; any
other host is looked up as a ``TenantDomain``. Nothing found is a 404 ``tenant_invalid`` naming the host.
Token: a signed ``user:tenant:expiry`` (12 hours), sent as ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from reference import db

if TYPE_CHECKING:
    from reference.api.app import VideoApi

#: Hosts for which the header names the tenant (the real default of TENANT_HEADER_CODE_ALLOWED_HOSTS).
HEADER_HOSTS = ("api.hakwonplus.com",)
ACCESS_SECONDS = 12 * 3600


def resolve_tenant(conn: db.Database, host_header: str, code: str | None) -> dict[str, Any]:
    from reference.api.app import HttpError

    host = host_header.split(":")[0].strip().lower()
    tenant = db.tenant_for_code(conn, code) if code and host in HEADER_HOSTS else None
    if tenant is None:
        tenant = db.tenant_for_host(conn, host)
    if tenant is None:
        raise HttpError(
            HTTPStatus.NOT_FOUND,
            {
                "detail": "tenant resolution failed",
                "code": "tenant_invalid",
                "message": f"Tenant not found for host '{host}'",
                "host": host,
            },
        )
    return tenant


class TokenSigner:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, user_id: int, tenant_id: int) -> str:
        payload = f"{user_id}:{tenant_id}:{int(time.time()) + ACCESS_SECONDS}"
        return f"{base64.urlsafe_b64encode(payload.encode()).decode().rstrip('=')}.{self._mac(payload)}"

    def user(self, api: VideoApi, authorization: str) -> dict[str, Any] | None:
        """The user a valid ``Bearer`` token names, else ``None``."""
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or "." not in token:
            return None
        encoded, mac = token.rsplit(".", 1)
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            user_id, _tenant, expiry = (int(part) for part in payload.split(":"))
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)) or expiry < time.time():
            return None
        with api.db() as conn:
            rows = conn.execute("SELECT id, username, tenant_id, is_staff FROM accounts_user WHERE id = ?", (user_id,))
        if not rows:
            return None
        return dict(zip(("id", "username", "tenant_id", "is_staff"), rows[0], strict=True))
