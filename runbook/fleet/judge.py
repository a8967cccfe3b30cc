"""Each InService instance judged as a worker: did it boot a container, is its worker up, what did it take last.

Two findings per instance, each with the instance id:

- from the boot output (:func:`boot_finding`): ``docker-run-failed`` (all three tries of the user data's
  loop failed), ``ecr-login-failed``, ``boot-script-failed`` (the script stopped under ``set -e``). An
  instance without the end line is judged only once it is older than :data:`BOOT_GRACE`: before that it may
  simply still be booting (yum update, docker pull).
- from its worker log and ``docker ps`` (:func:`worker_finding`, ``--asg-logs ssm`` only): ``env-file-empty``
  (the worker's ``config error`` names ``API_BASE_URL``, the first variable the real worker checks, while the
  parameter has it: the instance's env file is empty because the user data's SSM read failed and was
  swallowed, video_worker_user_data.sh:23 ``|| true``), or ``worker-not-running`` (no container, or one that
  exited or restarts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from runbook.fleet.boot import FAILURES, BootReport
from runbook.fleet.command import InstanceLog
from runbook.fleet.merge import config_error_after_start, last_received
from runbook.probes.fleet import FleetInstance

#: An instance younger than this may still be running its user data (the real one updates yum first).
BOOT_GRACE: Final = 15 * 60.0
#: The first variable the real worker's ``load_config`` requires (apps/worker/video_worker/config.py:88):
#: an empty env file makes it the one named.
FIRST_REQUIRED: Final = "API_BASE_URL"


@dataclass(frozen=True)
class Finding:
    """A fault on one instance: a cause of the ``worker-process`` layer and what shows it."""

    instance_id: str
    cause: str
    detail: str


def boot_state(instance: FleetInstance, boot: BootReport | None, now: datetime) -> str:
    """``ok``, a failure outcome, ``booting`` (young, unfinished) or ``unknown``."""
    if boot is None:
        return "unknown"
    if boot.outcome == "ok" or boot.outcome in FAILURES:
        return boot.outcome
    age = (now - instance.launch_time).total_seconds() if instance.launch_time else None
    if age is not None and age < BOOT_GRACE:
        return "booting"
    return "unknown"


def boot_finding(instance: FleetInstance, boot: BootReport | None) -> Finding | None:
    if boot is not None and boot.outcome in FAILURES:
        return Finding(instance.id, boot.outcome, boot.evidence)
    return None


def worker_finding(
    instance: FleetInstance, boot: BootReport | None, log: InstanceLog | None, env: Mapping[str, str] | None
) -> Finding | None:
    """What the instance's worker log and ``docker ps`` say; ``None`` when the worker is up or it cannot tell."""
    if log is None or log.summary is None:
        return None
    booted_badly = boot_finding(instance, boot)
    summary, container = log.summary, log.container
    if config_error_after_start(summary):
        variables = summary.config_variables
        if FIRST_REQUIRED in variables[:1] and env is not None and env.get(FIRST_REQUIRED, "").strip():
            return Finding(instance.id, "env-file-empty", f"config error: {FIRST_REQUIRED}")
        return Finding(instance.id, "worker-not-running", f"config error: {', '.join(variables) or '?'}")
    if container is None:
        return None
    if container.state == "absent":
        if booted_badly is not None:
            return booted_badly  # the boot output already says why there is no container
        return Finding(instance.id, "worker-not-running", "container absent")
    if container.state in ("exited", "restarting", "dead", "created"):
        return Finding(instance.id, "worker-not-running", container.status)
    return None


@dataclass(frozen=True)
class FleetRow:
    """One instance as the report's fleet table shows it."""

    instance_id: str
    lifecycle: str
    state: str
    launched: str
    boot: str
    container: str
    last_video: str
    cause: str

    def as_json(self) -> dict[str, str]:
        return dict(self.__dict__)


def fleet_row(
    instance: FleetInstance,
    boot: BootReport | None,
    boot_error: str,
    log: InstanceLog | None,
    finding: Finding | None,
    now: datetime,
) -> FleetRow:
    state = boot_state(instance, boot, now)
    boot_text = state if not boot_error else f"unknown ({boot_error})"
    if boot is not None and boot.failed_attempts and state == "ok":
        boot_text = f"ok (docker run retried {len(boot.failed_attempts)}x)"
    container = "-"
    last = "-"
    if log is not None:
        if log.container is not None:
            container = "up" if log.container.up else (log.container.status or log.container.state)
        elif log.error:
            container = f"? ({log.status}: {log.error})"
        else:
            container = f"? ({log.status})"
        if log.summary is not None:
            taken = last_received(log.summary)
            if taken is not None:
                when = taken[1].strftime("%H:%M:%SZ") if taken[1] else ""
                last = f"{taken[0]} {when}".strip()
            if log.truncated:
                last += " (older lines cut)"
    launched = instance.launch_time.strftime("%Y-%m-%d %H:%MZ") if instance.launch_time else "-"
    return FleetRow(
        instance.id,
        instance.lifecycle_state,
        instance.state or "-",
        launched,
        boot_text,
        container,
        last,
        finding.cause if finding else "",
    )


def first(findings: Sequence[Finding | None]) -> tuple[Finding, list[Finding]] | None:
    """The finding to report and every finding (the others are named beside it)."""
    found = [f for f in findings if f is not None]
    return (found[0], found) if found else None
