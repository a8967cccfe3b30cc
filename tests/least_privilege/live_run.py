"""``pytest -m "live and <deployment>"`` against a stand-in stack, in a subprocess, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._live import pytest_argv
from reference.stack.live import PIPELINE_ENV_PREFIXES

ROOT = Path(__file__).resolve().parents[2]
#: Plugins the live suite does not use (start-up time), and a fixed check order.
LEAN = ("no:hypothesispytest", "no:benchmark", "no:xdist", "no:randomly")


@dataclass
class LiveRun:
    """One live run: exit code, terminal output and every file it wrote (verdict.json, HTML, JUnit)."""

    returncode: int
    output: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def verdict(self) -> dict[str, Any]:
        assert "verdict.json" in self.files, f"no verdict.json (exit {self.returncode}):\n{self.output[-4000:]}"
        doc: dict[str, Any] = json.loads(self.files["verdict.json"])
        return doc

    def checks(self) -> list[dict[str, Any]]:
        return list(self.verdict["checks"])

    def everything(self) -> dict[str, str]:
        """The terminal and every file the run wrote, by name."""
        return {"terminal": self.output, **self.files}

    def tail(self, chars: int = 4000) -> str:
        return f"exit {self.returncode}\n{self.output[-chars:]}"


def run_live(
    stack: Any,
    directory: Path,
    marker: str,
    *,
    env: Mapping[str, str],
    worker_env_file: Path | bool | None = True,
    extra: Sequence[str] = (),
    timeout: float = 3.0,
) -> LiveRun:
    """The live suite against ``stack`` with ``env`` as the API's environment (the shell's pipeline variables
    are cleared first). ``worker_env_file``: True for the stack's own, a path, or None/False for none (the run
    then reads the worker process's environment)."""
    directory.mkdir(parents=True, exist_ok=True)
    env_file = stack.worker_env_file if worker_env_file is True else (worker_env_file or None)
    args = pytest_argv(
        directory,
        *extra,
        plugins=LEAN,
        marker=f"live and {marker}",
        worker_env_file=env_file,
        worker_log=stack.worker_log,
        api_log=stack.api_log,
        worker_process=stack.worker_process_pattern,
        video_ids=stack.scenario.videos,
        timeout=timeout,
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith((*PIPELINE_ENV_PREFIXES, "DOCKER_HOST"))}
    proc = subprocess.run(
        args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, errors="replace", timeout=240
    )
    run = LiveRun(proc.returncode, proc.stdout + proc.stderr)
    for name in ("verdict.json", "report.html", "junit.xml"):
        path = directory / name
        if path.exists():
            run.files[name] = path.read_text(encoding="utf-8", errors="replace")
    return run
