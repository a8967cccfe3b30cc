"""The "production" the safety proofs point ``pytest -m live`` at, the live run itself, and snapshots.

``production_stack()`` builds a hermetic ``Stack("embedded")`` in the state of a bad night: video 111 encoded
(READY, progress in Redis), then the worker stopped (CONTRACT row 1, ``worker-stopped``) so video 222's job waits
visible in the queue, a stale lock on 222 (row 14, ``stale-lock``), video 444's job in the DLQ (row 23,
``dlq-not-empty``), and one job in flight, received once by "another worker" with an hour's visibility.
Nothing consumes the queue afterwards, so the state stands still until something changes it.

``run_live()`` runs the real suite in a subprocess with the API's environment, as an operator would.
``snapshot()`` is everything a live run can see: moto's full backend state for SQS (bodies, receive
counts, visibility), the ASG and its instances, the Lambda and the rule; the R2 bucket's objects; every
Redis key with its value (DUMP) and expiry time; every database row.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._live import pytest_argv
from reference.stack.live import PIPELINE_ENV_PREFIXES

ROOT = Path(__file__).resolve().parents[2]
#: A developer's shell must not leak into the "API environment" of a run.
CLEAR_PREFIXES = (*PIPELINE_ENV_PREFIXES, "DOCKER_HOST")
#: Plugins the live suite does not use; hypothesis alone costs ~2 s of start-up per run.
LEAN = ("no:hypothesispytest", "no:benchmark", "no:xdist", "no:randomly")
VIDEO_IDS = (111, 222)
IN_FLIGHT_VIDEO = 555
WORKER_WAIT_TIME = 1


@dataclass
class Production:
    """A running stand-in for production and the environments an operator would use against it."""

    stack: Any
    api_env: dict[str, str]
    worker_env: dict[str, str]
    video_ids: tuple[int, ...] = VIDEO_IDS


@contextmanager
def production_stack(workdir: Path) -> Iterator[Production]:
    from reference.stack import FAULTS, Stack
    from reference.stack.clients import LOCK_KEY

    stack = Stack("embedded", workdir=workdir)
    # A short long-poll: a stopped worker's last ReceiveMessage is still pending in moto and would take the
    # next message sent; with 1 s it is over before the state below is made.
    stack.plan.worker_env["VIDEO_WORKER_WAIT_TIME"] = str(WORKER_WAIT_TIME)
    with stack:
        stack.scenario.run()  # healthy: 111 uploaded, encoded, READY, progress 100
        stack.stop_worker()  # row 1 from here on: nothing consumes the queue
        time.sleep(WORKER_WAIT_TIME + 0.5)  # the dead worker's pending long poll ends (not observable)
        sqs = stack.sqs()
        body = {
            "video_id": IN_FLIGHT_VIDEO,
            "file_key": "tenants/1/video/raw/1/555.mp4",
            "tenant_id": 1,
            "tenant_code": "academy",
            "created_at": "2026-01-01T00:00:00+00:00",
            "attempt": 1,
        }
        sqs.send_message(QueueUrl=stack.aws.queue_url, MessageBody=json.dumps(body))
        held = sqs.receive_message(QueueUrl=stack.aws.queue_url, VisibilityTimeout=3600, WaitTimeSeconds=1)
        assert held.get("Messages"), "could not put a message in flight"
        stack.scenario.upload(222)
        stack.scenario.complete(222)  # the API enqueues; the job waits visible
        stack.wait_for(lambda: stack.queue_counts() == {"visible": 1, "in_flight": 1}, 15, "222 visible, 555 in flight")
        FAULTS["dlq-not-empty"].inject(stack)  # 444's job in the DLQ
        stack.redis().set(LOCK_KEY.format(id=222), "1", ex=4 * 3600)  # row 14's stale lock
        yield Production(stack=stack, api_env=dict(stack.api_env), worker_env=dict(stack.worker_env))


# -- the live run ------------------------------------------------------------------------------------------


@dataclass
class LiveRun:
    """One ``pytest -m live ...`` subprocess and everything it wrote."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    directory: Path
    verdict: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def layers(self) -> dict[str, str]:
        return dict((self.verdict or {}).get("layers", {}))

    def checks(self, layer: str | None = None) -> list[dict[str, Any]]:
        return [c for c in (self.verdict or {}).get("checks", []) if layer is None or c["layer"] == layer]

    def layer_text(self, layer: str) -> str:
        """Every message of the layer's checks, one per line (what an operator reads for that layer)."""
        return "\n".join(f"{c['outcome']}: {c['message']}" for c in self.checks(layer))

    def everything(self) -> dict[str, str]:
        """Terminal output and every file the run wrote (HTML, verdict.json, JUnit XML), by name."""
        return {"terminal": self.output, **self.files}

    def tail(self, chars: int = 4000) -> str:
        return f"exit {self.returncode} in {self.elapsed:.1f}s\n{self.output[-chars:]}"


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAR_PREFIXES)}
    env.update(extra or {})
    return env


def write_env_file(path: Path, env: Mapping[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())), encoding="utf-8")
    return path


def live_args(
    prod: Production | None,
    directory: Path,
    marker: str,
    *,
    worker_env: Mapping[str, str] | None = None,
    worker_log: str | None = None,
    api_log: str | None = None,
    video_ids: Sequence[int] | None = None,
    timeout: float = 2.0,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line of a live run against ``prod`` (or nothing), reports in ``directory``."""
    worker_env_file: Path | None = None
    worker_process: str | None = None
    worker_container: str | None = None
    if prod is not None:
        env = dict(prod.worker_env if worker_env is None else worker_env)
        worker_env_file = write_env_file(directory / "worker.env", env)
        worker_process = prod.stack.worker_process_pattern
        worker_container = f"academy-video-worker-{prod.stack.instance}"
        worker_log = worker_log or str(prod.stack.worker_log)
        api_log = api_log or str(prod.stack.api_log)
        video_ids = prod.video_ids if video_ids is None else video_ids
    return pytest_argv(
        directory,
        *extra,
        plugins=LEAN,
        marker=f"live and {marker}",
        worker_env_file=worker_env_file,
        worker_log=worker_log or None,
        api_log=api_log or None,
        worker_process=worker_process,
        worker_container=worker_container,
        video_ids=video_ids or None,
        timeout=timeout,
    )


def run_live(
    prod: Production | None,
    directory: Path,
    marker: str = "local",
    *,
    api_env: Mapping[str, str] | None = None,
    process_env: Mapping[str, str] | None = None,
    limit: float = 120.0,
    **options: Any,
) -> LiveRun:
    """Run ``pytest -m "live and <marker>"`` against ``prod`` with the API's environment; wait for it."""
    directory.mkdir(parents=True, exist_ok=True)
    args = live_args(prod, directory, marker, **options)
    token = {"RUNBOOK_API_TOKEN": prod.stack.api_token} if prod is not None else {}
    env = base_env(
        {**(prod.api_env if prod is not None and api_env is None else (api_env or {})), **token, **(process_env or {})}
    )
    started = time.monotonic()
    try:
        proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, errors="replace", timeout=limit)
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as hung:  # killed: reported as a run that never finished
        returncode, stdout, stderr = -9, _text(hung.stdout), _text(hung.stderr) + f"\n[killed after {limit:.0f}s]"
    elapsed = time.monotonic() - started
    run = LiveRun(args, returncode, stdout, stderr, elapsed, directory)
    for name in ("verdict.json", "report.html", "junit.xml"):
        path = directory / name
        if path.exists():
            run.files[name] = path.read_text(encoding="utf-8", errors="replace")
    if "verdict.json" in run.files:
        run.verdict = json.loads(run.files["verdict.json"])
    return run


# -- snapshots ---------------------------------------------------------------------------------------------

#: moto models a live run could change (and that nothing else changes while the worker is stopped). IAM and
#: STS are left out: moto, like AWS, records a key's last use on every signed request, reads included.
_MOTO_MODELS = {
    "sqs": ("Queue", "Message"),
    "autoscaling": ("FakeAutoScalingGroup", "FakeScalingPolicy", "LifecycleHook"),
    "awslambda": ("LambdaFunction", "Permission", "EventSourceMapping"),
    "events": ("Rule", "EventBus"),
    "ec2": ("Instance",),
    "cloudwatch": ("Alarm",),
    "s3": ("FakeBucket", "FakeKey"),
}


#: Fields moto computes from the clock when it dumps (``visible`` from ``visible_at``): not state.
_CLOCK_FIELDS = frozenset({"visible", "delayed"})


def moto_state(url: str) -> dict[str, Any]:
    """``GET /moto-api/data.json``: the server's backend state, reduced to the models above.

    SQS messages keep body, receive count, receipt handles and ``visible_at`` (what a receive or a visibility
    change alters); moto keeps deleted ones too, so a delete shows as well.
    """
    with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=30) as response:
        data = json.loads(response.read())
    state: dict[str, Any] = {}
    for service, models in _MOTO_MODELS.items():
        for model in models:
            items = data.get(service, {}).get(model)
            if not items:
                continue
            cleaned = [
                {k: v for k, v in item.items() if k not in _CLOCK_FIELDS} if isinstance(item, dict) else item
                for item in items
            ]
            if model == "Message":  # by id, so that a diff names the message
                state[f"{service}.{model}"] = {f"{m.get('id')}#{i}": m for i, m in enumerate(cleaned)}
            else:
                state[f"{service}.{model}"] = cleaned
    return state


def redis_state(stack: Any) -> dict[str, Any]:
    """Every key of every database: type, DUMP of the value, absolute expiry (ms; -1 never)."""
    client = stack.redis_service.client(0)
    state: dict[str, Any] = {}
    try:
        dbs = [int(name[2:]) for name in client.info("keyspace")] or [0]
    finally:
        client.close()
    for db in dbs:
        c = stack.redis_service.client(db)
        try:
            for key in sorted(c.scan_iter(count=1000)):
                try:
                    expiry = c.execute_command("PEXPIRETIME", key)
                except Exception:
                    pttl = c.pttl(key)
                    expiry = pttl if pttl < 0 else round((time.time() * 1000 + pttl) / 1000)
                dumped = c.dump(key)
                state[f"db{db}:{key.decode(errors='replace')}"] = {
                    "type": c.type(key).decode(),
                    "dump": dumped.hex() if dumped else None,
                    "expiry": expiry,
                }
        finally:
            c.close()
    return state


def database_state(stack: Any) -> dict[str, Any]:
    """Every row of every table of the stack's database (PostgreSQL, or a SQLite file)."""
    with stack.db() as conn:
        if conn.kind == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        else:
            query = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        tables = [row[0] for row in conn.execute(query)]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}


def bucket_state(stack: Any) -> list[tuple[str, int, str, str]]:
    s3 = stack.s3()
    objects: list[tuple[str, int, str, str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="academy-video"):
        objects += [(o["Key"], o["Size"], o["ETag"], o["LastModified"].isoformat()) for o in page.get("Contents", [])]
    return sorted(objects)


def snapshot(prod: Production) -> dict[str, Any]:
    """Everything a live run can see on its target, in comparable form."""
    stack = prod.stack
    return {
        "aws": moto_state(stack.aws.url),
        "r2": moto_state(stack.r2.url),
        "r2.objects": bucket_state(stack),
        "redis": redis_state(stack),
        "database": database_state(stack),
    }


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Readable paths where two snapshots differ (empty: identical)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in after:
                out.append(f"{path}/{key}: removed")
            elif key not in before:
                out.append(f"{path}/{key}: added {str(after[key])[:200]}")
            else:
                out += differences(before[key], after[key], f"{path}/{key}")
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            label = b.get("name") or b.get("id") or i if isinstance(b, dict) else i
            out += differences(b, a, f"{path}[{label}]")
        return out
    return [] if before == after else [f"{path}: {str(before)[:200]} -> {str(after)[:200]}"]


# -- dead dependencies -------------------------------------------------------------------------------------

#: Every dependency of a live run, as the issue lists them: the AWS endpoint (SQS, STS, ASG, Lambda, rules),
#: the R2 (S3 API) endpoint, Redis, the database, the API, the Docker socket.
DEPENDENCIES = ("aws", "r2", "redis", "database", "api", "docker")
#: What a dead dependency is called in the messages (``ProbeError.dependency``).
NAMES = {
    "aws": ("sqs", "sts", "cloudwatch"),
    "r2": ("r2",),
    "redis": ("redis",),
    "database": ("database",),
    "api": ("api",),
    "docker": ("docker",),
}
#: Layers with checks that need the dependency (local and docker deployments); every other layer must be
#: judged exactly as with everything up.
LAYERS_OF = {
    "aws": {"queue", "credentials", "visibility"},
    "r2": {"credentials"},
    "redis": {"progress", "stuck-video"},
    "database": {"progress", "stuck-video", "worker-config"},  # worker-config: the parity check reads identities
    "api": {"progress"},
    "docker": {"worker-process"},
}
#: The deployment marker under which the dependency is probed (the Docker engine: docker deployments).
MARKER = {"docker": "docker"}
#: Interpreter and plugin start-up, the report, a loaded 2-core machine: 15 s, or what a run with everything
#: up costs on this machine right now plus 5 s, if that is more (other jobs share the cores). Still well below
#: timeout x the checks that need one dependency (up to 8). SAFETY_SLACK overrides the 15 s.
SLACK = float(os.environ.get("SAFETY_SLACK", "15"))


def time_bound(baseline: LiveRun, timeout: float) -> float:
    """How long a live run with a dead dependency may take: its timeout (once) plus the slack."""
    return timeout + max(SLACK, baseline.elapsed + 5)


def slowness(run: LiveRun, baseline: LiveRun, timeout: float) -> str | None:
    """Why ``run`` took too long, or None."""
    limit = time_bound(baseline, timeout)
    if run.elapsed <= limit:
        return None
    return f"took {run.elapsed:.1f}s > {limit:.1f}s (everything up: {baseline.elapsed:.1f}s)\n{run.tail()}"


def point_at(dependency: str, host: str, port: int) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(API env, worker env, process env) overrides that send ``dependency`` to ``host:port``."""
    where = f"{host}:{port}"
    if dependency == "aws":
        return {"AWS_ENDPOINT_URL": f"http://{where}"}, {"AWS_ENDPOINT_URL": f"http://{where}"}, {}
    if dependency == "r2":
        return {"R2_ENDPOINT": f"http://{where}"}, {"R2_ENDPOINT": f"http://{where}"}, {}
    if dependency == "redis":
        redis = {"REDIS_HOST": host, "REDIS_PORT": str(port)}
        return redis, dict(redis), {}
    if dependency == "database":
        url = {"DATABASE_URL": f"postgresql://academy:db-password@{where}/academy"}
        return url, dict(url), {}
    if dependency == "api":
        return {"API_BASE_URL": f"http://{where}"}, {}, {}
    if dependency == "docker":
        return {}, {}, {"DOCKER_HOST": f"tcp://{where}"}
    raise ValueError(dependency)


def run_with_dead(
    prod: Production,
    directory: Path,
    dependencies: Sequence[str],
    host: str,
    port: int,
    marker: str,
    timeout: float,
    limit: float = 120.0,
) -> LiveRun:
    """A live run against ``prod`` with ``dependencies`` pointed at ``host:port``."""
    api_env, worker_env, process_env = dict(prod.api_env), dict(prod.worker_env), {}
    for dependency in dependencies:
        api, worker, process = point_at(dependency, host, port)
        api_env.update(api)
        worker_env.update(worker)
        process_env.update(process)
    return run_live(
        prod,
        directory,
        marker,
        api_env=api_env,
        worker_env=worker_env,
        process_env=process_env,
        timeout=timeout,
        limit=limit,
    )


def judged_without(
    run: LiveRun, baseline: LiveRun, dead: Sequence[str], kind: str, named: Sequence[str] | None = None
) -> list[str]:
    """What is wrong with a run that had ``dead`` dependencies (empty: nothing).

    - it finished with a verdict, no traceback;
    - each dead dependency is named, with ``kind`` ("timeout", "unreachable"), by a check of its layers,
      and none of those layers is ``ok``; a check of those layers that passed with everything up and no
      longer passes says so because of a dead dependency, not for another reason;
    - every other layer is judged exactly as with everything up.

    ``named``: the dead dependencies that must be named (default: all; the progress endpoint, for one, is
    only asked about videos that the database says are READY).
    """
    if run.verdict is None:
        return [f"no verdict.json: {run.tail()}"]
    problems = [f"a traceback in the output: {run.tail()}"] if "Traceback" in run.output else []
    dead_names = [name for dependency in dead for name in NAMES[dependency]]
    before = {c["nodeid"]: c["outcome"] for c in baseline.checks()}
    affected = set().union(*(LAYERS_OF[d] for d in dead)) & set(baseline.layers)
    for dependency in dead if named is None else named:
        layers = LAYERS_OF[dependency] & set(baseline.layers)
        naming = [
            c
            for c in run.checks()
            if c["layer"] in layers
            and c["outcome"] != "passed"
            and any(f"{name}: {kind}" in c["message"] for name in NAMES[dependency])
        ]
        if layers and not naming:
            problems.append(f"{dependency}: no check of {sorted(layers)} says '{NAMES[dependency][0]}: {kind}'")
    for layer in affected:
        if run.layers.get(layer) == "ok":
            problems.append(f"layer {layer} is 'ok' although it could not be checked")
        for check in run.checks(layer):
            lost = before.get(check["nodeid"]) == "passed" and check["outcome"] != "passed"
            if lost and not any(f"{name}: " in check["message"] for name in dead_names):
                problems.append(f"{check['nodeid']} {check['outcome']} for another reason: {check['message']}")
    for layer, state in baseline.layers.items():
        if layer not in affected and run.layers.get(layer) != state:
            problems.append(
                f"layer {layer}: {run.layers.get(layer)} (with everything up: {state})\n"
                f"{run.layer_text(layer)}\n--- with everything up:\n{baseline.layer_text(layer)}"
            )
    return problems


def check_durations(run: LiveRun) -> dict[str, float]:
    """Seconds each check took (JUnit XML ``time``: setup, call and teardown), by the verdict's node ids."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(run.files["junit.xml"])
    return {
        f"{str(case.get('classname')).replace('.', '/')}.py::{case.get('name')}": float(case.get("time") or 0)
        for case in root.iter("testcase")
    }
