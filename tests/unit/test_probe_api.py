"""Progress probe against a real HTTP server on loopback, and a black hole."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runbook.probes import ProbeError, api

pytestmark = pytest.mark.timeout(60)

BODIES: dict[str, object] = {
    "111": {"status": "PROCESSING", "progress": 42},
    "222": {"state": "READY", "percent": "100%"},
    "333": {"status": "UNKNOWN", "progress": {"percent": 7.5, "step": "encode"}},
}


TOKEN = "tok-0123456789abcdef"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if parts[:2] == ["api", "v1"]:
            # The real API: under /api/v1, a tenant and a bearer token (runbook.production).
            if self.headers.get("X-Tenant-Code") != "tchul":
                self._send(404, b'{"detail": "tenant resolution failed", "code": "tenant_invalid"}')
            elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, b'{"detail": "Authentication credentials were not provided."}')
            else:
                self._send(200, b'{"id": 7, "status": "UNKNOWN", "message": "x"}')
            return
        if parts[:2] != ["media", "videos"] or parts[3:] != ["progress"]:
            self._send(404, b"{}")
        elif parts[2] == "401":
            self._send(401, b'{"detail": "auth"}')
        elif parts[2] == "500":
            self._send(500, b"boom")
        elif parts[2] == "444":
            self._send(200, b"<html>not json</html>")
        elif parts[2] in BODIES:
            self._send(200, json.dumps(BODIES[parts[2]]).encode())
        else:
            self._send(404, b'{"detail": "Not found."}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A stand-in API serving ``/media/videos/{id}/progress/`` (with a trailing slash in the base)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_progress_shapes(base_url: str) -> None:
    assert api.progress(base_url, 111, timeout=2) == api.Progress(111, "PROCESSING", 42.0, 200)
    assert api.progress(base_url, 222, timeout=2) == api.Progress(222, "READY", 100.0, 200)
    third = api.progress(base_url, 333, timeout=2)
    assert (third.status, third.percent) == ("UNKNOWN", 7.5)
    assert third.raw["progress"] == {"percent": 7.5, "step": "encode"}


def test_progress_url() -> None:
    assert api.progress_url("https://api.example/", 17) == "https://api.example/media/videos/17/progress/"


@pytest.mark.parametrize(
    ("video_id", "kind", "code"), [(999, "not-found", "404"), (401, "auth", "401"), (500, "error", "500")]
)
def test_http_errors_are_classified(base_url: str, video_id: int, kind: str, code: str) -> None:
    with pytest.raises(ProbeError) as caught:
        api.progress(base_url, video_id, timeout=2)
    assert (caught.value.dependency, caught.value.kind, caught.value.code) == ("api", kind, code)


def test_not_json_is_an_error(base_url: str) -> None:
    with pytest.raises(ProbeError) as caught:
        api.progress(base_url, 444, timeout=2)
    assert caught.value.kind == "error" and "not JSON" in str(caught.value)


def test_userinfo_is_not_echoed(base_url: str) -> None:
    with_credentials = base_url.replace("http://", "http://user:hunter2@")
    with pytest.raises(ProbeError) as caught:
        api.progress(with_credentials, 999, timeout=2)
    assert "hunter2" not in str(caught.value)


def test_closed_port_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProbeError) as caught:
        api.progress(f"http://127.0.0.1:{port}", 1, timeout=1)
    assert caught.value.kind == "unreachable"


def test_black_hole_times_out_within_the_timeout(black_hole_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(ProbeError) as caught:
        api.progress(f"http://127.0.0.1:{black_hole_port}", 1, timeout=1.0)
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 2.0


def test_bad_input() -> None:
    with pytest.raises(ProbeError) as caught:
        api.progress("ftp://api.example", 1, timeout=1)
    assert caught.value.kind == "invalid"


def test_the_real_api_s_route_prefix_tenant_and_token(base_url: str) -> None:
    answer = api.progress(base_url, 7, timeout=2, prefix="/api/v1", headers=api.headers(TOKEN, "tchul"))
    assert (answer.status, answer.http_status) == ("UNKNOWN", 200)
    with pytest.raises(ProbeError) as no_tenant:
        api.progress(base_url, 7, timeout=2, prefix="/api/v1", headers=api.headers(TOKEN, None))
    assert no_tenant.value.kind == "not-found" and "tenant_invalid" in str(no_tenant.value)
    with pytest.raises(ProbeError) as no_token:
        api.progress(base_url, 7, timeout=2, prefix="/api/v1", headers=api.headers(None, "tchul"))
    assert no_token.value.kind == "auth"
    with pytest.raises(ProbeError) as wrong:
        api.progress(base_url, 7, timeout=2, prefix="/api/v1", headers=api.headers("wrong-token-value", "tchul"))
    assert "wrong-token-value" not in str(wrong.value) and TOKEN not in str(wrong.value)
