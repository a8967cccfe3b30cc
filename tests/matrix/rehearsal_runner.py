"""Run the checks against one isolated rehearsal in a subprocess and read its verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKEND = os.environ.get("MATRIX_BACKEND", "embedded")


def run_rehearsal(
    tmp_path: Path, fault: str | None, backend: str = BACKEND, extra: tuple[str, ...] = ()
) -> tuple[dict, str]:
    """One isolated rehearsal (its own stack, container name and report files); returns (verdict, output)."""
    verdict = tmp_path / "verdict.json"
    args = [
        sys.executable,
        "-m",
        "pytest",
        "checks",
        "-q",
        "-p",
        "no:xdist",
        "--backend",
        backend,
        "--runbook-json",
        str(verdict),
        "--html",
        str(tmp_path / "report.html"),
        "--junitxml",
        str(tmp_path / "junit.xml"),
        "--worker-container",
        f"academy-video-worker-{uuid.uuid4().hex[:8]}",
    ]
    if fault:
        args += ["--rehearsal-fault", fault]
    args += list(extra)
    env = {**os.environ, "TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_CONNECTION_MODE": "docker_host"}
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    output = proc.stdout + proc.stderr
    assert verdict.exists(), f"no verdict written (exit {proc.returncode}):\n{output[-3000:]}"
    return json.loads(verdict.read_text()), output
