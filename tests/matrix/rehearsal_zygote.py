"""A pre-loaded Python that forks one fresh process per rehearsal: ``python tests/matrix/rehearsal_zygote.py``.

Every fault-matrix row is its own ``pytest checks`` run in its own process. Started the ordinary way, each one
spent about 3 s of CPU before and after its rehearsal: importing pytest, its plugins, boto3, psycopg, redis and
the runbook (~1.2 s), loading botocore's service models for the stack's and the probes' clients (~0.8 s), and
the interpreter's tear-down (~0.7 s). On two shared cores that was a quarter of a row. This process imports
and loads all that once; each row is then a ``fork()`` of it, which runs ``pytest.main`` and leaves with
``os._exit`` once pytest has written its reports. A fork starts from this process's state, never from an
earlier row's: each row still has its own process, stack and modules' state.

Only libraries and the runbook are loaded here, not ``fixtures`` or ``checks`` (pytest must import those
itself to rewrite their asserts), and nothing that opens a socket, a file or a thread (a fork copies neither
threads nor locks safely). The ``runbook`` and ``reference`` code the rows run is therefore the code as it
was when this process started: an edit made during a matrix run reaches the next run, not this one's rows.

Protocol (one request at a time): a JSON line on stdin ``{"args": [...], "env": {...}, "cwd": ..., "log":
path}``; this process answers ``{"pid": n}`` when the child runs, then ``{"rc": n}`` when it ended. The
child's stdout and stderr go to ``log``. EOF on stdin ends this process. The first line it prints is
``{"ready": seconds}`` once everything is loaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import logging
import os
import pkgutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: Services whose models the stack (reference.stack, boto3's default session) and the probes
#: (runbook.clients' session) load in every run.
SERVICES = ("iam", "sts", "sqs", "ec2", "autoscaling", "lambda", "events", "cloudwatch", "logs", "s3")


def preload() -> None:
    """Import what every row imports and load botocore's models into the sessions the rows use."""
    for name in (
        "pytest",
        "_pytest.junitxml",
        "pytest_html.plugin",
        "pytest_metadata.plugin",
        "pytest_timeout",
        "boto3",
        "botocore.session",
        "psycopg",
        "redis",
        "imageio_ffmpeg",
    ):
        _try_import(name)
    for package in ("runbook", "reference"):
        _try_import(package)
        module = sys.modules.get(package)
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{package}."):
            # Entry points and the stand-in programs themselves (api, worker) run as their own processes.
            if not info.name.endswith("__main__") and ".containers" not in info.name:
                _try_import(info.name)
    try:
        import boto3

        from runbook import clients

        for service in SERVICES:
            for session in (boto3, clients._session()):
                # Creating a client loads its model and endpoint rules; it opens no connection.
                session.client(
                    service,
                    region_name="us-east-1",
                    endpoint_url="http://127.0.0.1:9",
                    aws_access_key_id="preload",
                    aws_secret_access_key="preload",
                )
    except Exception:
        traceback.print_exc()  # a row then pays the load itself; never a reason to fail


def _try_import(name: str) -> None:
    try:
        importlib.import_module(name)
    except Exception as exc:  # e.g. a module another engineer is editing: the row imports it itself
        print(f"rehearsal_zygote: not preloaded: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)


def _die_with_parent(sig: int) -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG


def child(request: dict[str, Any]) -> None:
    """In the forked process: become ``python -m pytest ARGS`` run in ``cwd`` with ``env``; never returns."""
    rc = 3
    try:
        # The zygote dying (its test worker killed) must still tear the stack down: SIGTERM runs the
        # stack's close (reference.stack.lifecycle), its own children die with it.
        _die_with_parent(signal.SIGTERM)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)  # off the request pipe
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["pytest", *request["args"]]
        sys.path[0] = request["cwd"]  # as ``python -m pytest`` run in cwd
        import pytest

        rc = int(pytest.main(request["args"]))
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            # The safety net the atexit handler would be: a stack still open (an error before its teardown).
            from reference.stack import lifecycle

            for stack in lifecycle.live_stacks():
                stack.close()
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            # Reports are written; skip the interpreter's tear-down of every module (~0.7 s of CPU) and
            # the atexit handlers inherited from the zygote.
            os._exit(rc)


def main() -> int:
    started = time.monotonic()
    _die_with_parent(signal.SIGKILL)  # with the test worker that started us
    sys.path[0] = str(ROOT)
    preload()
    out = sys.stdout
    out.write(json.dumps({"ready": round(time.monotonic() - started, 2)}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            child(request)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        out.write(json.dumps({"rc": os.waitstatus_to_exitcode(status)}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
