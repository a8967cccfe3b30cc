"""The one read-only command each instance runs for the suite (SSM Run Command), and how its answer is read.

The worker's log lives on each instance's disk (Docker's default json-file driver: the real user data gives
``docker run`` no ``--log-driver``, video_worker_user_data.sh:34-39). The command prints the container's row
of ``docker ps -a`` and the window of ``docker logs --timestamps`` (Docker's own UTC write time before each
line: comparable across instances whatever the container's time zone), filtered to the lines the runbook
reads and cut to its last bytes: ``GetCommandInvocation`` returns only the first 24,000 characters of
standard output (AWS, runtime), so the newest lines are the ones kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from runbook.fleet.containers import ContainerState, parse_docker_ps
from runbook.logs import GREP_PATTERN, LogSummary, summarize

DOCUMENT: Final = "AWS-RunShellScript"
#: Seconds the command may run on the instance (the document's ``executionTimeout``).
EXECUTION_TIMEOUT: Final = 30
#: ``GetCommandInvocation``'s ``StandardOutputContent`` holds the first 24,000 characters of stdout.
OUTPUT_LIMIT: Final = 24_000
#: Bytes of log kept by ``tail -c``: the table and the log together stay under :data:`OUTPUT_LIMIT`.
LOG_BYTES: Final = 22_000
_PS_HEADER: Final = re.compile(r"CONTAINER ID\s+IMAGE\s+COMMAND")


def _window(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def logs_command(container: str, since_seconds: float) -> str:
    """The exact shell command sent to every instance: reads only (``docker ps``, ``docker logs``)."""
    name = container.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ValueError(f"not a container name: {container!r}")
    return (
        f"docker ps -a --filter 'name=^{name}$' 2>&1; "
        f"docker logs --timestamps --since {_window(since_seconds)} {name} 2>&1 "
        f"| grep -E '{GREP_PATTERN}' | tail -c {LOG_BYTES}"
    )


@dataclass(frozen=True)
class InstanceLog:
    """What one instance answered: the Run Command status, the container now, its log summary."""

    instance_id: str
    status: str  # Success, Failed, TimedOut, Undeliverable, ... or "no-answer" (the deadline passed)
    container: ContainerState | None  # None: no ``docker ps`` table in the answer
    summary: LogSummary | None  # None: nothing usable came back
    truncated: bool  # the answer filled the output limit: older lines are missing
    error: str  # why nothing usable came back (empty when it did)


def read_answer(instance_id: str, status: str, stdout: str, stderr: str, container: str) -> InstanceLog:
    """Read one instance's answer; never raises."""
    if status != "Success" and not stdout.strip():
        detail = " ".join(stderr.split())[:200]
        return InstanceLog(instance_id, status, None, None, False, detail or status)
    lines = stdout.replace("\r\n", "\n").split("\n")
    header = next((i for i, line in enumerate(lines) if _PS_HEADER.search(line)), None)
    state = parse_docker_ps("\n".join(lines[: header + 2]), container.lstrip("/")) if header is not None else None
    if header is None or state is None:
        # No ``docker ps`` table: Docker did not answer (or the command did not run as sent): nothing to judge.
        first = next((" ".join(line.split()) for line in lines if line.strip()), "") or " ".join(stderr.split())
        return InstanceLog(instance_id, status, None, None, False, first[:200] or "no docker ps output")
    body = lines[header + (1 if state.state == "absent" else 2) :]
    log_lines = [line for line in body if line]
    # ``tail -c`` printed exactly LOG_BYTES when it cut: its first line may be a half line.
    truncated = len(stdout) >= OUTPUT_LIMIT - 1 or len("\n".join(body).encode()) >= LOG_BYTES - 1
    if truncated and log_lines:
        log_lines = log_lines[1:]
    summary = summarize(log_lines, source=f"ssm:{instance_id}")
    return InstanceLog(instance_id, status, state, summary, truncated, "")


def hand_command(region: str | None, instance_ids: list[str], command: str) -> str:
    """How an operator runs the same command without the suite: a shell on each instance (Session Manager)."""
    targets = ", ".join(instance_ids) or "<instance-id>"
    return (
        f"aws ssm start-session --region {region or '<region>'} --target <instance-id>  "
        f"# 인스턴스마다 ({targets}) 셸에서 / on each instance: {command}"
    )


@dataclass(frozen=True)
class FleetLogs:
    """The command as sent (document, exact shell text, command id) and each instance's answer, read."""

    document: str
    command: str
    command_id: str
    instances: dict[str, InstanceLog]
