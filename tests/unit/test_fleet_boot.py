"""An instance's boot output, read as the real user data prints it (academy-backend 3bc9f472f,
``infra/worker_asg/user_data/video_worker_user_data.sh``), through the serial console's prefixes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runbook.fleet.boot import read_boot
from runbook.fleet.containers import parse_docker_ps
from runbook.fleet.judge import boot_finding, boot_state
from runbook.probes.fleet import FleetInstance

#: The script's own echo lines, verbatim (lines 42 and 48; ``$i`` expanded as bash does).
REAL_ATTEMPT = 'echo "docker run attempt $i failed, retrying in 10s..."'
REAL_DONE = 'echo "Video worker user data done"'
PREFIX = "[   61.204512] cloud-init[1647]: "
NOW = datetime(2026, 2, 20, 5, 30, tzinfo=UTC)


def echoed(line: str, i: int | None = None) -> str:
    """What ``echo "..."`` prints, with the console's prefix."""
    text = line.removeprefix('echo "').removesuffix('"')
    return PREFIX + (text.replace("$i", str(i)) if i is not None else text)


PS_HEADER = PREFIX + "CONTAINER ID   IMAGE      COMMAND                  CREATED         STATUS         PORTS     NAMES"
PS_UP = (
    PREFIX
    + 'c0ffee123456   1234.dkr.ecr.ap-northeast-2.amazonaws.com/academy-video-worker:latest   "python -m apps.work…"'
    "   2 seconds ago   Up 1 second              academy-video-worker"
)
KERNEL = "[    0.000000] Linux version 6.1.79-99.167.amzn2023.aarch64 (mockbuild@ip-10-0-55-146)\n"


def instance(age_minutes: float = 60) -> FleetInstance:
    return FleetInstance("i-0a1", "InService", "Healthy", "running", NOW - timedelta(minutes=age_minutes), "10.0.1.5")


def test_healthy_boot() -> None:
    boot = read_boot(KERNEL + "\n".join([PS_HEADER, PS_UP, echoed(REAL_DONE)]))
    assert boot.outcome == "ok" and boot.done and boot.failed_attempts == ()
    assert boot.container_at_boot is not None and boot.container_at_boot.up
    assert boot_finding(instance(), boot) is None and boot_state(instance(), boot, NOW) == "ok"


def test_a_retry_that_then_succeeded_is_not_a_failure() -> None:
    boot = read_boot(KERNEL + "\n".join([echoed(REAL_ATTEMPT, 1), PS_HEADER, PS_UP, echoed(REAL_DONE)]))
    assert boot.outcome == "ok" and boot.failed_attempts == (1,)


def test_three_failed_docker_runs_name_the_instance() -> None:
    lines = [f"docker: Error response from daemon: Conflict.\n{echoed(REAL_ATTEMPT, i)}" for i in (1, 2, 3)]
    # The loop ends, ``docker ps -a`` shows no container, and the end line is printed all the same.
    boot = read_boot(KERNEL + "\n".join([*lines, PS_HEADER, echoed(REAL_DONE)]))
    assert boot.outcome == "docker-run-failed" and boot.done and boot.failed_attempts == (1, 2, 3)
    assert boot.container_at_boot is not None and boot.container_at_boot.state == "absent"
    finding = boot_finding(instance(), boot)
    assert finding is not None and finding.instance_id == "i-0a1" and "docker run attempt 3 failed" in finding.detail


@pytest.mark.parametrize(
    "line",
    [
        # AWS CLI (runtime): the instance role may not call ecr:GetAuthorizationToken
        "An error occurred (AccessDeniedException) when calling the GetAuthorizationToken operation: User: "
        "arn:aws:sts::123456789012:assumed-role/academy-ec2-role/i-0a1 is not authorized",
        # Docker CLI (runtime): docker login got an empty password on stdin
        "Error: Cannot perform an interactive login from a non TTY device",
    ],
)
def test_ecr_login_failure_stops_the_script(line: str) -> None:
    boot = read_boot(KERNEL + PREFIX + line + "\n" + PREFIX + "Failed to run module scripts-user")
    assert boot.outcome == "ecr-login-failed" and not boot.done
    assert boot_finding(instance(), boot) is not None


def test_other_script_failure() -> None:
    text = KERNEL + PREFIX + "Error response from daemon: manifest unknown\n"
    text += "[   70.1] cloud-init[1647]: util.py[WARNING]: Failed running /var/lib/cloud/instance/scripts/part-001 [1]"
    boot = read_boot(text)
    assert boot.outcome == "boot-script-failed" and "Failed running" in boot.evidence


def test_unfinished_boot_is_booting_when_young_unknown_when_old() -> None:
    boot = read_boot(KERNEL + PREFIX + "Complete!\n")
    assert boot.outcome == "unfinished"
    assert boot_finding(instance(), boot) is None
    assert boot_state(instance(age_minutes=3), boot, NOW) == "booting"
    assert boot_state(instance(age_minutes=60), boot, NOW) == "unknown"
    assert read_boot("").outcome == "no-output"


@pytest.mark.parametrize(
    ("status", "state", "code"),
    [
        ("Up 3 hours", "running", None),
        ("Up 2 hours (healthy)", "running", None),
        ("Restarting (1) 5 seconds ago", "restarting", 1),
        ("Exited (137) 2 minutes ago", "exited", 137),
        ("Created", "created", None),
    ],
)
def test_docker_ps_status(status: str, state: str, code: int | None) -> None:
    row = PS_UP.replace("Up 1 second", status)
    found = parse_docker_ps(PS_HEADER + "\n" + row, "academy-video-worker")
    assert found is not None and (found.state, found.exit_code) == (state, code)
    assert parse_docker_ps(PS_HEADER, "academy-video-worker") == parse_docker_ps(PS_HEADER + "\n", "x")
    assert parse_docker_ps("no table here", "academy-video-worker") is None
