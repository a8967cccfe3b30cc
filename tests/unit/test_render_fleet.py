"""The report's fleet table: one row per instance, the command sent above it, nothing secret."""

from __future__ import annotations

from html import escape

from runbook import secrets
from runbook.model import CheckResult
from runbook.render import html_block
from runbook.verdict import decide

ROWS = [
    {"instance_id": "i-0a1", "lifecycle": "InService", "state": "running", "launched": "2026-02-20 05:00Z",
     "boot": "ok", "container": "up", "last_video": "333 05:03:11Z", "cause": ""},
    {"instance_id": "i-0b2", "lifecycle": "InService", "state": "running", "launched": "2026-02-20 05:00Z",
     "boot": "docker-run-failed", "container": "-", "last_video": "-", "cause": "docker-run-failed"},
]  # fmt: skip
COMMAND = "docker ps -a --filter 'name=^academy-video-worker$' 2>&1; docker logs --timestamps --since 2h x"


def _block(table: dict[str, object], lang: str = "ko") -> str:
    check = CheckResult(
        "checks/test_s1_worker_process.py::test_instances_booted[live]", "worker-process", "§1", "failed",
        cause="docker-run-failed", message="instance i-0b2", evidence={"table": table},
    )  # fmt: skip
    return html_block(decide("live", [check]), lang)


def test_fleet_rows_and_the_command_sent() -> None:
    html = _block({"kind": "fleet", "total": 2, "rows": ROWS, "document": "AWS-RunShellScript",
                   "command": COMMAND, "command_id": "c-1,c-2"})  # fmt: skip
    assert 'data-instance="i-0a1"' in html and 'data-instance="i-0b2" data-cause="docker-run-failed"' in html
    assert "333 05:03:11Z" in html and escape(COMMAND) in html and "AWS-RunShellScript" in html
    assert "ASG 인스턴스 (§1): 2대" in html
    assert "ASG instances (§1): 2" in _block({"kind": "fleet", "rows": ROWS}, "en")


def test_no_command_line_when_logs_were_not_read_and_no_secret() -> None:
    secrets.register(["fleet-secret-value-0001"])
    rows = [{**ROWS[0], "container": "? (error: fleet-secret-value-0001)"}]
    html = _block({"kind": "fleet", "rows": rows})
    assert 'rb-cmd">docker ps' not in html and "fleet-secret-value-0001" not in html
