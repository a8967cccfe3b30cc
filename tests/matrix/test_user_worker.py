"""``--worker-cmd`` runs another worker against the same hermetic stack, with the environment it exports."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.mark.timeout(300)
def test_user_supplied_worker_command(rehearse: Callable[..., tuple[dict, str]]) -> None:
    # The stand-in under a different command line: the stack must start it, find it and judge it the same way.
    verdict, output = rehearse(None, "embedded", ("--worker-cmd", "python3 -u -m reference.video_worker"))
    assert verdict["healthy"] is True, output[-4000:]
    assert verdict["services"]["worker"] == "process python3 -u -m reference.video_worker"


@pytest.mark.timeout(300)
def test_a_broken_user_worker_is_diagnosed(rehearse: Callable[..., tuple[dict, str]]) -> None:
    # A "worker" that exits at once: the suite must say the worker is not running, not pass.
    verdict, output = rehearse(None, "embedded", ("--worker-cmd", "python3 -c 'import sys; sys.exit(0)' video_worker"))
    assert verdict["healthy"] is False
    assert verdict["root_cause"]["cause"] == "worker-not-running", output[-4000:]
