"""The ASG deployment as production runs it: the worker's env in SSM, instances that boot from user data.

The real instances (academy-backend 3bc9f472f, ``infra/worker_asg/user_data/video_worker_user_data.sh``) read
the SecureString parameter ``/academy/workers/env`` into ``/opt/academy/.env`` (errors swallowed, line 23), log
in to ECR and pull (``set -e``: a failure ends the script), try ``docker run --env-file`` up to three times and
print ``docker ps -a`` and an end line. The stand-in account holds the same parameter (moto SSM).

:class:`Fleet` (``plan.fleet_size`` instances) boots each moto instance of the group the same way: it really
reads the parameter (with the instance's keys), writes the instance's console, and runs one stand-in worker per
instance whose output is kept as Docker's json-file driver keeps it. Boot faults (``plan.boot_faults``) change
one instance's boot. :mod:`reference.stack.fleet_standin` serves the consoles and containers to the suite.
Without a fleet, the group's first instance is registered as the host of the stack's own worker.

The console texts here are the stand-in's own, written from the real script; the suite's patterns live in
``runbook.fleet.boot``. Neither imports the other (tests compare both with the real lines).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reference.stack import aws as awsmod
from reference.stack import media
from reference.stack.clients import StackClients
from reference.stack.processes import ManagedProcess, python_env

Stack = StackClients  # the running stack (stack.py imports this module: imports run one way)

#: The parameter name in the real user data (line 23) and the region it reads it in.
WORKER_ENV_PARAMETER = "/academy/workers/env"
ECR = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
IMAGE = f"{ECR}/academy-video-worker:latest"
#: Boot faults an instance can have (``plan.boot_faults``: instance index -> fault).
BOOT_FAULTS = ("docker-run-failed", "ecr-login-failed", "env-file-empty")


def env_file_text(env: dict[str, str]) -> str:
    """The parameter's value: ``KEY=VALUE`` lines, as the real parameter holds the shared env file."""
    return "".join(f"{key}={value}\n" for key, value in sorted(env.items()))


def publish_worker_env(stack: Stack) -> None:
    """Put the worker's environment into the account's SSM parameter (SecureString, the default key)."""
    stack.client("ssm").put_parameter(
        Name=WORKER_ENV_PARAMETER,
        Value=env_file_text(stack.worker_env),
        Type="SecureString",
        Overwrite=True,
        Description="academy workers' env file (stand-in of the real /academy/workers/env)",
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _instances(stack: Stack) -> list[str]:
    group = stack.aws.asg()
    return sorted(i["InstanceId"] for i in group.get("Instances", []) if i.get("LifecycleState") == "InService")


def serve(stack: Stack, directory: Path) -> None:
    """Point the moto server's fleet stand-in at ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"dir": str(directory)}).encode()
    req = urllib.request.Request(f"{stack.aws.url}/stand-in/fleet", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as response:
        response.read()


# --- the console ----------------------------------------------------------------------------------------------


class Console:
    """An instance's serial console: kernel lines, then cloud-init's copy of the user data's output."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        self.clock = 58.0
        self.pid = 1600 + int(instance_id[-3:], 16) % 300
        self.lines = [
            "[    0.000000] Linux version 6.1.79-99.167.amzn2023.aarch64 (mockbuild@ip-10-0-55-146) #1 SMP",
            f"[   12.410027] cloud-init[{self.pid - 50}]: Cloud-init v. 22.2.2 running 'init' at {_now()}.",
        ]

    def say(self, *texts: str) -> None:
        for text in texts:
            for line in text.split("\n"):
                self.clock += 0.37
                self.lines.append(f"[{self.clock:12.6f}] cloud-init[{self.pid}]: {line}")

    def docker_ps(self, row: str | None) -> None:
        self.say("CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS     NAMES")
        if row:
            self.say(row)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "console.txt").write_text("\n".join(self.lines) + "\n")


def _boot_prologue(console: Console) -> None:
    console.say("Last metadata expiration check: 0:00:12 ago.", "Dependencies resolved.", "Complete!")


def _ecr_login_refused(console: Console) -> None:
    role = f"arn:aws:sts::123456789012:assumed-role/academy-video-worker-role/{console.instance_id}"
    console.say(
        "\nAn error occurred (AccessDeniedException) when calling the GetAuthorizationToken operation: User: "
        f"{role} is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no "
        "identity-based policy allows the ecr:GetAuthorizationToken action",
        "Error: Cannot perform an interactive login from a non TTY device",
    )
    console.lines.append(
        f"[{console.clock + 0.2:12.6f}] cloud-init[{console.pid}]: 2026-02-20 05:03:11,123 - cc_scripts_user.py"
        "[WARNING]: Failed to run module scripts-user (scripts in /var/lib/cloud/instance/scripts)"
    )


def _docker_run_refused(console: Console) -> None:
    for attempt in (1, 2, 3):
        console.say(
            "docker: Error response from daemon: failed to create task for container: failed to create shim "
            "task: OCI runtime create failed: cannot allocate memory: unknown.",
            f"docker run attempt {attempt} failed, retrying in 10s...",
        )


def _ps_row(container_id: str, name: str) -> str:
    return f'{container_id[:12]}   {IMAGE}   "python -m apps.work…"   1 second ago   Up Less than a second   {name}'


def _end(console: Console) -> None:
    console.say("Video worker user data done")
    console.lines.append(f"[{console.clock + 0.1:12.6f}] cloud-init[{console.pid}]: Cloud-init v. 22.2.2 finished")


# --- the container and its log --------------------------------------------------------------------------------


class ContainerProcess(ManagedProcess):
    """A worker in the role of an instance's container: its output goes to a Docker json-file log (each line
    with its write time) and to a plain copy; ``container.json`` says its state (running, then restarting
    when it exits on its own, as ``--restart unless-stopped`` makes it, or exited when stopped)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], directory: Path, container: str) -> None:
        super().__init__(name, argv, env, directory / "worker.log")
        self.directory = directory
        self.container = container
        self.json_log = directory / "container.log"
        self.state_file = directory / "container.json"
        self.stopping = False
        self._pump: threading.Thread | None = None

    def start(self) -> ContainerProcess:
        from reference.stack.processes import _die_with_parent  # the same safety net as every stack child

        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._state(state="running", pid=self.proc.pid, id=secrets.token_hex(32), created=_now(), started=_now())
        self._pump = threading.Thread(target=self._copy, name=f"pump-{self.name}", daemon=True)
        self._pump.start()
        return self

    def _state(self, **changes: Any) -> None:
        data = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        data.update(name=self.container, image=IMAGE, log=str(self.json_log), format="json-file", **changes)
        self.state_file.write_text(json.dumps(data))

    def _copy(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.json_log, "a") as docker_log, open(self.log_path, "ab") as plain:
            for raw in self.proc.stdout:
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
                text = raw.decode("utf-8", "replace")
                docker_log.write(json.dumps({"log": text, "stream": "stderr", "time": stamp}) + "\n")
                docker_log.flush()
                plain.write(raw)
                plain.flush()
        code = self.proc.wait()
        self._state(state="exited" if self.stopping else "restarting", exit_code=code, finished=_now())

    def stop(self, timeout: float = 5.0) -> int | None:
        self.stopping = True
        code = super().stop(timeout)
        if self._pump is not None:
            self._pump.join(timeout=5)
        return code


# --- the fleet ----------------------------------------------------------------------------------------------------


class Fleet:
    """The group's InService instances, each booted like the real user data does it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.directory = stack.workdir / "fleet"
        self.workers: dict[str, ContainerProcess] = {}
        self.instance_ids: list[str] = []

    def boot(self) -> Fleet:
        serve(self.stack, self.directory)
        self.stack.wait_for(lambda: len(_instances(self.stack)) >= self.stack.plan.fleet_size, 30, "the fleet")
        self.instance_ids = _instances(self.stack)
        for index, iid in enumerate(self.instance_ids):
            self._boot_one(iid, self.stack.plan.boot_faults.get(index))
        return self

    def _read_parameter(self, fault: str | None) -> str:
        """``aws ssm get-parameter ... > .env 2>/dev/null || true``: a refused read leaves the file empty."""
        keys = awsmod.Keys(*awsmod.INVALID_AWS_KEYS) if fault == "env-file-empty" else None
        try:
            ssm = self.stack.aws.client("ssm", keys=keys)
            return str(ssm.get_parameter(Name=WORKER_ENV_PARAMETER, WithDecryption=True)["Parameter"]["Value"])
        except Exception:
            return ""

    def _boot_one(self, iid: str, fault: str | None) -> None:
        console = Console(iid)
        _boot_prologue(console)
        env_text = self._read_parameter(fault)
        name = self.stack.worker_container_name
        if fault == "ecr-login-failed":
            _ecr_login_refused(console)
            console.write(self.directory / iid)
            return
        console.say("Login Succeeded", "latest: Pulling from academy-video-worker", f"Status: Downloaded {IMAGE}")
        if fault == "docker-run-failed":
            _docker_run_refused(console)
            console.docker_ps(None)
        else:
            worker = self._run_container(iid, env_text, name)
            console.say(json.loads(worker.state_file.read_text())["id"])
            console.docker_ps(_ps_row(json.loads(worker.state_file.read_text())["id"], name))
        _end(console)
        console.write(self.directory / iid)

    def _run_container(self, iid: str, env_text: str, name: str) -> ContainerProcess:
        """``docker run --env-file /opt/academy/.env -e DJANGO_SETTINGS_MODULE=... -e EC2_IDLE_STOP_THRESHOLD=0``."""
        env = {}
        for line in env_text.split("\n"):
            key, sep, value = line.lstrip().partition("=")
            if sep and key and not key.startswith("#"):
                env[key] = value
        env.update(DJANGO_SETTINGS_MODULE="apps.api.config.settings.worker", EC2_IDLE_STOP_THRESHOLD="0")
        env.update(self.stack.plan.worker_switches)
        bin_dir = media.make_bin_dir(self.stack.workdir / "bin", mode=self.stack.plan.ffmpeg)
        penv = python_env(env, path_prefix=[str(bin_dir)], repo_root=self.stack.repo_root)
        argv = [sys.executable, "-m", "reference.video_worker", f"--rehearsal={self.stack.instance}:{iid}"]
        worker = ContainerProcess(f"worker-{iid}", argv, penv, self.directory / iid, name).start()
        self.workers[iid] = worker
        return worker

    def log_text(self) -> str:
        return "".join(w.log_text() for w in self.workers.values())

    def running(self) -> bool:
        return any(w.alive() for w in self.workers.values())

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop(timeout=3)


def register_host(stack: Stack) -> None:
    """Without a fleet: the group's first InService instance booted well and runs the stack's own worker, a
    process (its plain log) or a container (Docker's own json-file log, as ``docker logs`` reads it)."""
    directory = stack.workdir / "fleet"
    serve(stack, directory)
    ids = _instances(stack)
    worker = stack.worker
    if isinstance(worker, ManagedProcess):
        pid, log, log_format, cid = worker.pid, str(worker.log_path), "plain", "c0ffee" * 10 + "beef"
    elif getattr(worker, "container", None) is not None:  # reference.stack.containers.WorkerContainer
        worker.container.reload()
        attrs = worker.container.attrs
        pid, log, log_format, cid = attrs["State"]["Pid"], attrs["LogPath"], "json-file", attrs["Id"]
    else:
        return
    if not ids:
        return
    iid = ids[0]
    console = Console(iid)
    _boot_prologue(console)
    console.say("Login Succeeded", f"Status: Downloaded {IMAGE}", cid)
    console.docker_ps(_ps_row(cid[:12], stack.worker_container_name))
    _end(console)
    console.write(directory / iid)
    state = {
        "name": stack.worker_container_name,
        "image": IMAGE,
        "id": cid,
        "state": "running",
        "pid": pid,
        "created": _now(),
        "started": _now(),
        "log": log,
        "format": log_format,
    }
    (directory / iid / "container.json").write_text(json.dumps(state))
