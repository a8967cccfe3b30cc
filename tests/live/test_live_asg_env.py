"""``pytest -m "live and asg"`` reads the worker's environment where production keeps it: the SSM parameter
``/academy/workers/env`` that the instances' user data writes their env file from (issue 18).

The stand-in account (moto) holds that parameter; the live run gets no ``--worker-env-file``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reference.stack import Stack
from tests.live.test_live_mode import asg_run

#: §3 and the API↔worker parity checks: each needs the worker's environment.
NEEDS_WORKER_ENV = (
    "test_s3_worker_config.py::test_required_variable",
    "test_s3_worker_config.py::test_same_database",
    "test_s2_queue.py::test_same_queue",
    "test_s2_queue.py::test_queue_reachable[live-worker]",
)


def _checks(verdict: dict[str, Any], *parts: str) -> list[dict[str, Any]]:
    return [c for c in verdict["checks"] if any(p in c["nodeid"] for p in parts)]


@pytest.mark.timeout(240)
def test_worker_env_from_ssm_parameter(tmp_path: Path) -> None:
    with Stack("embedded", workdir=tmp_path / "stack") as stack:
        stack.scenario.run(strict=False)
        verdict, output, _ = asg_run(stack, tmp_path / "run")
        secret = stack.worker_env["R2_SECRET_KEY"]
    judged = _checks(verdict, *NEEDS_WORKER_ENV)
    assert len(judged) >= 9, output[-3000:]  # six required variables, database, queue, worker queue
    assert all(c["outcome"] == "passed" for c in judged), [c for c in judged if c["outcome"] != "passed"]
    assert verdict["layers"]["worker-config"] in ("ok", "warn")
    # The parameter holds secrets: none of them reaches the verdict, the report or the terminal.
    for text in (output, (tmp_path / "run" / "verdict.json").read_text(), (tmp_path / "run" / "live.html").read_text()):
        assert secret not in text


@pytest.mark.timeout(240)
def test_missing_variable_in_parameter_is_config_missing(tmp_path: Path) -> None:
    with Stack("embedded", faults=["config-missing:R2_ENDPOINT"], workdir=tmp_path / "stack") as stack:
        stack.scenario.run(strict=False)
        verdict, output, code = asg_run(stack, tmp_path / "run")
    root = verdict["root_cause"]
    assert (root["layer"], root["cause"]) == ("worker-config", "config-missing"), output[-3000:]
    assert "R2_ENDPOINT" in root["message"]
    assert code == 1


@pytest.mark.timeout(240)
def test_unreadable_parameter_is_unknown_naming_it(tmp_path: Path) -> None:
    """A parameter that does not exist (here: another name) leaves §3 unknown, naming parameter and permission."""
    with Stack("embedded", workdir=tmp_path / "stack") as stack:
        stack.scenario.run(strict=False)
        missing, output, _ = asg_run(stack, tmp_path / "missing", "--worker-env-ssm=/academy/workers/nope")
    required = _checks(missing, "test_required_variable")
    assert required and all(c["outcome"] == "skipped" for c in required), output[-3000:]
    assert all("/academy/workers/nope" in c["message"] for c in required)
    assert missing["layers"]["worker-config"] == "unknown"
