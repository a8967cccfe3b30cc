"""Identity, not spelling (issue 16, item 4), on hand-built productions.

The API's ``REDIS_HOST=localhost`` and the worker's ``REDIS_HOST=127.0.0.1`` name one server; so do
``DB_HOST=localhost`` and ``DB_HOST=127.0.0.1``. The parity checks judge what the servers say they are (Redis
``run_id`` and ``REDIS_DB``; PostgreSQL ``system_identifier`` and ``current_database()``), so the spelling raises
no alarm, and a real difference still does.
"""

from __future__ import annotations

import pytest

from tests.production.handbuilt import HandBuilt

pytestmark = pytest.mark.timeout(300)

PARITY = ("checks/test_s7_progress.py", "checks/test_s3_worker_config.py")


def test_localhost_and_127_0_0_1_are_one_redis(prod: HandBuilt) -> None:
    run = prod.run(*PARITY, api_env={**prod.api_env, "REDIS_HOST": "localhost"})
    assert run.check("test_same_redis")["outcome"] == "passed", run.output[-3000:]
    assert "redis-mismatch" not in run.causes()


def test_localhost_and_127_0_0_1_are_one_database(prod: HandBuilt) -> None:
    run = prod.run(*PARITY, api_env={**prod.api_env, "DB_HOST": "localhost"})
    assert run.check("test_same_database")["outcome"] == "passed", run.output[-3000:]
    assert "db-mismatch" not in run.causes()


def test_another_redis_db_on_the_same_server_is_still_a_mismatch(prod: HandBuilt) -> None:
    """CONTRACT row 13 by hand: one server, ``REDIS_DB`` 0 for the API, 1 for the worker."""
    worker_env = {**prod.worker_env, "REDIS_DB": "1"}
    run = prod.run(*PARITY, api_env={**prod.api_env, "REDIS_HOST": "localhost"}, worker_env=worker_env)
    same = run.check("test_same_redis")
    assert same["outcome"] == "failed" and same["cause"] == "redis-mismatch", run.output[-3000:]
    assert "/0" in same["message"] and "/1" in same["message"], same


def test_another_database_in_the_same_cluster_is_still_a_mismatch(prod: HandBuilt) -> None:
    """CONTRACT row 18 by hand: one PostgreSQL cluster, the worker's ``DB_NAME`` another database in it."""
    prod.servers.create_database("academy_other")
    worker_env = {**prod.worker_env, "DB_NAME": "academy_other", "DB_HOST": "localhost"}
    run = prod.run(*PARITY, worker_env=worker_env)
    same = run.check("test_same_database")
    assert same["outcome"] == "failed" and same["cause"] == "db-mismatch", run.output[-3000:]
    assert "academy_other" in same["message"], same


def test_an_unreadable_identity_is_unknown_with_what_to_look_at(prod: HandBuilt) -> None:
    """The worker's database cannot be reached from here (a closed port): its identity is unknown, not compared
    by name, and the check says which query tells."""
    worker_env = {**prod.worker_env, "DB_PORT": "9"}
    run = prod.run(*PARITY, worker_env=worker_env)
    same = run.check("test_same_database")
    assert same["outcome"] == "skipped", run.output[-3000:]
    assert "pg_control_system" in same["remediation"], same
