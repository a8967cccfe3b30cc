"""``--worker-cmd`` runs another worker against the same hermetic stack, with the environment it exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from rehearsal_runner import run_rehearsal


@pytest.mark.timeout(300)
def test_user_supplied_worker_command(tmp_path: Path) -> None:
    # The stand-in under a different command line: the stack must start it, find it and judge it the same way.
    verdict, output = run_rehearsal(
        tmp_path, None, "embedded", ("--worker-cmd", "python3 -u -m reference.video_worker")
    )
    assert verdict["healthy"] is True, output[-4000:]
    assert verdict["services"]["worker"] == "process python3 -u -m reference.video_worker"


@pytest.mark.timeout(300)
def test_a_broken_user_worker_is_diagnosed(tmp_path: Path) -> None:
    # A "worker" that exits at once: the suite must say the worker is not running, not pass.
    verdict, output = run_rehearsal(
        tmp_path, None, "embedded", ("--worker-cmd", "python3 -c 'import sys; sys.exit(0)' video_worker")
    )
    assert verdict["healthy"] is False
    assert verdict["root_cause"]["cause"] == "worker-not-running", output[-4000:]
