"""What moto cannot answer about the fleet: an instance's console output and what a command prints on it.

moto 5.2 answers ``GetConsoleOutput`` with one fixed kernel log for every instance, and ``SendCommand`` /
``GetCommandInvocation`` with ``Success`` and empty output, since it runs nothing. This stand-in, loaded into the
stack's moto server process (:mod:`reference.stack.moto_server`), answers from a directory the stack controls
(``POST /stand-in/fleet`` with ``{"dir": ...}``; ``/moto-api/reset`` forgets it):

- ``<dir>/<instance-id>/console.txt``: that instance's console (the user data's output, as the stack's boot
  stand-in wrote it); an instance without one has an empty console (just launched);
- ``<dir>/<instance-id>/container.json``: the instance's ``academy-video-worker`` container (absent when the
  file is missing): its state and its log, a Docker json-file log or a plain one (the rehearsal's own worker).

A command is *emulated*, never run: only the runbook's read-only log command is understood (``docker ps -a
--filter``, ``docker logs --timestamps --since``, ``grep -E``, ``tail -c``, see ``runbook.fleet.command``);
anything else fails with exit code 127. The first ``GetCommandInvocation`` of each answer is ``InProgress``,
as AWS's is while the agent runs it. An instance without a directory is not managed by SSM (its agent never
registered): ``SendCommand`` to it fails with ``InvalidInstanceId``, as AWS's does.

moto's own checks run first (IAM auth, the instance and command exist); only the answer's content is replaced.
"""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_state: dict[str, Any] = {"dir": None, "seen": set()}
_lock = threading.Lock()

_LOG_COMMAND = re.compile(
    r"docker ps -a --filter 'name=\^(?P<ps>[A-Za-z0-9_.-]+)\$' 2>&1; "
    r"docker logs --timestamps --since (?P<since>\d+)(?P<unit>[smh]) (?P<name>[A-Za-z0-9_.-]+) 2>&1 "
    r"\| grep -E '(?P<pattern>[^']*)' \| tail -c (?P<bytes>\d+)"
)
_LEADING_TIME = re.compile(r"^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?")
_PS_HEADER = "CONTAINER ID   IMAGE                                 COMMAND                  CREATED          STATUS"


def set_dir(path: str | None) -> None:
    with _lock:
        _state["dir"] = Path(path) if path else None
        _state["seen"] = set()


def _instance_dir(instance_id: str) -> Path | None:
    base = _state["dir"]
    if base is None or not re.fullmatch(r"i-[0-9a-f]{8,17}", instance_id):
        return None
    return base / instance_id


# --- console ------------------------------------------------------------------------------------------------


def console_text(instance_id: str) -> str | None:
    """The console to answer with, or ``None`` when the stand-in is off (moto's own sample then)."""
    where = _instance_dir(instance_id)
    if where is None:
        return None
    path = where / "console.txt"
    return path.read_text(errors="replace") if path.exists() else ""


# --- commands -----------------------------------------------------------------------------------------------


def managed(instance_id: str) -> bool:
    """Whether the instance's SSM agent "registered" (the stand-in knows it); always true when off."""
    where = _instance_dir(instance_id)
    return _state["dir"] is None or (where is not None and where.is_dir())


def invocation(command_id: str, instance_id: str, commands: list[str]) -> dict[str, Any] | None:
    """Fields replacing moto's invocation answer (``None``: the stand-in is off)."""
    where = _instance_dir(instance_id)
    if where is None:
        return None
    with _lock:
        first = (command_id, instance_id) not in _state["seen"]
        _state["seen"].add((command_id, instance_id))
    if first:
        return {"Status": "InProgress", "StatusDetails": "InProgress", "ResponseCode": -1,
                "StandardOutputContent": "", "StandardErrorContent": ""}  # fmt: skip
    script = "\n".join(commands).strip()
    match = _LOG_COMMAND.fullmatch(script)
    if match is None:
        return {"Status": "Failed", "StatusDetails": "Failed", "ResponseCode": 127, "StandardOutputContent": "",
                "StandardErrorContent": "stand-in instance: only the runbook's log command is emulated"}  # fmt: skip
    out = _docker_ps(where, match["ps"]) + _docker_logs(where, match)
    return {"Status": "Success", "StatusDetails": "Success", "ResponseCode": 0,
            "StandardOutputContent": out[:24_000], "StandardErrorContent": ""}  # fmt: skip


def _container(where: Path, name: str) -> dict[str, Any] | None:
    path = where / "container.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data if data.get("name") == name else None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie (exited, not yet reaped by the stack) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _ago(stamp: str | None) -> str:
    if not stamp:
        return "About a minute ago"
    seconds = (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds()
    return f"{max(1, int(seconds))} seconds ago" if seconds < 60 else f"{int(seconds // 60)} minutes ago"


def _status(container: dict[str, Any]) -> str:
    """Docker's status column: from the container's recorded state, or from its process when it has one."""
    state = container.get("state", "running")
    if state == "running" and container.get("pid") and not _alive(container["pid"]):
        state = "exited"
    if state == "running":
        return f"Up {_ago(container.get('started')).removesuffix(' ago')}"
    code = container.get("exit_code", 1)
    if state == "restarting":
        return f"Restarting ({code}) {_ago(container.get('finished'))}"
    return f"Exited ({code}) {_ago(container.get('finished'))}"


def _docker_ps(where: Path, name: str) -> str:
    header = _PS_HEADER + "                    PORTS     NAMES\n"
    container = _container(where, name)
    if container is None:
        return header
    image = container.get("image", "academy-video-worker:latest")
    row = (
        f'{container.get("id", "c0ffee000000")[:12]}   {image}   "python -m apps.work…"   '
        f"{_ago(container.get('created'))}   {_status(container)}             {name}\n"
    )
    return header + row


def _docker_logs(where: Path, match: re.Match[str]) -> str:
    container = _container(where, match["name"])
    if container is None:
        lines = [f"Error response from daemon: No such container: {match['name']}"]
    else:
        seconds = int(match["since"]) * {"s": 1, "m": 60, "h": 3600}[match["unit"]]
        lines = list(_entries(container, datetime.now(UTC) - timedelta(seconds=seconds)))
    pattern = re.compile(match["pattern"])  # the runbook's grep -E pattern is also a Python pattern
    kept = "".join(line + "\n" for line in lines if pattern.search(line)).encode()
    return kept[-int(match["bytes"]) :].decode("utf-8", "replace")


def _entries(container: dict[str, Any], since: datetime) -> Any:
    """``<RFC3339Nano time> <line>`` for each log line written since ``since``, as ``docker logs -t`` prints."""
    path = Path(container.get("log", ""))
    if not path.is_file():
        return
    if container.get("format") == "json-file":
        for raw in path.read_text(errors="replace").splitlines():
            entry = json.loads(raw)
            when = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")[:26] + "+00:00")
            if when >= since:
                yield f"{entry['time']} {entry['log'].rstrip(chr(10))}"
        return
    # A plain log (the rehearsal's own worker): each line's own leading time stands for Docker's write time.
    last: datetime | None = None
    for line in path.read_text(errors="replace").splitlines():
        found = _LEADING_TIME.match(line)
        if found:
            last = datetime.fromisoformat(f"{found[1]}T{found[2]}.{(found[3] or '0')[:6]:0<6}+00:00")
        if last is not None and last >= since:
            yield f"{last.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {line}"


# --- installing it ------------------------------------------------------------------------------------------


def install() -> None:
    """Patch moto's console and Run Command answers (call once, in the moto server process)."""
    from moto.core.responses import ActionResult
    from moto.core.types import Base64EncodedString
    from moto.core.utils import utcnow
    from moto.ec2.responses.general import General
    from moto.ssm.exceptions import SSMException
    from moto.ssm.models import SimpleSystemManagerBackend

    original_console = General.get_console_output

    def get_console_output(self: Any) -> Any:
        answer = original_console(self)  # moto checks the instance exists
        text = console_text(self._get_param("InstanceId"))
        if text is None:
            return answer
        result = dict(answer.result)
        result.update(Timestamp=utcnow(), Output=Base64EncodedString.from_raw_string(text) if text else None)
        return ActionResult({k: v for k, v in result.items() if v is not None})

    original_send = SimpleSystemManagerBackend.send_command

    def send_command(self: Any, **kwargs: Any) -> Any:
        unmanaged = [iid for iid in kwargs.get("instance_ids") or [] if not managed(iid)]
        if unmanaged:
            raise SSMException(
                "InvalidInstanceId", f"Instances [{unmanaged}] not in a valid state for account {self.account_id}"
            )
        return original_send(self, **kwargs)

    original_invocation = SimpleSystemManagerBackend.get_command_invocation

    def get_command_invocation(self: Any, command_id: str, instance_id: str, plugin_name: str | None) -> Any:
        answer = dict(original_invocation(self, command_id, instance_id, plugin_name))
        commands = self.get_command_by_id(command_id).parameters.get("commands", [])
        replaced = invocation(command_id, instance_id, list(commands))
        if replaced is not None:
            answer.update(replaced)
        return answer

    General.get_console_output = get_console_output
    SimpleSystemManagerBackend.send_command = send_command
    SimpleSystemManagerBackend.get_command_invocation = get_command_invocation


def middleware(app: Any) -> Any:
    """``POST /stand-in/fleet`` points the stand-in at a directory; ``/moto-api/reset`` forgets it."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/stand-in/fleet" and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            set_dir(body.get("dir"))
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
        if path == "/moto-api/reset":
            set_dir(None)
        return app(environ, start_response)

    return wrapped
