"""No false alarms: the healthy rehearsal, 20 runs, every one healthy with every check passed."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

RUNS = int(os.environ.get("STABILITY_RUNS", "20"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("run", range(1, RUNS + 1))
def test_healthy_rehearsal_is_healthy(rehearse: Callable[..., tuple[dict, str]], run: int) -> None:
    verdict, output = rehearse(None)
    not_passed = [(c["nodeid"], c["outcome"], c["message"]) for c in verdict["checks"] if c["outcome"] != "passed"]
    assert verdict["healthy"] is True, output[-4000:]
    assert not not_passed, not_passed
