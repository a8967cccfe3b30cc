"""Every fault of CONTRACT's matrix names its root cause; a healthy rehearsal raises no alarm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from reference.stack import FAULTS
from runbook.model import LAYERS

ROOT = Path(__file__).resolve().parents[2]
BACKEND = os.environ.get("MATRIX_BACKEND", "embedded")
CASES = [("healthy", 0, "healthy")] + [(f.id, f.row, f.cause) for f in FAULTS.values()]


def run_rehearsal(tmp_path: Path, fault: str | None, backend: str = BACKEND) -> tuple[dict, str]:
    """One isolated rehearsal (its own stack, container name and report files); returns (verdict, output)."""
    verdict = tmp_path / "verdict.json"
    args = [
        sys.executable, "-m", "pytest", "checks", "-q", "-p", "no:xdist", "--backend", backend,
        "--runbook-json", str(verdict), "--html", str(tmp_path / "report.html"),
        "--junitxml", str(tmp_path / "junit.xml"),
        "--worker-container", f"academy-video-worker-{uuid.uuid4().hex[:8]}",
    ]
    if fault:
        args += ["--rehearsal-fault", fault]
    env = {**os.environ, "TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_CONNECTION_MODE": "docker_host"}
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    output = proc.stdout + proc.stderr
    assert verdict.exists(), f"no verdict written (exit {proc.returncode}):\n{output[-3000:]}"
    return json.loads(verdict.read_text()), output


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("fault", "row", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fault_is_diagnosed(tmp_path: Path, request: pytest.FixtureRequest, fault: str, row: int, expected: str) -> None:
    started = time.monotonic()
    verdict, output = run_rehearsal(tmp_path, None if fault == "healthy" else fault)
    root = verdict["root_cause"]
    got = "healthy" if verdict["healthy"] else f"{root['layer']}/{root['cause']}"
    request.node.user_properties.append(("matrix-row", (row, fault, expected, got, time.monotonic() - started)))
    assert got == expected, f"{fault}: expected {expected}, got {got}\n{output[-4000:]}"
    if fault == "healthy":
        assert set(verdict["layers"]) == set(LAYERS)
        return
    # Consequences are listed, never promoted; layers the fault does not touch stay ok.
    assert root["remediation"], "a root cause without a remediation command"
    expected_layer = expected.split("/")[0]
    failed_layers = {layer for layer, state in verdict["layers"].items() if state == "fail"}
    assert expected_layer in failed_layers
    explained = {c for c in verdict["consequences"] + verdict["confirming"] + [root["check"]]}
    unexplained = [c for c in verdict["checks"] if c["outcome"] == "failed" and c["nodeid"] not in explained]
    assert not unexplained, f"failed checks the root cause does not explain: {unexplained}"
    if fault.startswith("config-missing:"):
        assert fault.split(":", 1)[1] in root["message"]
