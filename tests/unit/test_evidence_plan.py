"""Which probes a run starts: those of its deployments; any other key is still answered, once, when asked."""

from __future__ import annotations

import threading
import time

import pytest

from runbook.config import side_from_env
from runbook.evidence import Evidence
from runbook.target import Target

ASG_ONLY = {"asg", "asg.instances", "asg.policies", "asg.activity", "asg.alarms"}
SCALER = {"scaler.lambda", "scaler.alt_lambda", "scaler.rule"}


def _evidence(deployments: tuple[str, ...], deployment: str | None = None) -> Evidence:
    target = Target(mode="live", api=side_from_env({}, "api"), deployment=deployment, deployments=deployments)
    return Evidence(target)


def test_local_run_starts_no_autoscaling_or_docker_probe() -> None:
    started = set(_evidence(("local",)).started_keys())
    assert not started & (ASG_ONLY | SCALER | {"worker.container"})
    assert {"worker.processes", "worker.side", "sqs.api", "redis.api", "log.worker", "videos"} <= started


def test_docker_run_starts_the_container_not_the_processes() -> None:
    started = set(_evidence(("docker",)).started_keys())
    assert "worker.container" in started
    assert "worker.processes" not in started
    assert not started & (ASG_ONLY | SCALER)


def test_asg_run_starts_the_group_and_the_scaler() -> None:
    started = set(_evidence(("local", "asg")).started_keys())
    assert ASG_ONLY | SCALER | {"worker.processes"} <= started
    assert "worker.container" not in started


def test_chosen_deployment_counts_even_without_the_selected_ones() -> None:
    assert "worker.container" in _evidence((), deployment="docker").started_keys()


def test_no_deployment_known_starts_everything_but_the_waits() -> None:
    evidence = _evidence(())
    planned = evidence.keys()
    assert evidence.started_keys() == [k for k in planned if k != "videos.progress_moved"]


def test_the_two_progress_reads_run_only_when_a_check_asks() -> None:
    # Two reads seconds apart: started with every run they would add their wait to runs with nothing locked.
    planned = _evidence(()).keys()
    assert "videos.progress_moved" in planned
    assert "videos.progress_moved" not in _evidence(("local", "docker", "asg")).started_keys()


def test_database_identity_probes_exist_for_the_parity_check() -> None:
    # test_same_database judges identities (system_identifier + current_database), not DB_HOST spellings.
    assert {"db.api", "db.worker"} <= set(_evidence(()).keys())


def test_unstarted_key_is_computed_once_for_concurrent_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    evidence = _evidence(("local",))
    calls: list[int] = []

    def slow_group() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "group"

    monkeypatch.setitem(evidence._tasks, "asg", slow_group)
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(evidence.get("asg"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["group"] * 4
    assert calls == [1]


def test_unstarted_key_keeps_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    evidence = _evidence(("local",))

    def broken() -> str:
        raise RuntimeError("boom")

    monkeypatch.setitem(evidence._tasks, "scaler.rule", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="boom"):
            evidence.get("scaler.rule")


def _the_race() -> KeyError:
    """The real race: a thread calling urllib's getproxies() (botocore does when it builds a client, requests on
    every call) while the main thread adds and removes PYTEST_CURRENT_TEST as pytest does around every test.
    getproxies() lists os.environ's names, then reads each."""
    import os
    import urllib.request

    caught: list[KeyError] = []
    done = threading.Event()

    def proxies() -> None:
        try:
            for _ in range(200_000):
                urllib.request.getproxies()
        except KeyError as exc:
            caught.append(exc)
        finally:
            done.set()

    saved = os.environ.get("PYTEST_CURRENT_TEST")
    threading.Thread(target=proxies, daemon=True).start()
    try:
        while not done.is_set():
            os.environ["PYTEST_CURRENT_TEST"] = "x (call)"
            os.environ.pop("PYTEST_CURRENT_TEST")
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved
    assert caught, "the race did not happen in 200000 calls"
    return caught[0]


def test_a_probe_thread_survives_pytest_removing_its_variable() -> None:
    race = _the_race()
    evidence = _evidence(("local",))
    calls: list[int] = []

    def probe() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise race
        return "attributes"

    evidence._tasks["sqs.api"] = probe
    assert evidence._timed("sqs.api") == "attributes"
    assert calls == [1, 1]


def test_any_other_key_error_of_a_probe_is_its_own() -> None:
    evidence = _evidence(("local",))
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise KeyError("Attributes")

    evidence._tasks["sqs.api"] = broken
    with pytest.raises(KeyError, match="Attributes"):
        evidence._timed("sqs.api")
    assert calls == [1]
