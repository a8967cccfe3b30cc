"""The fleet's evidence tasks (called by :class:`runbook.evidence.Evidence` for the asg deployment)."""

from __future__ import annotations

from typing import Any

from runbook.fleet.boot import read_boot
from runbook.fleet.command import FleetLogs, hand_command, logs_command, read_answer
from runbook.fleet.merge import merge
from runbook.fleet.view import Fleet
from runbook.logs import LogSummary
from runbook.probes import fleet as fleet_probe
from runbook.probes import run_command
from runbook.probes.asg import AsgInfo
from runbook.probes.errors import ProbeError
from runbook.target import Target


def fleet(ec2: Any, group: AsgInfo, container: str) -> Fleet:
    """The group's instances and, for each InService one, what its boot output says."""
    instances = fleet_probe.fleet_instances(ec2, group)
    ids = [i.id for i in instances if i.lifecycle_state == "InService"]
    boots, errors = {}, {}
    for iid, answer in fleet_probe.console_outputs(ec2, ids).items():
        if isinstance(answer, fleet_probe.ConsoleOutput):
            boots[iid] = read_boot(answer.text, container.lstrip("/"))
        elif answer.kind == "denied":
            raise answer  # ec2:GetConsoleOutput refused: the permission is what to report, for every instance
        else:
            errors[iid] = str(answer)
    return Fleet(group.name, instances, boots, errors)


def _deadline(target: Target) -> float:
    """How long the answers may take: the command runs on the instances (docker logs), not in one round trip."""
    return max(10.0, min(40.0, target.timeout * 10))


def fleet_logs(ssm: Any, fleet: Fleet, target: Target) -> FleetLogs:
    """Send the read-only log command to every InService instance and read the answers."""
    ids = [i.id for i in fleet.in_service]
    sent = run_command.send_logs_command(
        ssm, ids, container=target.worker_container, since_seconds=target.asg_logs_since, deadline=_deadline(target)
    )
    logs = {
        iid: read_answer(iid, answer.status, answer.stdout, answer.stderr, target.worker_container)
        for iid, answer in sent.invocations.items()
    }
    return FleetLogs(sent.document, sent.command, sent.command_id, logs)


def hand_facts(target: Target, fleet: Fleet | None) -> dict[str, object]:
    """What a log-based check says when the fleet's logs were not read: the command to run by hand."""
    command = logs_command(target.worker_container, target.asg_logs_since)
    ids = [i.id for i in fleet.in_service] if fleet is not None else []
    return {"command": command, "hand": hand_command(target.api.region, ids, command), "instances": ", ".join(ids)}


def merged_log(logs: FleetLogs) -> LogSummary:
    """One summary over every instance that answered (see :mod:`runbook.fleet.merge`)."""
    missing = [f"{iid} ({log.status}: {log.error})" for iid, log in logs.instances.items() if log.summary is None]
    if missing:
        # A log that lacks an instance's lines would make a video it took look never received: unknown instead.
        raise ProbeError("ssm", "error", f"no worker log from {', '.join(missing)}")
    return merge({iid: log.summary for iid, log in logs.instances.items() if log.summary is not None})[0]
