"""What an instance's boot output (``ec2:GetConsoleOutput``) says about its worker container.

The real user data (academy-backend 3bc9f472f, ``infra/worker_asg/user_data/video_worker_user_data.sh``) runs
under ``set -e`` (line 4) and prints into cloud-init's output, which reaches the serial console:

- line 26: ``aws ecr get-login-password ... | docker login ... --password-stdin "$ECR"``: a failure ends the
  script there (no image, no container, no end line);
- lines 32-44: up to three ``docker run`` tries, each failure echoed as ``docker run attempt $i failed,
  retrying in 10s...`` (line 42); after the third the loop ends without a container;
- line 47: ``docker ps -a`` (the container table at the end of boot); line 48: ``Video worker user data done``,
  printed even when all three tries failed.

The echo texts below are the script's own (code). The ECR, Docker and cloud-init texts are the tools'
(runtime, not in the repository): AWS CLI ``An error occurred (Code) when calling the GetAuthorizationToken
operation``, Docker CLI ``Cannot perform an interactive login from a non TTY device`` (an empty password on
stdin) and ``no basic auth credentials``, cloud-init ``Failed to run module scripts[-_]user`` / ``Failed running
/var/lib/cloud/instance/scripts/...`` (the user-data script exited non-zero). Each is searched anywhere in a
line: the console prefixes cloud-init's lines with kernel times and ``cloud-init[pid]:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from runbook.fleet.containers import ContainerState, parse_docker_ps

#: video_worker_user_data.sh:42 and :48, verbatim (``$i`` is 1, 2 or 3).
ATTEMPT_FAILED: Final = re.compile(r"docker run attempt (\d) failed, retrying in 10s\.\.\.")
DONE: Final = "Video worker user data done"
#: The loop's last try (``for i in 1 2 3``, line 32): its failure leaves no container.
LAST_ATTEMPT: Final = 3
_ECR_LOGIN: Final = re.compile(
    r"when calling the GetAuthorizationToken operation"
    r"|Cannot perform an interactive login from a non TTY device"
    r"|no basic auth credentials"
)
_SCRIPT_FAILED: Final = re.compile(
    r"Failed to run module scripts[-_]user|Failed running /var/lib/cloud/instance/scripts/"
)
#: Lines kept as evidence are cut to this length (a console line can be long; the report shows one).
_EVIDENCE_CHARS: Final = 240

Outcome = Literal["ok", "docker-run-failed", "ecr-login-failed", "boot-script-failed", "unfinished", "no-output"]
#: Outcomes that are boot failures, each a cause of the ``worker-process`` layer.
FAILURES: Final[frozenset[str]] = frozenset({"docker-run-failed", "ecr-login-failed", "boot-script-failed"})


@dataclass(frozen=True)
class BootReport:
    """One instance's boot, as its console output tells it.

    ``outcome``: ``ok`` (end line, a try succeeded), one of :data:`FAILURES`, ``unfinished`` (no end line and
    no failure: still booting, or the output stops early) or ``no-output`` (the console is empty).
    """

    outcome: Outcome
    done: bool
    failed_attempts: tuple[int, ...]
    evidence: str  # the line that decided (empty for ``ok`` and ``no-output``)
    container_at_boot: ContainerState | None  # from the ``docker ps -a`` the script prints at its end


def read_boot(console: str, container: str = "academy-video-worker") -> BootReport:
    """Classify a console output; never raises. ``container`` is the name the user data runs."""
    text = console.replace("\r\n", "\n")
    if not text.strip():
        return BootReport("no-output", False, (), "", None)
    lines = text.split("\n")
    done = any(DONE in line for line in lines)
    attempts: list[int] = []
    last_attempt_line = ""
    login_line = script_line = ""
    for line in lines:
        match = ATTEMPT_FAILED.search(line)
        if match:
            attempts.append(int(match.group(1)))
            last_attempt_line = line
        elif not login_line and _ECR_LOGIN.search(line):
            login_line = line
        elif not script_line and _SCRIPT_FAILED.search(line):
            script_line = line
    table = parse_docker_ps(text, container) if done else None
    failed = tuple(attempts)
    if LAST_ATTEMPT in attempts:
        return BootReport("docker-run-failed", done, failed, _cut(last_attempt_line), table)
    if login_line and not done:
        return BootReport("ecr-login-failed", done, failed, _cut(login_line), None)
    if script_line and not done:
        return BootReport("boot-script-failed", done, failed, _cut(script_line), None)
    if done:
        return BootReport("ok", True, failed, "", table)
    return BootReport("unfinished", False, failed, _cut(last_attempt_line), None)


_CONSOLE_PREFIX: Final = re.compile(r"^\[\s*\d+\.\d+\]\s*(?:cloud-init\[\d+\]:\s*)?")


def _cut(line: str) -> str:
    """The line without the console's kernel time and ``cloud-init[pid]:`` prefix, on one line, bounded."""
    line = " ".join(_CONSOLE_PREFIX.sub("", line).split())
    return line if len(line) <= _EVIDENCE_CHARS else line[: _EVIDENCE_CHARS - 1] + "…"
