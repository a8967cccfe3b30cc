"""The read-only guard's one door for SSM Run Command: exactly the fleet's log command, nothing else.

``ssm:SendCommand`` is not a read, so :mod:`runbook.guard` refuses it in live runs, except inside
:func:`allow_run_command`: one ``SendCommand`` whose document, commands, execution timeout and instance ids are
exactly those allowed (no S3 or CloudWatch output, no notification, no role, no targets by tag) may pass, once.
The command itself is built by :func:`runbook.fleet.command.logs_command` and only reads (``docker ps``,
``docker logs``); any other command, a second send or another instance is refused as before.

Kept apart from :mod:`runbook.guard` (which imports this module) so that neither imports the other's callers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

#: The only keys a permitted ``SendCommand`` may carry.
_ALLOWED_KEYS: Final = frozenset({"DocumentName", "InstanceIds", "Parameters", "TimeoutSeconds", "Comment"})


@dataclass
class CommandAllowance:
    """``remaining`` more ``SendCommand`` calls of exactly this shape may pass."""

    document: str
    parameters: dict[str, list[str]]
    instance_ids: frozenset[str]
    remaining: int = 1
    used: int = 0

    def matches(self, params: Mapping[str, Any]) -> bool:
        if set(params) - _ALLOWED_KEYS or params.get("DocumentName") != self.document:
            return False
        if params.get("Parameters") != self.parameters:
            return False
        ids = params.get("InstanceIds")
        if not isinstance(ids, list) or not ids or not set(ids) <= self.instance_ids:
            return False
        return isinstance(params.get("TimeoutSeconds", 30), int)


_lock = threading.Lock()
_allowances: list[CommandAllowance] = []


def permits(params: Mapping[str, Any] | None) -> bool:
    """Whether an allowance covers this ``SendCommand`` (and use it up)."""
    if not params:
        return False
    with _lock:
        for allowance in _allowances:
            if allowance.remaining > 0 and allowance.matches(params):
                allowance.remaining -= 1
                allowance.used += 1
                return True
    return False


@contextmanager
def allow_run_command(
    document: str, commands: Sequence[str], instance_ids: Sequence[str], execution_timeout: int
) -> Iterator[CommandAllowance]:
    """``with allow_run_command("AWS-RunShellScript", [cmd], ids, 30): ssm.send_command(...)``: that one call."""
    allowance = CommandAllowance(
        document,
        {"commands": list(commands), "executionTimeout": [str(execution_timeout)]},
        frozenset(instance_ids),
    )
    with _lock:
        _allowances.append(allowance)
    try:
        yield allowance
    finally:
        with _lock:
            _allowances.remove(allowance)
