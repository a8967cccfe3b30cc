"""Your code around the hermetic stack: the rehearsal as the PR gate of the backend the runbook is about.

With :class:`UserCode` (pytest ``--db-setup-cmd``, ``--seed-cmd``, ``--enqueue-cmd``, ``--api-cmd``; the worker
is ``--worker-cmd`` / ``--worker-image``) a :class:`~reference.stack.stack.Stack` runs the user's programs
where it would run the stand-in API and schema:

1. services up as always (moto AWS + R2, Redis), PostgreSQL with an EMPTY database (no stand-in schema);
2. ``db_setup`` (their migrations own the schema), then ``api`` if given, told ``API_PORT`` / ``API_BASE_URL``;
3. the worker (``--worker-cmd``) with the same environment, in the same directory;
4. the flow (``reference.stack.hook_faults``): the generated clip uploaded to R2 at ``RUNBOOK_FILE_KEY``,
   ``seed`` prints the new video's id as its last stdout line, the fault's step (a stale lock, say), then
   ``enqueue`` (``{id}``, also ``RUNBOOK_VIDEO_ID``) whose output is appended to the API log the checks read;
5. the end state read from their schema: ``SELECT * FROM <video table> WHERE id = %s`` (``status``, and the
   playlist at ``hls_path`` in the bucket), the lock released, the queue drained.

Every command runs through ``sh -c`` (``cd backend && ...`` works) in the directory pytest started in, bounded
by ``timeout``. Its environment: the caller's own (PATH, HOME, what the user sets) minus every variable the
stack owns (``AWS_*``, ``R2_*``, ``REDIS_*``, ``DB_*``, ``DATABASE_URL`` ...: nothing reaches a real service),
plus the stack's. Output lands in ``<workdir>/hooks/``; a failed ``db_setup``, ``seed`` or ``api`` raises
:class:`HookFailed` with its tail. A failed ``enqueue`` does not: that is §6's to judge, from its output.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference.stack import aws as awsmod
from reference.stack.clients import StackClients
from reference.stack.plan import overlay
from reference.stack.processes import ManagedProcess, _die_with_parent, free_port, python_env, wait_for

Stack = StackClients  # the running stack (stack.py imports this module: imports run one way)

FILE_KEY_VAR = "RUNBOOK_FILE_KEY"  # the uploaded clip's key in the R2 bucket, for --seed-cmd
VIDEO_ID_VAR = "RUNBOOK_VIDEO_ID"  # the video being enqueued, for --enqueue-cmd (beside {id})
#: Variables the stack sets for the programs it runs; the caller's own values never reach them.
OWNED_PREFIXES = ("AWS_", "R2_", "REDIS_", "DB_")
OWNED_NAMES = frozenset(
    {
        "DATABASE_URL",
        "VIDEO_SQS_QUEUE_NAME",
        "API_BASE_URL",
        "API_PORT",
        "INTERNAL_WORKER_TOKEN",
        "PYTHONPATH",  # set to the caller's own below, never to this suite's checkout
        FILE_KEY_VAR,
        VIDEO_ID_VAR,
    }
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")
TAIL_LINES = 25
_STDOUT_MARK = "--- stdout ---"  # in a hook's log, between what it wrote to stderr and to stdout


class HookFailed(RuntimeError):
    """One of the user's commands failed (exit code, timeout, no id printed): the rehearsal cannot go on."""


@dataclass(frozen=True)
class UserCode:
    """The user's commands (shell text) and where their data lives."""

    seed: str
    enqueue: str
    db_setup: str | None = None
    api: str | None = None
    timeout: float = 600.0
    cwd: Path = field(default_factory=Path.cwd)
    video_table: str = "video_video"
    lock_key: str = "job:encode:{id}:lock"

    def __post_init__(self) -> None:
        if not _IDENT.match(self.video_table):
            raise ValueError(f"--video-table {self.video_table!r} is not a table name (schema.table at most)")
        if "{id}" not in self.lock_key or "{tenant}" in self.lock_key:
            raise ValueError(f"--lock-key {self.lock_key!r}: the rehearsal sets it by {{id}} alone")
        if self.timeout <= 0:
            raise ValueError("--hook-timeout must be positive")

    def commands(self) -> dict[str, str]:
        """Option name -> command, for the report."""
        named = {
            "--db-setup-cmd": self.db_setup,
            "--api-cmd": self.api,
            "--seed-cmd": self.seed,
            "--enqueue-cmd": self.enqueue,
        }
        return {name: cmd for name, cmd in named.items() if cmd}


def code_of(stack: Stack) -> UserCode:
    assert stack.app is not None, "a stack without the user's code"
    return stack.app


# --- environment ------------------------------------------------------------------------------------


def owned(name: str) -> bool:
    return name.startswith(OWNED_PREFIXES) or name in OWNED_NAMES


def user_env(exported: Mapping[str, str], caller: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a user's program: the caller's own variables minus those the stack owns, then
    ``exported`` (the stack's services, a clean PATH/HOME/locale from ``python_env``). PYTHONPATH is the
    caller's: this suite's checkout has no business on the user's import path."""
    caller = os.environ if caller is None else caller
    env = {k: v for k, v in caller.items() if not owned(k)}
    env.update({k: v for k, v in exported.items() if k != "PYTHONPATH"})
    if caller.get("PYTHONPATH"):
        env["PYTHONPATH"] = caller["PYTHONPATH"]
    return env


def hook_env(stack: Stack, **extra: str) -> dict[str, str]:
    """What every hook sees: the API's environment as the stack exports it, the URL the API has (or would
    have) and its port, plus ``extra``."""
    exported = {**stack.api_env, "API_BASE_URL": stack.api_url, "API_PORT": str(_port(stack.api_url)), **extra}
    return user_env(python_env(exported))


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


# --- running one command ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HookRun:
    option: str
    command: str
    returncode: int | None  # None: killed at the timeout
    seconds: float
    stdout: str
    log: Path


def run_hook(stack: Stack, option: str, command: str, *, extra: Mapping[str, str] | None = None) -> HookRun:
    """``sh -c COMMAND`` in the user's directory, bounded; stderr (and then stdout) kept in ``hooks/``."""
    code = code_of(stack)
    folder = stack.workdir / "hooks"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{len(list(folder.iterdir())) + 1:02d}{option.replace('-cmd', '').replace('--', '-')}.log"
    env = hook_env(stack, **(extra or {}))
    started = time.monotonic()
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            ["sh", "-c", command],
            cwd=code.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,  # its own group: a timeout stops the children (python, ffmpeg) too
            preexec_fn=_die_with_parent,
        )
        try:
            out, _ = proc.communicate(timeout=code.timeout)
            returncode: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            try:  # a child that left the group (its own session) may still hold the pipe: read what there is
                out, _ = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                out = b""
            returncode = None
        err.write((_STDOUT_MARK + "\n").encode() + out if out else b"")
    return HookRun(option, command, returncode, time.monotonic() - started, out.decode(errors="replace"), log)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
            return


def failure(stack: Stack, run: HookRun, what: str | None = None) -> HookFailed:
    """The error a PR author reads: which option, how it ended, the command, the tail of its output."""
    how = what or (
        f"timed out after {run.seconds:.0f}s (--hook-timeout)"
        if run.returncode is None
        else f"exit {run.returncode} after {run.seconds:.1f}s"
    )
    return HookFailed(_headline(stack, f"{run.option} {how}: {run.command}", run.log) + "\n" + tail(stack, run.log))


def _headline(stack: Stack, what: str, log: Path) -> str:
    """One line (a verdict message keeps only the first): what failed and the last line it printed."""
    lines = _lines(log)
    stderr = lines[: lines.index(_STDOUT_MARK)] if _STDOUT_MARK in lines else lines
    # An error is printed on stderr, progress ("Applying ...") on stdout: prefer the last stderr line.
    last = next((line for line in reversed(stderr) if line.strip()), "") or next(
        (line for line in reversed(lines) if line.strip() and line != _STDOUT_MARK), ""
    )
    return what + (f" — last output: {_scrub(stack, last.strip())[:300]}" if last else " — no output")


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []


def tail(stack: Stack, path: Path, lines: int = TAIL_LINES) -> str:
    last = _lines(path)[-lines:]
    return f"output ({path}), last {len(last)} lines:\n" + _scrub(stack, "\n".join(last))


def _scrub(stack: Stack, text: str) -> str:
    """The stack's throwaway secrets still never appear in a report."""
    for name, value in stack.api_env.items():
        if value and any(word in name for word in ("SECRET", "PASSWORD", "TOKEN")):
            text = text.replace(value, "***")
    password = getattr(stack.database, "password", "")
    return text.replace(password, "***") if password else text


# --- the steps ---------------------------------------------------------------------------------------


def start(stack: Stack) -> None:
    """In place of the stand-in API: the API environment, the user's migrations, the user's API server."""
    code = code_of(stack)
    stack.api_env = overlay(stack._service_env(), stack.plan.api_env)
    stack.api_url = f"http://127.0.0.1:{free_port()}"
    stack.api_log = str(stack.workdir / "api.log")
    Path(stack.api_log).touch()
    if code.db_setup:
        run = run_hook(stack, "--db-setup-cmd", code.db_setup)
        if run.returncode != 0:
            raise failure(stack, run)
    if code.api:
        _start_api(stack, code.api, code.timeout)
        stack.api_env["API_BASE_URL"] = stack.api_url  # only a running API is the judge's to ask


def _start_api(stack: Stack, command: str, timeout: float) -> None:
    env = hook_env(stack)
    api = ManagedProcess("api", ["sh", "-c", command], env, Path(stack.api_log), cwd=code_of(stack).cwd).start()
    stack.api = api
    port = _port(stack.api_url)

    def listening() -> bool:
        if not api.alive():
            raise HookFailed(f"--api-cmd exited with code {api.returncode} before listening on {stack.api_url}")
        with socket.socket() as sock:
            sock.settimeout(1.0)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, timeout, f"--api-cmd to listen on {stack.api_url} (API_PORT={port})", interval=0.2)
    except TimeoutError as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, HookFailed) else None
        log = Path(stack.api_log)
        raise HookFailed(_headline(stack, f"{cause or exc}: {command}", log) + "\n" + tail(stack, log)) from None


def upload_and_seed(stack: Stack, n: int) -> int:
    """Put the generated clip in the bucket, then the user's seed creates its UPLOADED row: the id."""
    key = f"uploads/rehearsal-{stack.instance}/{n}/source.mp4"
    stack.s3().upload_file(
        str(stack.make_clip(3)), awsmod.BUCKET, key, ExtraArgs={"ContentType": "video/mp4"}
    )  # as the browser's presigned PUT would
    run = run_hook(stack, "--seed-cmd", code_of(stack).seed, extra={FILE_KEY_VAR: key})
    if run.returncode != 0:
        raise failure(stack, run)
    lines = [line.strip() for line in run.stdout.splitlines() if line.strip()]
    if not lines or not re.fullmatch(r"\d+", lines[-1]):
        got = repr(lines[-1][:80]) if lines else "nothing"
        raise failure(stack, run, f"printed {got} as its last stdout line, not the new video's id")
    return int(lines[-1])


def enqueue(stack: Stack, video_id: int) -> tuple[int, dict[str, Any]]:
    """The user's enqueue path for one video; its output joins the API log. Not fatal when it fails: the
    log then says so (``Failed to enqueue video job``, a 503), and §6 judges it."""
    command = code_of(stack).enqueue.replace("{id}", str(video_id))
    run = run_hook(stack, "--enqueue-cmd", command, extra={VIDEO_ID_VAR: str(video_id)})
    with open(stack.api_log, "ab") as api_log:
        api_log.write(run.log.read_bytes().replace((_STDOUT_MARK + "\n").encode(), b""))
    state = "timed out" if run.returncode is None else f"exit {run.returncode}"
    return (-1 if run.returncode is None else run.returncode), {"enqueue-cmd": state, "log": str(run.log)}


# --- reading the user's schema -----------------------------------------------------------------------


def video_row(stack: Stack, video_id: int) -> dict[str, Any] | None:
    """The row of ``video_id`` in the user's video table, by column name; None when absent."""
    import psycopg
    from psycopg import sql

    table = sql.Identifier(*code_of(stack).video_table.split("."))
    with psycopg.connect(stack.database.url, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(sql.SQL("SELECT * FROM {} WHERE id = %s").format(table), (video_id,))
        row = cur.fetchone()
        names = [column.name.lower() for column in cur.description or ()]
    return None if row is None else dict(zip(names, row, strict=True))


def video_status(stack: Stack, video_id: int) -> str | None:
    row = video_row(stack, video_id)
    return None if row is None else str(row.get("status"))


def encoded(stack: Stack, video_id: int) -> bool:
    """READY, with its master playlist in the bucket (at ``hls_path`` when the table has one, else any)."""
    row = video_row(stack, video_id)
    if row is None or row.get("status") != "READY":
        return False
    key = row.get("hls_path")
    if key:
        return stack.get_object(str(key)).startswith(b"#EXTM3U")
    return any(k.endswith(".m3u8") for k in stack.bucket_keys())


def lock_held(stack: Stack, video_id: int) -> bool:
    return bool(stack.redis().exists(code_of(stack).lock_key.format(id=video_id)))


# --- the report ----------------------------------------------------------------------------------------


def describe(stack: Stack) -> dict[str, str]:
    """What the report's services block says about the user's part."""
    code = code_of(stack)
    api = (
        f"your --api-cmd, {stack.api_url}"
        if code.api
        else f"none (no --api-cmd): §7's progress route is not judged (unknown); API_BASE_URL={stack.api_url}"
        " is only what the worker is told"
    )
    return {
        "api": api,
        "database": stack.database.describe() + f"; empty, schema by {'--db-setup-cmd' if code.db_setup else 'none'}",
        "your code": "; ".join(f"{name} {cmd}" for name, cmd in code.commands().items()) + f" (in {code.cwd})",
    }


def worker_cmdline(pid: int | None) -> str | None:
    """The program a worker command became (a script that ``exec``s python): its /proc command line."""
    if not pid:
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    parts: Sequence[str] = [p.decode(errors="replace") for p in raw.rstrip(b"\0").split(b"\0") if p]
    return " ".join(parts) or None
