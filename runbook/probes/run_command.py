"""The fleet's worker logs through SSM Run Command: one bounded, read-only command per instance.

Opt-in (``--asg-logs ssm``): the only probe that sends something other than a read. It sends exactly
:func:`runbook.fleet.command.logs_command` (``docker ps`` and ``docker logs``), once per instance, through the read-only
guard's one door (:func:`runbook.guard_commands.allow_run_command`), then only reads the answers
(``ssm:GetCommandInvocation``) until each instance answered or the deadline passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from runbook.canary import poll
from runbook.fleet.command import DOCUMENT, EXECUTION_TIMEOUT, logs_command
from runbook.guard_commands import allow_run_command
from runbook.probes._aws import AwsClient, call, client_timeout
from runbook.probes.errors import ProbeError, from_boto

#: Invocation states after which nothing changes any more.
TERMINAL: Final = frozenset({"Success", "Failed", "Cancelled", "TimedOut", "Undeliverable", "Terminated"})
#: SendCommand's delivery timeout: AWS's minimum (an instance whose agent does not pick it up by then is
#: ``Undeliverable``/``TimedOut``; the suite stops waiting at its own deadline anyway).
_DELIVERY_TIMEOUT: Final = 30
_COMMENT: Final = "runbook: read-only worker log (docker ps, docker logs)"


@dataclass(frozen=True)
class Invocation:
    instance_id: str
    status: str  # an SSM invocation status, or "no-answer" when the deadline passed first
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


@dataclass(frozen=True)
class CommandRun:
    """The command as sent (``command`` is the exact shell text) and each instance's answer."""

    command_id: str  # one per instance, comma-separated
    document: str
    command: str
    invocations: Mapping[str, Invocation]


def send_logs_command(
    ssm: AwsClient, instance_ids: Sequence[str], *, container: str, since_seconds: float, deadline: float
) -> CommandRun:
    """Send the log command to each of ``instance_ids`` (one ``SendCommand`` per instance: one instance whose
    agent is not registered fails alone) and wait at most ``deadline`` seconds for the answers."""
    ids = sorted(set(instance_ids))
    command = logs_command(container, since_seconds)
    sent: dict[str, str] = {}
    answers: dict[str, Invocation] = {}
    for iid in ids:
        try:
            sent[iid] = _send(ssm, iid, command)
        except ProbeError as exc:
            if exc.kind == "denied":
                raise  # the run's identity lacks a permission: that, not one instance, is what to report
            answers[iid] = Invocation(iid, f"error: {exc}", "", "")

    def collect() -> bool | None:
        for iid, command_id in sent.items():
            if iid not in answers:
                found = _invocation(ssm, command_id, iid)
                if found is not None and (found.status in TERMINAL or found.status.startswith("error")):
                    answers[iid] = found
        return True if len(answers) == len(ids) else None

    if sent:
        poll(collect, deadline, 0.5)
    for iid in ids:
        answers.setdefault(iid, Invocation(iid, "no-answer", "", ""))
    return CommandRun(",".join(sent.values()), DOCUMENT, command, answers)


def _send(ssm: AwsClient, instance_id: str, command: str) -> str:
    """One ``SendCommand`` of exactly ``command`` to one instance, through the guard's one door."""
    with allow_run_command(DOCUMENT, [command], [instance_id], EXECUTION_TIMEOUT):
        try:
            response = ssm.send_command(
                DocumentName=DOCUMENT,
                InstanceIds=[instance_id],
                Parameters={"commands": [command], "executionTimeout": [str(EXECUTION_TIMEOUT)]},
                TimeoutSeconds=_DELIVERY_TIMEOUT,
                Comment=_COMMENT,
            )
        except Exception as exc:
            raise from_boto(exc, "ssm", timeout=client_timeout(ssm)) from exc
    return str((response.get("Command") or {}).get("CommandId", ""))


def _invocation(ssm: AwsClient, command_id: str, instance_id: str) -> Invocation | None:
    try:
        response = call(ssm, "get_command_invocation", "ssm", CommandId=command_id, InstanceId=instance_id)
    except ProbeError as exc:
        if exc.code == "InvocationDoesNotExist":
            return None  # not registered yet, right after SendCommand (AWS is eventually consistent here)
        if exc.kind == "denied":
            raise
        return Invocation(instance_id, f"error: {exc}", "", "")
    return Invocation(
        instance_id,
        str(response.get("Status", "")),
        str(response.get("StandardOutputContent") or ""),
        str(response.get("StandardErrorContent") or ""),
    )
