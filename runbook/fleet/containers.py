"""The worker container's state from ``docker ps -a`` as a person reads it (the default table format).

The user data prints that table at the end of boot (``video_worker_user_data.sh:47``) and the fleet's
read-only command prints it again now. Docker's status column reads ``Up 4 seconds``, ``Up 2 hours
(healthy)``, ``Restarting (1) 2 seconds ago``, ``Exited (1) 3 minutes ago``, ``Created``, ``Dead`` or
``Removal In Progress`` (Docker CLI, runtime): columns are separated by at least two blanks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

State = Literal["running", "restarting", "exited", "created", "dead", "absent", "other"]

_HEADER: Final = re.compile(r"CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES")
_STATUS: Final = re.compile(
    r"(?:^|\s{2,})(?P<status>Up\b.*?|Restarting \((?P<rcode>-?\d+)\).*?ago|Exited \((?P<code>-?\d+)\).*?ago"
    r"|Created|Dead|Removal In Progress)(?=\s{2,}|$)"
)
_STATES: Final[dict[str, State]] = {"Up": "running", "Restarting": "restarting", "Exited": "exited"}


@dataclass(frozen=True)
class ContainerState:
    """``state`` from the status column; ``status`` as Docker printed it; ``absent`` when no row names it."""

    state: State
    status: str
    exit_code: int | None

    @property
    def up(self) -> bool:
        return self.state == "running"


ABSENT: Final = ContainerState("absent", "", None)


def parse_docker_ps(text: str, name: str) -> ContainerState | None:
    """The state of container ``name`` in the last ``docker ps -a`` table of ``text``; ``None`` when ``text``
    holds no such table, :data:`ABSENT` when the table has no row for ``name``."""
    lines = text.replace("\r\n", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if _HEADER.search(line)]
    if not starts:
        return None
    row_end = re.compile(r"\s" + re.escape(name) + r"\s*$")
    for line in lines[starts[-1] + 1 :]:
        if _HEADER.search(line):
            break
        if not row_end.search(line):
            continue
        body = line[: row_end.search(line).start()]  # type: ignore[union-attr]
        match = _STATUS.search(body)
        if match is None:
            return ContainerState("other", " ".join(body.split()[-3:]), None)
        status = match.group("status").strip()
        word = status.split(" ", 1)[0]
        if status == "Created":
            return ContainerState("created", status, None)
        if status in ("Dead", "Removal In Progress"):
            return ContainerState("dead", status, None)
        code = match.group("code") or match.group("rcode")
        if word == "Up" and "(Paused)" in status:
            return ContainerState("other", status, None)
        return ContainerState(_STATES.get(word, "other"), status, int(code) if code is not None else None)
    return ABSENT
