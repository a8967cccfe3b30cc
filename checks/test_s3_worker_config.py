"""§3 워커 필수 환경변수: a missing one makes the worker exit with ``config error: ...`` right after start."""

from __future__ import annotations

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import fail, unknown
from runbook.logs import EventKind
from runbook.production import REQUIRED_WORKER_VARS
from runbook.target import Target

pytestmark = [
    pytest.mark.runbook(layer="worker-config", section="§3"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]


@pytest.mark.parametrize("names", REQUIRED_WORKER_VARS, ids=["/".join(n) for n in REQUIRED_WORKER_VARS])
def test_required_variable(evidence: Evidence, target: Target, names: tuple[str, ...]) -> None:
    """The real ``load_config`` requires each (the bucket pair as one, with no default) and exits on the first
    one missing or empty (apps/worker/video_worker/config.py:88-116, ``runbook.production``)."""
    worker = evidence.need("worker.side")
    present = [n for n in names if worker.env.get(n, "").strip()]
    if not present:
        fail("config-missing", var=" / ".join(names), restart_cmd=commands.restart_worker(target))


def test_start_log(evidence: Evidence, target: Target) -> None:
    """The worker's log shows ``Video Worker (SQS) started | queue=...`` after its last ``config error``."""
    summary = evidence.need("log.worker")
    error_line = summary.last_line.get(EventKind.CONFIG_ERROR)
    started_line = summary.last_line.get(EventKind.STARTED)
    if error_line is not None and (started_line is None or started_line < error_line):
        variable = summary.config_variables[-1] if summary.config_variables else "?"
        line = f"config error: {summary.config_errors[-1]}" if summary.config_errors else "config error"
        fail("config-error-logged", line=line, var=variable, restart_cmd=commands.restart_worker(target))
    if started_line is None:
        unknown("not-configured", setting="워커 로그의 `Video Worker (SQS) started` 줄")


def test_same_database(evidence: Evidence, target: Target) -> None:
    """부록: API and worker must look at one database: the same cluster (PostgreSQL ``system_identifier``) and
    database (``current_database()``), or the same SQLite file; ``DB_HOST`` spellings are not compared."""
    worker = evidence.need("worker.side")
    api_db, worker_db = target.api.database, worker.database
    if not api_db.configured:
        unknown("not-configured", setting="DATABASE_URL or DB_HOST (api)")
    if not worker_db.configured:
        unknown("not-configured", setting="DATABASE_URL or DB_HOST (worker)")
    api, api_error = evidence.attempt("db.api")
    wrk, worker_error = evidence.attempt("db.worker")
    if api is None or wrk is None or api.how != wrk.how:
        error = api_error or worker_error
        unknown(
            "identity-unreadable",
            what="DB",
            why=str(error) if error is not None else f"{api.how} ≠ {wrk.how}",
            api=api_db.identity,
            worker=worker_db.identity,
            look="psql -c 'SELECT system_identifier, current_database() FROM pg_control_system()'  "
            "# API와 워커의 DB_* 로 각각 / with the API's and the worker's DB_* each",
        )
    if api.key != wrk.key:
        fail(
            "db-mismatch",
            api_db=f"{api_db.identity} → {api.describe()}",
            worker_db=f"{worker_db.identity} → {wrk.describe()}",
            restart_cmd=commands.restart_worker(target),
        )
