"""A live run against a hermetic stack, every network dependency behind a proxy of ours.

Used by ``bench.live_parallel`` (each proxy adds latency) and ``bench.dead_dependency`` (one proxy is a
black hole). The stack is the rehearsal's embedded stand-in; what runs against it is the *live* suite: a
``Target`` built like ``pytest -m live`` builds it (the API's environment, a worker env file, log files),
with ``AWS_ENDPOINT_URL``, ``R2_ENDPOINT``, ``REDIS_PORT`` and ``API_BASE_URL`` rewritten to the proxies.
SQLite is a local file: the embedded database has no network hop to slow down.

Each measurement runs in a fresh child process (``python -m bench._evidence_run``), cold as an on-call
engineer's run is: boto3 sessions, service models and connections are all paid inside the timing.

``pytest_argv`` is the one command line of a ``pytest checks`` subprocess, shared with the self-tests
(``tests/live``, ``tests/report``, ``tests/safety``): this module imports nothing heavy at import time.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench._common import ROOT, timed_run
from bench.latency_proxy import LatencyProxy

#: ``-p`` options of a benchmarked live run: one process and a fixed check order, as an on-call run has.
_LEAN = ("no:xdist", "no:randomly")
#: The dependencies a proxy can stand in front of, and the variable that points at each.
DEPENDENCIES = ("aws", "r2", "redis", "api")
_URL_VARS = {"aws": "AWS_ENDPOINT_URL", "r2": "R2_ENDPOINT", "api": "API_BASE_URL"}


def pytest_argv(
    reports: Path,
    *extra: str,
    target: str = "checks",
    plugins: Sequence[str] = ("no:xdist",),
    marker: str | None = None,
    html: str = "report.html",
    worker_env_file: Path | str | None = None,
    worker_log: Path | str | None = None,
    api_log: Path | str | None = None,
    worker_process: str | None = None,
    worker_container: str | None = None,
    video_ids: Iterable[int] | None = None,
    timeout: float | None = None,
) -> list[str]:
    """``python -m pytest <target> -q``, writing ``verdict.json``, ``html`` and ``junit.xml`` into ``reports``.

    ``plugins``: ``-p`` each; ``marker``: ``-m`` (``"live and local"``); the target's options that are not
    None; ``extra`` last, so that a caller's single-valued option given twice wins (``--worker-log`` and
    ``--api-log`` are repeatable: given again they add a source, so pass them as arguments). Values go as
    ``--opt=value``: a path outside the repository given as a separate word would steer pytest's rootdir guess.
    """
    argv = [sys.executable, "-m", "pytest", target, "-q"]
    for plugin in plugins:
        argv += ["-p", plugin]
    if marker is not None:
        argv += ["-m", marker]
    options = {
        "--worker-env-file": worker_env_file,
        "--worker-log": worker_log,
        "--api-log": api_log,
        "--worker-process": worker_process,
        "--worker-container": worker_container,
        "--video-id": None if video_ids is None else ",".join(str(v) for v in video_ids),
        "--runbook-timeout": None if timeout is None else f"{timeout:g}",
        "--runbook-json": reports / "verdict.json",
        "--html": reports / html,
        "--junitxml": reports / "junit.xml",
    }
    argv += [f"{name}={value}" for name, value in options.items() if value is not None]
    return [*argv, *extra]


@dataclass
class LiveSetup:
    """The stack, its proxies, and the files a live run reads (spec for children, worker env file)."""

    stack: Any
    workdir: Path
    proxies: dict[str, LatencyProxy] = field(default_factory=dict)
    api_env: dict[str, str] = field(default_factory=dict)
    worker_env_file: Path = Path()
    spec_file: Path = Path()
    timeout: float = 3.0

    def requests(self) -> dict[str, int]:
        return {name: proxy.requests for name, proxy in self.proxies.items()}


def _upstreams(env: dict[str, str]) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for name, var in _URL_VARS.items():
        if env.get(var):
            parts = urlsplit(env[var])
            found[name] = (parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80))
    if env.get("REDIS_HOST"):
        found["redis"] = (env["REDIS_HOST"], int(env.get("REDIS_PORT") or 6379))
    return found


def _rewrite(env: dict[str, str], routes: dict[tuple[str, int], int]) -> dict[str, str]:
    out = dict(env)
    for var in _URL_VARS.values():
        if out.get(var):
            parts = urlsplit(out[var])
            port = routes.get((parts.hostname or "", parts.port or 0))
            if port is not None:
                out[var] = urlunsplit((parts.scheme, f"127.0.0.1:{port}", parts.path, parts.query, parts.fragment))
    if out.get("REDIS_HOST"):
        port = routes.get((out["REDIS_HOST"], int(out.get("REDIS_PORT") or 6379)))
        if port is not None:
            out["REDIS_HOST"], out["REDIS_PORT"] = "127.0.0.1", str(port)
    return out


@contextmanager
def started_stack(workdir: Path | None = None) -> Iterator[Any]:
    """An embedded stack (``Stack("embedded")``) after the healthy encode flow ran."""
    from reference.stack import Stack

    with ExitStack() as exits:
        base = workdir or Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="bench-stack-")))
        stack = exits.enter_context(Stack("embedded", workdir=base / "stack"))
        stack.scenario.run()
        yield stack


@contextmanager
def proxied(stack: Any, delay: float, *, dead: str | None = None, timeout: float = 3.0) -> Iterator[LiveSetup]:
    """Proxies in front of every dependency of ``stack`` and the files of a live run through them.

    ``delay``: seconds each proxy adds per request. ``dead``: the one dependency whose proxy is a black
    hole (accepts connections, never answers). ``timeout``: the run's ``--runbook-timeout``.
    """
    from runbook.config import read_env_file

    with ExitStack() as exits:
        base = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="bench-live-")))
        worker_env = read_env_file(stack.worker_env_file)
        setup = LiveSetup(stack=stack, workdir=base)
        routes: dict[tuple[str, int], int] = {}
        for name, upstream in {**_upstreams(worker_env), **_upstreams(stack.api_env)}.items():
            proxy = LatencyProxy(upstream[1], delay, upstream_host=upstream[0], black_hole=(name == dead))
            setup.proxies[name] = exits.enter_context(proxy)
            routes[upstream] = proxy.port
        if dead is not None and dead not in setup.proxies:
            raise ValueError(f"no dependency {dead!r} to black-hole (have {sorted(setup.proxies)})")
        setup.api_env = _rewrite(stack.api_env, routes)
        setup.worker_env_file = base / "worker.proxied.env"
        setup.worker_env_file.write_text(
            "".join(f"{k}={v}\n" for k, v in sorted(_rewrite(worker_env, routes).items())), encoding="utf-8"
        )
        setup.timeout = timeout
        setup.spec_file = base / "live-spec.json"
        setup.spec_file.write_text(
            json.dumps(
                {
                    "api_env": setup.api_env,
                    "worker_env_file": str(setup.worker_env_file),
                    "worker_log": str(stack.worker_log),
                    "api_log": str(stack.api_log),
                    "worker_process": stack.worker_process_pattern,
                    "video_ids": list(stack.scenario.videos),
                    "timeout": timeout,
                }
            ),
            encoding="utf-8",
        )
        yield setup


def evidence_run(setup: LiveSetup, *, concurrent: bool = True) -> dict[str, Any]:
    """One cold ``Evidence`` run in a child process: ``{"wall", "timings", "errors"}``."""
    argv = [sys.executable, "-m", "bench._evidence_run", str(setup.spec_file)]
    if not concurrent:
        argv.append("--serial")
    _, proc = timed_run(argv, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"evidence child failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def pytest_live_run(
    setup: LiveSetup, tag: str, *, serial: bool = False, extra: Sequence[str] = ()
) -> tuple[float, dict[str, Any] | None, str]:
    """``pytest checks -m "live and local"`` as an on-call engineer runs it: (wall, verdict, output).

    ``serial``: load ``bench._serial_evidence``, which turns the evidence gatherer's concurrency off.
    The verdict is ``None`` with ``--collect-only`` in ``extra`` (start-up and collection only).
    """
    from reference.stack.live import PIPELINE_ENV_PREFIXES  # the shell's pipeline variables stay out

    stack = setup.stack
    env = {k: v for k, v in os.environ.items() if not k.startswith(PIPELINE_ENV_PREFIXES)}
    env.update(setup.api_env)
    out = setup.workdir / f"pytest-{tag}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "verdict.json").unlink(missing_ok=True)  # a repeated run must not read the last one's verdict
    plugins = ("bench._serial_evidence", *_LEAN) if serial else _LEAN
    argv = pytest_argv(
        out,
        *extra,
        plugins=plugins,
        marker="live and local",
        html="live.html",
        worker_env_file=setup.worker_env_file,
        worker_log=stack.worker_log,
        api_log=stack.api_log,
        worker_process=stack.worker_process_pattern,
        video_ids=stack.scenario.videos,
        timeout=setup.timeout,
    )
    wall, proc = timed_run(argv, env=env, cwd=ROOT, timeout=600)
    verdict_file = out / "verdict.json"
    if "--collect-only" in extra and proc.returncode == 0:
        return wall, None, proc.stdout + proc.stderr
    if not verdict_file.exists():
        raise RuntimeError(
            f"live pytest run wrote no verdict (exit {proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        )
    return wall, json.loads(verdict_file.read_text(encoding="utf-8")), proc.stdout + proc.stderr
