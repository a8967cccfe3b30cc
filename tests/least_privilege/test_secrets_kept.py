"""Secrets read are secrets kept: the environments the live run reads are reduced to what the checks need.

Two reads answer with a whole environment: ``GetFunctionConfiguration`` (the scaler Lambda's) and the worker's
(``docker inspect``, or ``/proc/<pid>/environ`` for a local worker). The stand-in's worker process and its Lambda
get extra variables with planted values, secret-named and plain; the live suite reads the worker's environment
from the process (no ``--worker-env-file``) and the Lambda's configuration, printing everything it can
(``-v -rA --log-level=DEBUG --log-cli-level=DEBUG``: botocore logs response bodies at DEBUG). No planted value
reaches the terminal, the HTML report, the JUnit XML or verdict.json, in any spelling.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_run import ROOT, run_live

from runbook.config import ENV_NEEDED, REQUIRED_WORKER_VARS, SCALER_ENV_NEEDED
from runbook.evidence import _SERVICE_ENDPOINT_VARS

pytestmark = pytest.mark.timeout(300)

#: Variables no check reads, with values that must appear nowhere.
WORKER_PLANTED = {
    "DJANGO_SECRET_KEY": "planted-django-secret-4f2a9c1d",
    "SENTRY_DSN": "https://plantedsentrykey77c1@sentry.example.com/3",
    "MAIL_PASSWORD": "planted-mail-password-19ab",
    "FEATURE_NOTE": "planted-plain-worker-value-5e5e",
}
LAMBDA_PLANTED = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/planted-lambda-webhook-8d8d",
    "OPS_PASSWORD": "planted-lambda-password-3b3b",
    "NOTE": "planted-plain-lambda-value-6c6c",
}


def _spellings(value: str) -> set[str]:
    return {
        value,
        html.escape(value),
        json.dumps(value)[1:-1],
        json.dumps(value)[1:-1].replace("/", "\\/"),
        urllib.parse.quote(value, safe=""),
        repr(value)[1:-1],
    }


@pytest.fixture(scope="module")
def planted_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A healthy stand-in whose worker process and scaler Lambda carry the planted variables."""
    from reference.stack import Stack
    from reference.stack.aws import LAMBDA_NAME

    stack = Stack("embedded", workdir=tmp_path_factory.mktemp("planted") / "stack")
    stack.plan.worker_env.update(WORKER_PLANTED)
    with stack:
        stack.scenario.run()
        lam = stack.aws.client("lambda")
        # The real scaler runs on its defaults: an empty environment, which AWS leaves out of the answer.
        variables = lam.get_function_configuration(FunctionName=LAMBDA_NAME).get("Environment", {}).get("Variables", {})
        lam.update_function_configuration(
            FunctionName=LAMBDA_NAME, Environment={"Variables": {**variables, **LAMBDA_PLANTED}}
        )
        yield stack


@pytest.mark.parametrize("marker", ["local", "asg"])
def test_no_output_holds_an_unneeded_value(planted_stack: Any, tmp_path: Path, marker: str) -> None:
    stack = planted_stack
    run = run_live(
        stack,
        tmp_path,
        marker,
        env=stack.api_env,
        # local: the worker's environment is read from its process; an ASG's worker has no process here
        worker_env_file=None if marker == "local" else True,
        extra=["-v", "-rA", "--log-level=DEBUG", "--log-cli-level=DEBUG"],
    )
    verdict = run.verdict
    # The run read what it reads: the worker's settings from the process (§3 judged), the Lambda (부록 B).
    if marker == "local":
        assert verdict["layers"]["worker-config"] == "ok", run.tail()
    else:
        assert verdict["layers"]["autoscaling"] == "ok", run.tail()
        assert "GetFunctionConfiguration" in run.output, "the Lambda was read (botocore's DEBUG lines)"
    assert "DEBUG" in run.output
    leaks = [
        f"{name} in {where}"
        for name, value in {**WORKER_PLANTED, **LAMBDA_PLANTED}.items()
        for where, text in run.everything().items()
        if any(spelling in text for spelling in _spellings(value))
    ]
    assert not leaks, "values of variables no check needs reached the output:\n" + "\n".join(leaks)


#: ``<name>.env.get("X")``, ``(env or {}).get("X")``, ``env["X"]``: a check or parser reading variable X.
_READS = re.compile(r"""env\b(?:\s+or\s+\{\}\))?(?:\.get\(\s*|\[\s*)["']([A-Z][A-Z0-9_]+)["']""")


def test_every_variable_read_is_kept() -> None:
    """The reduced environments hold every variable a check or the configuration reads: a new ``env.get("X")``
    without X in ``runbook.config.ENV_NEEDED`` (or ``SCALER_ENV_NEEDED``) would read an empty value."""
    needed = ENV_NEEDED | SCALER_ENV_NEEDED
    sources = [*ROOT.glob("runbook/**/*.py"), *ROOT.glob("checks/*.py")]
    reads = {
        (match.group(1), str(path.relative_to(ROOT)))
        for path in sources
        for match in _READS.finditer(path.read_text(encoding="utf-8"))
    }
    assert len(reads) > 10, "the scan found too few reads to be looking at the right thing"
    missing = sorted(f"{name} ({where})" for name, where in reads if name not in needed)
    assert not missing, f"read but dropped by the probes: {missing}"
    assert {name for names in REQUIRED_WORKER_VARS for name in names} <= ENV_NEEDED
    assert set(_SERVICE_ENDPOINT_VARS.values()) <= ENV_NEEDED
