"""The canary's outcomes on hand-made answers: ``runbook.canary.run`` against a one-route HTTP server and scripted
reads, and how the check names each outcome (READY in time passes; everything else fails with its cause)."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from runbook import canary, guard, texts
from runbook.config import side_from_env
from runbook.findings import CheckFailed
from runbook.probes.errors import ProbeError
from runbook.signals import Signal, Thresholds
from runbook.target import Target

CHECKS = Path(__file__).resolve().parents[2] / "checks"
spec = importlib.util.spec_from_file_location("_canary_check", CHECKS / "test_c_canary.py")
assert spec is not None and spec.loader is not None
c_canary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(c_canary)


class _Api(BaseHTTPRequestHandler):
    status: ClassVar[int] = 202
    posts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        type(self).posts.append(self.path)
        body = json.dumps({"video_id": 111}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    _Api.status, _Api.posts = 202, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    previous = guard.enable_guard()  # as in a live run: the canary's POST must pass by its allowance
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        guard.set_guard(previous)
        server.shutdown()


def _scripted(*statuses: str | None) -> Any:
    values = list(statuses)
    return lambda: values.pop(0) if len(values) > 1 else values[0]


def test_ready_failed_and_timeouts(api: str) -> None:
    ready = canary.run(
        api,
        111,
        canary.CanaryProbes(_scripted("UPLOADED", "PROCESSING", "READY"), lambda: None),
        timeout=10,
        request_timeout=2,
        interval=0.01,
    )
    assert (ready.outcome, ready.status, ready.http_status) == ("ready", "READY", 202) and ready.seconds is not None
    assert _Api.posts == ["/media/videos/111/retry/"]
    failed = canary.run(
        api,
        111,
        canary.CanaryProbes(_scripted("PROCESSING", "FAILED"), lambda: None),
        timeout=10,
        request_timeout=2,
        interval=0.01,
    )
    assert failed.outcome == "failed" and failed.seconds is None
    slow = canary.run(
        api,
        111,
        canary.CanaryProbes(_scripted("PROCESSING"), lambda: None),
        timeout=0.05,
        request_timeout=2,
        interval=0.01,
    )
    assert (slow.outcome, slow.status) == ("timeout", "PROCESSING")
    never = canary.run(
        api,
        111,
        canary.CanaryProbes(_scripted("UPLOADED"), lambda: None),
        timeout=0.05,
        request_timeout=2,
        interval=0.01,
    )
    assert (never.outcome, never.status) == ("timeout", "UPLOADED")


def test_its_own_cancel_flag(api: str) -> None:
    # With a worker log that shows the skip: at once; without one: the live flag at the timeout says why.
    seen = canary.run(
        api,
        111,
        canary.CanaryProbes(_scripted("UPLOADED"), lambda: 299.0, lambda since: True),
        timeout=30,
        request_timeout=2,
        interval=0.01,
    )
    assert seen.outcome == "cancel-skipped" and seen.waited < 30 and seen.cancel_ttl == 299.0
    flag = canary.run(
        api,
        111,
        canary.CanaryProbes(_scripted("UPLOADED"), lambda: 299.0),
        timeout=0.05,
        request_timeout=2,
        interval=0.01,
    )
    assert flag.outcome == "cancel-skipped"


def test_retry_refused_by_the_api(api: str) -> None:
    _Api.status = 503
    with pytest.raises(ProbeError) as raised:
        canary.run(api, 111, canary.CanaryProbes(_scripted("READY"), lambda: None), timeout=1, request_timeout=2)
    assert raised.value.code == "503"


ENV = {"AWS_REGION": "ap-northeast-2", "DATABASE_URL": "sqlite:///x.sqlite3", "API_BASE_URL": "http://api:8000"}
TARGET = Target(mode="live", api=side_from_env(ENV, "api"), worker_log="/var/log/worker.log")


class _NoEvidence:
    def keys(self) -> list[str]:
        return []


def _judge(monkeypatch: pytest.MonkeyPatch, result: canary.CanaryResult | Exception) -> tuple[str | None, str, Signal]:
    def fake_run(*args: Any, **kwargs: Any) -> canary.CanaryResult:
        if isinstance(result, Exception):
            raise result
        return result

    monkeypatch.setattr(c_canary.canary, "run", fake_run)
    recorded: list[Signal] = []
    try:
        c_canary.test_canary_end_to_end(
            _NoEvidence(), TARGET, Thresholds(canary_seconds=60), recorded.append, (111, 600)
        )
    except CheckFailed as exc:
        message, _ = texts.render(texts.CAUSES, exc.cause, exc.facts, "en")
        return exc.cause, message, recorded[0]
    return None, "", recorded[0]


def _result(outcome: str, status: str | None, seconds: float | None = None, ttl: float | None = None) -> Any:
    return canary.CanaryResult(111, outcome, 202, status, seconds, seconds or 600.0, ttl)  # type: ignore[arg-type]


def test_the_check_names_each_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    cause, _, signal = _judge(monkeypatch, _result("ready", "READY", 12.0))
    assert cause is None and (signal.value, signal.state) == (12.0, "ok")
    cause, message, signal = _judge(monkeypatch, _result("ready", "READY", 75.0))
    assert cause == "canary-slow" and "READY 75s after enqueue (threshold 60s)" in message and signal.state == "fail"
    cause, message, _ = _judge(monkeypatch, _result("timeout", "PROCESSING"))
    assert cause == "canary-slow" and "PROCESSING 600s" in message
    assert _judge(monkeypatch, _result("timeout", "UPLOADED"))[0] == "no-message-received"
    assert _judge(monkeypatch, _result("failed", "FAILED"))[0] == "job-failed"
    cause, message, signal = _judge(monkeypatch, _result("cancel-skipped", "UPLOADED", ttl=287.0))
    assert cause == "cancel-requested" and "job:encode:111:cancel" in message and "287s" in message
    assert signal.state == "unknown"
    refused = ProbeError("api", "unreachable", "HTTP 503 from POST http://api:8000/media/videos/111/retry/", code="503")
    assert _judge(monkeypatch, refused)[0] == "enqueue-failed"
