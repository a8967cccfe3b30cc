"""No false alarms: the healthy rehearsal, 20 runs, every one healthy with every check passed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rehearsal_runner import run_rehearsal

RUNS = int(os.environ.get("STABILITY_RUNS", "20"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("run", range(1, RUNS + 1))
def test_healthy_rehearsal_is_healthy(tmp_path: Path, run: int) -> None:
    verdict, output = run_rehearsal(tmp_path, None)
    not_passed = [(c["nodeid"], c["outcome"], c["message"]) for c in verdict["checks"] if c["outcome"] != "passed"]
    assert verdict["healthy"] is True, output[-4000:]
    assert not not_passed, not_passed
