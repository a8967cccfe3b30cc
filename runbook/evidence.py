"""Evidence gathering: every probe of a run starts at once; checks then judge what came back.

A dead dependency therefore costs its timeout once per run, not once per check, and the whole run costs
about its slowest dependency. Each piece of evidence is a named task; a task may wait on another (the worker's
settings come from its container), so the pool has a thread per task and cannot starve itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from runbook import clients, secrets, worker_env
from runbook.config import ENV_NEEDED, SCALER_ENV_NEEDED, ConfigError, Side, log_zone, side_from_env
from runbook.findings import unknown
from runbook.fleet import evidence as fleet_evidence
from runbook.logs import LogSourceError, open_lines, parse_spec
from runbook.logs.multi import expand, summarize_sources
from runbook.probes import api as api_probe
from runbook.probes import asg, cloudwatch, database, docker_, process, r2, redis_, scaler, sqs, ssm, sts
from runbook.probes.errors import ProbeError
from runbook.target import Target

log = logging.getLogger(__name__)


#: pytest sets and then removes this variable around every test, in the main thread.
_PYTEST_VARIABLE = "PYTEST_CURRENT_TEST"


def _environ_race(exc: KeyError) -> bool:
    """True for the KeyError a task thread gets when it iterates ``os.environ`` (urllib's ``getproxies()``,
    called by botocore when it builds a client and by requests on every call) at the instant pytest removes
    ``PYTEST_CURRENT_TEST``: ``os.environ.items()`` lists the names first and reads each after. Nothing was
    wrong with the dependency; the task is run again once."""
    return exc.args == (_PYTEST_VARIABLE,)


def _probe_error(exc: BaseException | None) -> ProbeError | None:
    """A task's failure as a :class:`ProbeError` (a log source's too); anything else: None."""
    if isinstance(exc, LogSourceError):
        if exc.spec.startswith("cloudwatch:") and exc.reason.startswith("access denied"):
            # runbook.logs reads a cloudwatch: source with FilterLogEvents only.
            return ProbeError("log", "denied", str(exc), action="logs:FilterLogEvents")
        return ProbeError("log", "error", str(exc))
    return exc if isinstance(exc, ProbeError) else None


#: Newest lines read from one container at most (``docker logs --tail``); the window is --log-since.
DOCKER_MAX_LINES = 2_000_000


def permission_missing(key: str, error: ProbeError) -> None:
    """``unknown``: the identity that read ``key`` lacks ``error.action``. The worker's side is read with the
    worker's own keys (from its environment), every other key with the run's identity (docs/permissions)."""
    unknown(
        "permission-missing",
        dependency=error.dependency,
        action=error.action,
        who="워커의 자격 증명" if key.endswith(".worker") else "실행 계정",
        who_en="the worker's credentials" if key.endswith(".worker") else "the run's identity",
        error=error.detail,
    )


class NotConfigured(Exception):
    """The evidence needs a setting that was not given; the check is ``unknown``, never passed.

    ``reason``/``facts``: the unknown text to show (default ``not-configured`` naming the setting), e.g. the
    command to run by hand when the fleet's logs were not read."""

    def __init__(self, setting: str, reason: str = "not-configured", **facts: object) -> None:
        super().__init__(setting)
        self.setting = setting
        self.reason = reason
        self.facts: dict[str, object] = {"setting": setting, **facts}


Task = Callable[[], Any]

#: boto3's service-specific endpoint variables: a program that sets one talks to that endpoint for that
#: service, so the suite must look where the program looks (an API whose SQS endpoint is dead, say).
_SERVICE_ENDPOINT_VARS = {
    "sqs": "AWS_ENDPOINT_URL_SQS",
    "sts": "AWS_ENDPOINT_URL_STS",
    "autoscaling": "AWS_ENDPOINT_URL_AUTO_SCALING",
    "ec2": "AWS_ENDPOINT_URL_EC2",
    "lambda": "AWS_ENDPOINT_URL_LAMBDA",
    "events": "AWS_ENDPOINT_URL_EVENTBRIDGE",
    "cloudwatch": "AWS_ENDPOINT_URL_CLOUDWATCH",
    "logs": "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "ssm": "AWS_ENDPOINT_URL_SSM",
}


#: Keys that only some deployments read (§1 looks at the container, the processes or the group; 부록 B's
#: scaler exists only beside an ASG). A run for other deployments does not start them: a local run then sends
#: no request to the Auto Scaling, EC2, Lambda, EventBridge or Docker APIs, and builds none of their clients.
#: A check that still asks for one gets it computed on demand (``get``), never a wrong answer.
#: Evidence computed only when a check asks for it: it waits on purpose (two reads seconds apart).
_ON_DEMAND: frozenset[str] = frozenset({"videos.progress_moved"})
_DEPLOYMENT_ONLY: dict[str, str] = {
    "worker.container": "docker",
    "worker.processes": "local",
    "asg": "asg",
    "asg.instances": "asg",
    "asg.policies": "asg",
    "asg.activity": "asg",
    "asg.alarms": "asg",
    "scaler.lambda": "asg",
    "scaler.alt_lambda": "asg",
    "scaler.rule": "asg",
    "worker.env_ssm": "asg",
    "fleet": "asg",
    "fleet.logs": "asg",
}


class Evidence:
    """Named, lazily awaited probe results for one target."""

    def __init__(self, target: Target, *, concurrent: bool = True) -> None:
        self.target = target
        self.concurrent = concurrent
        self.timings: dict[str, float] = {}
        self._tasks: dict[str, Task] = self._plan()
        self._futures: dict[str, Future[Any]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        #: Refusals a probe survived (the rows read without the tenant join's table): (evidence key, error).
        self._refused: list[tuple[str, ProbeError]] = []

    # -- running ---------------------------------------------------------------------------------------

    def start(self) -> Evidence:
        """Start every task of the run's deployments now (or, with ``concurrent=False``, run them one by one
        as asked)."""
        if self.concurrent and self._pool is None:
            keys = self.started_keys()
            self._pool = ThreadPoolExecutor(max_workers=len(keys) + 1, thread_name_prefix="evidence")
            for key in keys:
                self._futures[key] = self._pool.submit(self._timed, key)
        return self

    def started_keys(self) -> list[str]:
        """What :meth:`start` starts: every key, but those only other deployments read. No deployment known
        (a library caller): every key."""
        deployments = set(self.target.deployments) | ({self.target.deployment} - {None})
        if not deployments:
            return [k for k in self._tasks if k not in _ON_DEMAND]
        return [k for k in self._tasks if _DEPLOYMENT_ONLY.get(k) in deployments | {None} and k not in _ON_DEMAND]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _timed(self, key: str) -> Any:
        started = time.monotonic()
        try:
            try:
                return self._tasks[key]()
            except KeyError as exc:
                if not _environ_race(exc):
                    raise
                return self._tasks[key]()  # the same read-only requests, once more
        finally:
            self.timings[key] = time.monotonic() - started

    def get(self, key: str) -> Any:
        """The value of ``key``; raises :class:`NotConfigured` or :class:`ProbeError` as the probe did."""
        if key not in self._tasks:
            raise KeyError(key)
        # A key nobody started is computed by its first caller; a second caller (a check, or a task in the
        # pool) waits for that answer instead of sending the same requests again.
        with self._lock:
            future = self._futures.get(key)
            first = future is None
            if future is None:
                future = self._futures[key] = Future()
        if first:
            try:
                future.set_result(self._timed(key))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def need(self, key: str) -> Any:
        """The value of ``key``, or :class:`~runbook.findings.Unknown` when it could not be had (a refused
        permission is named: ``permission-missing``)."""
        value, error = self.attempt(key)
        if error is not None:
            if error.action:
                permission_missing(key, error)
            unknown("probe-error", dependency=error.dependency, error=str(error), kind=error.kind)
        return value

    def denied(self) -> list[dict[str, str]]:
        """Every finished piece of evidence the platform refused, with the permission it names (in plan order):
        the report lists them even where no check needed that evidence this time."""
        found: list[dict[str, str]] = []
        for key in self._tasks:
            future = self._futures.get(key)
            if future is None or not future.done() or future.cancelled():
                continue
            error = _probe_error(future.exception())
            if error is not None and error.kind == "denied":
                found.append(
                    {"evidence": key, "dependency": error.dependency, "permission": error.action or error.detail}
                )
        with self._lock:
            survived = list(self._refused)
        for key, error in survived:
            row = {"evidence": key, "dependency": error.dependency, "permission": error.action or error.detail}
            if row not in found:
                found.append(row)
        return found

    def _survived(self, key: str, refused: list[ProbeError]) -> None:
        with self._lock:
            self._refused.extend((key, error) for error in refused)

    def attempt(self, key: str) -> tuple[Any, ProbeError | None]:
        """``(value, None)`` or ``(None, error)``; a missing setting is always ``Unknown``."""
        try:
            return self.get(key), None
        except NotConfigured as exc:
            unknown(exc.reason, **exc.facts)
        except (ProbeError, LogSourceError) as exc:
            return None, _probe_error(exc)

    def keys(self) -> list[str]:
        return list(self._tasks)

    # -- the plan --------------------------------------------------------------------------------------

    def _plan(self) -> dict[str, Task]:
        t = self.target
        plan: dict[str, Task] = {
            "worker.side": self._worker_side,
            "worker.env_ssm": self._env_parameter,
            "fleet": self._fleet,
            "fleet.logs": self._fleet_logs,
            "sqs.api": lambda: self._queue(t.api),
            "sqs.worker": lambda: self._queue(self.get("worker.side")),
            "sqs.dlq": self._dlq,
            "sts.api": lambda: self._identity(t.api),
            "sts.worker": lambda: self._identity(self.get("worker.side")),
            "r2.worker": self._r2,
            "redis.api": lambda: redis_.server_info(self._redis(t.api)),
            "redis.worker": lambda: redis_.server_info(self._redis(self.get("worker.side"))),
            "db.api": lambda: self._db_identity(t.api),
            "db.worker": lambda: self._db_identity(self.get("worker.side")),
            "videos": self._video_ids,
            "videos.rows": self._video_rows,
            "videos.keys": self._video_keys,
            "videos.progress": self._progress,
            "videos.progress_moved": self._progress_moved,
            "log.worker": lambda: self._log("worker", "--worker-log"),
            "log.api": lambda: self._log("api", "--api-log"),
            "worker.container": lambda: docker_.container(
                self._docker(), t.worker_container, keep_env=ENV_NEEDED, observe_env=secrets.register_env
            ),
            "worker.processes": lambda: process.find_processes(t.worker_process),
            "asg": lambda: asg.asg_info(self._aws(t.api, "autoscaling"), t.asg_name),
            "asg.instances": lambda: asg.running_instances(self._aws(t.api, "ec2"), t.worker_tag),
            "asg.policies": lambda: asg.scaling_policies(self._aws(t.api, "autoscaling"), t.asg_name),
            "asg.activity": lambda: asg.last_scaling_activity(self._aws(t.api, "autoscaling"), t.asg_name),
            "asg.alarms": lambda: asg.queue_alarms(self._aws(t.api, "cloudwatch"), t.api.queue_name),
            "scaler.lambda": lambda: self._lambda(t.scaler_lambda),
            "scaler.alt_lambda": lambda: self._lambda(t.alt_scaler_lambda),
            "scaler.rule": lambda: scaler.rule(self._aws(t.api, "events"), t.scaler_rule),
            # canary signals: the oldest message's age (a CloudWatch metric) and the stuck-video count (§9)
            "sqs.oldest_age": lambda: cloudwatch.oldest_message_age(self._aws(t.api, "cloudwatch"), t.api.queue_name),
            "videos.stuck": self._stuck_videos,
        }
        return plan

    # -- clients ---------------------------------------------------------------------------------------

    def _aws(self, side: Side, service: str, region: str | None = None) -> Any:
        region = region or side.region
        if region is None:
            raise NotConfigured(f"AWS_REGION ({side.name})")
        access, secret, token = side.aws_access_key, side.aws_secret_key, side.aws_session_token
        if side.name == "worker" and access is None:
            # boto3 would fall back to the suite's own credentials (the API's): a worker check signed with them
            # proves nothing about the worker's. Its instance role, if given, is assumed instead.
            access, secret, token = self._worker_role()
        return clients.aws_client(
            service,
            region=region,
            access_key=access,
            secret_key=secret,
            session_token=token,
            endpoint_url=side.env.get(_SERVICE_ENDPOINT_VARS.get(service, ""), "") or side.aws_endpoint_url,
            timeout=self.target.timeout,
        )

    def _worker_role(self) -> tuple[str, str, str]:
        """Temporary credentials of ``--worker-role-arn`` (one AssumeRole per run), else :class:`NotConfigured`."""
        arn = self.target.worker_role_arn
        if not arn:
            raise NotConfigured(
                "--worker-role-arn (the worker's environment has no AWS keys: its instance role signs its calls, "
                "and the suite will not check the worker with its own credentials)"
            )
        with self._lock:
            cached: tuple[str, str, str] | None = getattr(self, "_role_credentials", None)
        if cached is not None:
            return cached
        found = sts.assume_role(self._aws(self.target.api, "sts"), arn)
        secrets.register(found[1:])  # the temporary secret and session token are never printed
        with self._lock:
            self._role_credentials = found
        return found

    def _redis(self, side: Side) -> Any:
        if side.redis.host is None:
            raise NotConfigured(f"REDIS_HOST ({side.name})")
        r = side.redis
        return clients.redis_client(
            r.host,  # type: ignore[arg-type]
            r.port,
            r.password,
            r.db,
            self.target.timeout,
            username=r.username,
        )

    def _docker(self) -> Any:
        return clients.docker_client(self.target.timeout)

    def _db(self, side: Side) -> Any:
        if side.database.url is None:
            raise NotConfigured(f"DATABASE_URL or DB_HOST ({side.name})")
        return clients.db_connect(side.database.url, self.target.timeout)

    # -- tasks -----------------------------------------------------------------------------------------

    def _worker_side(self) -> Side:
        t = self.target
        env = t.worker_env
        source = "worker env: "
        if env is None and t.worker_env_ssm:
            env = dict(self.get("worker.env_ssm").env)
            source = f"SSM parameter {t.worker_env_ssm}: "
        if env is None and "docker" in t.deployments:
            env = self.get("worker.container").env
        if env is None and "local" in t.deployments:
            procs = self.get("worker.processes")
            if procs:
                env = process.process_env(procs[0].pid, keep=ENV_NEEDED, observe=secrets.register_env)
        if env is None:
            raise NotConfigured("--worker-env-file")
        try:
            return side_from_env(env, "worker", source)
        except ConfigError as exc:
            raise ProbeError("worker-env", "invalid", str(exc)) from None

    def _lambda(self, name: str) -> Any:
        # Its environment is reduced to what the checks read, inside the probe: the rest never is evidence.
        client = self._aws(self.target.api, "lambda")
        return scaler.lambda_function(client, name, keep_env=SCALER_ENV_NEEDED, observe_env=secrets.register_env)

    def _env_parameter(self) -> Any:
        """The SSM parameter the instances' user data writes the worker's env file from (asg)."""
        name = self.target.worker_env_ssm
        if not name:
            raise NotConfigured("--worker-env-ssm")
        parameter = ssm.env_parameter(
            self._aws(self.target.api, "ssm"), name, parse=worker_env.parse_env_file, keep=worker_env.keep_read
        )
        secrets.register_env(parameter.env)  # before anything could print one of them
        return parameter

    def _queue(self, side: Side) -> Any:
        # The region the program's queue client uses (AWS_REGION, else production's default), as it would.
        return sqs.queue_info(self._aws(side, "sqs", side.queue_region), side.queue_name)

    def _dlq(self) -> Any:
        info = self.get("sqs.api")
        if info.redrive_dlq_arn is None:
            return None
        return sqs.dlq_info(self._aws(self.target.api, "sqs"), info.redrive_dlq_arn)

    def _identity(self, side: Side) -> Any:
        if side.aws_access_key is None and side.aws_endpoint_url is None and side.region is None:
            raise NotConfigured(f"AWS_ACCESS_KEY_ID ({side.name})")
        return sts.caller_identity(self._aws(side, "sts"))

    def _r2(self) -> Any:
        side: Side = self.get("worker.side")
        if side.r2.endpoint is None:
            raise NotConfigured("R2_ENDPOINT (worker)")
        s3 = clients.aws_client(
            "s3",
            region="auto",
            access_key=side.r2.access_key,
            secret_key=side.r2.secret_key,
            endpoint_url=side.r2.endpoint,
            timeout=self.target.timeout,
        )
        return r2.bucket_access(s3, side.r2.bucket)

    def _db_identity(self, side: Side) -> Any:
        conn = self._db(side)
        try:
            return database.identity(conn)
        finally:
            conn.close()

    def _video_ids(self) -> tuple[int, ...]:
        t = self.target
        if t.video_ids:
            return t.video_ids
        conn = self._db(t.api)
        try:
            # Every stuck video, up to 10,000: §9 diagnoses them all in one table (a few round trips per 1,000).
            refused: list[ProbeError] = []
            rows = database.stuck_videos(conn, t.video_table, t.stuck_after, limit=10_000, refused=refused)
        finally:
            conn.close()
        self._survived("videos", refused)
        self._discovered = {row.id: row for row in rows}  # "videos.rows" needs not read them again
        return tuple(row.id for row in rows)

    def _video_rows(self) -> Any:
        ids = self.get("videos")
        discovered = getattr(self, "_discovered", None)
        if discovered is not None:
            return dict(discovered)
        conn = self._db(self.target.api)
        refused: list[ProbeError] = []
        try:
            return database.video_rows(conn, self.target.video_table, ids, refused=refused)
        finally:
            conn.close()
            self._survived("videos.rows", refused)

    def _tenants(self) -> dict[int, Any]:
        """Each video's tenant: the database row's (video → session → lecture → tenant), else the tenant the
        worker's log saw in its message (a row deleted since still has its keys)."""
        tenants: dict[int, Any] = {}
        try:
            worker_log = self.get("log.worker")
        except Exception:  # no log: the rows alone
            worker_log = None
        if worker_log is not None:
            for vid, timeline in worker_log.timelines.items():
                if timeline.tenant_id:
                    tenants[vid] = timeline.tenant_id
        try:
            rows = self.get("videos.rows")
        except Exception:  # the database is §9's own finding
            rows = {}
        for vid, row in rows.items():
            if row.tenant_id is not None:
                tenants[vid] = row.tenant_id
        return tenants

    def _video_keys(self) -> Any:
        t = self.target
        needs_tenant = "{tenant}" in t.lock_key + t.cancel_key
        return redis_.video_keys(
            self._redis(t.api),
            self.get("videos"),
            lock_key=t.lock_key,
            cancel_key=t.cancel_key,
            progress_key=None,  # §9 judges locks and cancel flags; progress is §7's (through the API)
            tenants=self._tenants() if needs_tenant else None,
        )

    def _progress_moved(self) -> Any:
        """§9's locked videos: did each one's progress key move between two reads (``redis_.progress_moves``)?
        Asked for only when the logs and the queue cannot tell whether a lock's holder still encodes."""
        from runbook.lock_holder import PROGRESS_INTERVAL_SECONDS

        t = self.target
        keys = self.get("videos.keys")
        locked = [vid for vid, k in keys.items() if k.lock_present]
        tenants = self._tenants() if "{tenant}" in t.progress_key else None
        return redis_.progress_moves(
            self._redis(t.api), locked, progress_key=t.progress_key, tenants=tenants, interval=PROGRESS_INTERVAL_SECONDS
        )

    def _progress(self) -> Any:
        t = self.target
        base = t.api.api_base_url
        if base is None:
            raise NotConfigured("API_BASE_URL")
        ids = self.get("videos")[:20]
        rows = self.get("videos.rows")
        answers = {}
        for vid in ids:
            row = rows.get(vid)
            tenant = t.api_tenant or (row.tenant_code if row is not None else None)
            headers = api_probe.headers(t.api_token, tenant)
            answers[vid] = api_probe.progress(base, vid, timeout=t.timeout, headers=headers, prefix=t.api_prefix)
        return answers

    def _stuck_videos(self) -> Any:
        """Every video stuck longer than ``--stuck-after`` (up to 1,000), whatever ``--video-id`` says."""
        conn = self._db(self.target.api)
        refused: list[ProbeError] = []
        try:
            t = self.target
            return database.stuck_videos(conn, t.video_table, t.stuck_after, limit=1000, refused=refused)
        finally:
            conn.close()
            self._survived("videos.stuck", refused)

    def _worker_env(self) -> Any:
        """The worker's environment if it can be had (for the zone of its log's timestamps), else ``None``."""
        try:
            side: Side = self.get("worker.side")
        except Exception:  # not configured or unreadable: the zone falls back, the log is still read
            return None
        return side.env

    def _fleet(self) -> Any:
        return fleet_evidence.fleet(self._aws(self.target.api, "ec2"), self.get("asg"), self.target.worker_container)

    def _fleet_logs(self) -> Any:
        t = self.target
        if t.asg_logs != "ssm":
            try:
                fleet = self.get("fleet")
            except (ProbeError, NotConfigured):
                fleet = None  # the command is printed without instance ids then
            raise NotConfigured("--asg-logs ssm", "fleet-logs-off", **fleet_evidence.hand_facts(t, fleet))
        return fleet_evidence.fleet_logs(self._aws(t.api, "ssm"), self.get("fleet"), t)

    def _log(self, side: str, option: str) -> Any:
        """One summary of every source of ``side`` (docker patterns expanded), their lines merged by time; on
        the asg deployment with no worker log given, each instance's ``docker logs`` (``--asg-logs ssm``)."""
        specs = self.target.log_specs(side)
        if not specs and side == "worker" and "asg" in self.target.deployments:
            return fleet_evidence.merged_log(self.get("fleet.logs"))
        if not specs:
            raise NotConfigured(option)
        for spec in specs:
            _check_text_file(spec)
        # Naive timestamps (a file of the real worker's lines) are read in the program's zone; docker's and
        # CloudWatch's own stamps carry theirs.
        explicit = self.target.log_timezone
        if explicit:
            zone, _ = log_zone(explicit, None)
        else:
            zone, _ = log_zone(None, self._worker_env() if side == "worker" else self.target.api.env)
        docker_client = self._docker() if any(s.startswith("docker:") for s in specs) else None
        logs_client = self._aws(self.target.api, "logs") if any(s.startswith("cloudwatch:") for s in specs) else None
        expanded = [name for spec in specs for name in expand(spec, docker_client, self.target.timeout)]
        # Remote sources hold weeks: read the last --log-since, newest first, bounded in lines/pages and time.
        # A file is read whole (a local read; its coverage says where it begins).
        since = datetime.now(UTC) - timedelta(seconds=self.target.log_since)
        budget = max(30.0, 10 * self.target.timeout)
        opened: list[Any] = []
        try:
            for spec in expanded:
                remote = spec.startswith(("docker:", "cloudwatch:"))
                opened.append(
                    open_lines(
                        spec,
                        timeout=self.target.timeout,
                        docker_client=docker_client,
                        logs_client=logs_client,
                        since=since if remote else None,
                        max_lines=DOCKER_MAX_LINES if spec.startswith("docker:") else None,
                        budget=budget if remote else None,
                    )
                )
            return summarize_sources(opened, source=", ".join(specs), tz=zone)
        finally:
            for lines in opened:
                lines.close()


#: Leading bytes of compressed files (a rotated ``worker.log.1.gz`` given by mistake).
_COMPRESSED: dict[bytes, str] = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")


def _check_text_file(spec: str) -> None:
    """A compressed or binary file parses as a log without a single event, and "no event" would let checks
    pass (nothing failed) or blame the worker (nothing received): say the log is unusable instead."""
    kind, path = parse_spec(spec)
    if kind != "file":
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except OSError:
        return  # open_lines names the problem (not found, a directory, permission)
    for magic, name in _COMPRESSED.items():
        if head.startswith(magic):
            raise LogSourceError(spec, f"a {name}-compressed file, not a text log: decompress it first")
    controls = sum(1 for byte in head if byte < 32 and byte not in _TEXT_CONTROLS)
    if head and controls > len(head) // 10:
        raise LogSourceError(spec, "a binary file, not a text log")
