"""The fleet stand-in's boot consoles against the real user data's lines (academy-backend 3bc9f472f,
``infra/worker_asg/user_data/video_worker_user_data.sh``), and as the suite reads them.

The stand-in (``reference.stack.fleet``) and the judge (``runbook.fleet.boot``) share no string: both are
held to the script's own echo lines, quoted here.
"""

from __future__ import annotations

import pytest

from reference.stack import fleet
from runbook.fleet.boot import read_boot

#: video_worker_user_data.sh:42 and :48, as bash prints them.
REAL_ATTEMPTS = [f"docker run attempt {i} failed, retrying in 10s..." for i in (1, 2, 3)]
REAL_DONE = "Video worker user data done"


def console(*steps: object) -> str:
    c = fleet.Console("i-0123456789abcdef0")
    fleet._boot_prologue(c)
    for step in steps:
        step(c)  # type: ignore[operator]
    return "\n".join(c.lines)


def test_failed_docker_runs_print_the_script_s_lines() -> None:
    text = console(fleet._docker_run_refused, lambda c: c.docker_ps(None), fleet._end)
    for line in [*REAL_ATTEMPTS, REAL_DONE]:
        assert any(printed.endswith(": " + line) for printed in text.splitlines()), line
    assert read_boot(text).outcome == "docker-run-failed"


def test_ecr_login_refused_stops_before_the_end_line() -> None:
    text = console(fleet._ecr_login_refused)
    assert REAL_DONE not in text
    assert read_boot(text).outcome == "ecr-login-failed"


@pytest.mark.parametrize("name", ["academy-video-worker", "academy-video-worker-live-test"])
def test_healthy_boot_ends_with_the_container_up(name: str) -> None:
    text = console(lambda c: c.docker_ps(fleet._ps_row("c0ffee" * 4, name)), fleet._end)
    boot = read_boot(text, name)
    assert boot.outcome == "ok" and boot.container_at_boot is not None and boot.container_at_boot.up
