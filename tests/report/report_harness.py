"""Helpers for the report's tests: a real headless Chromium, and rehearsal runs that write reports.

Chromium is Debian's package. When it is missing and this process may install packages (root with apt-get,
as in CI), it is installed once per machine under a lock; otherwise the browser tests skip and say why.
``RUNBOOK_NO_INSTALL=1`` forbids installing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from report_browser import find_chromium

from bench._live import pytest_argv

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports" / "screenshots"
DEBIAN_PACKAGES = ("chromium", "fonts-noto-cjk")  # the fonts: Korean text in the screenshots


def _has_korean_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, timeout=30).stdout
    return bool(out.strip())


def _apt_install(packages: tuple[str, ...]) -> str:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:  # a stale package list: refresh once
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    return (proc.stdout + proc.stderr)[-1500:]


def ensure_chromium() -> str:
    """The Chromium binary, installed from Debian's packages when allowed; else the test skips."""
    binary = find_chromium()
    if binary and _has_korean_font():
        return binary
    can_install = (
        os.environ.get("RUNBOOK_NO_INSTALL") != "1" and shutil.which("apt-get") is not None and os.geteuid() == 0
    )
    if not can_install:
        if binary:
            return binary  # Korean may render as boxes in the screenshots, the checks still hold
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium fonts-noto-cjk) and this "
            "process may not install it (not root, no apt-get, or RUNBOOK_NO_INSTALL=1)"
        )
    with open("/tmp/runbook-chromium-install.lock", "w") as lock:  # one installer across xdist workers
        fcntl.flock(lock, fcntl.LOCK_EX)
        output = ""
        if not find_chromium() or not _has_korean_font():
            output = _apt_install(DEBIAN_PACKAGES)
    binary = find_chromium()
    if binary is None:
        pytest.skip(f"Chromium could not be installed with apt-get: {output}")
    return binary


@dataclass(frozen=True)
class Run:
    """The files one rehearsal run wrote."""

    html: Path
    verdict: Path
    junit: Path
    output: str


def rehearse(out: Path, fault: str | None, *extra: str) -> Run:
    """One hermetic rehearsal (embedded backends) writing its report into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    run = Run(out / "report.html", out / "verdict.json", out / "junit.xml", "")
    args = pytest_argv(
        out,
        "--backend=embedded",
        "--self-contained-html",
        *extra,
        worker_container=f"academy-video-worker-{uuid.uuid4().hex[:8]}",
    )
    if fault:
        args.append(f"--rehearsal-fault={fault}")
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=400)
    output = proc.stdout + proc.stderr
    assert run.html.exists() and run.verdict.exists(), f"no report written (exit {proc.returncode}):\n{output[-3000:]}"
    return Run(run.html, run.verdict, run.junit, output)
