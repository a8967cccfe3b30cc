"""§1 워커 프로세스 실행 여부: is anything consuming the queue? On the ASG: does every InService instance run one?"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from runbook import commands
from runbook.evidence import Evidence, NotConfigured
from runbook.findings import fail, unknown
from runbook.fleet import judge
from runbook.fleet.command import FleetLogs, hand_command
from runbook.probes.errors import ProbeError
from runbook.target import Target

#: ``report.user_properties`` key of a check's table (``fixtures.reporting.ROWS_PROP``).
ROWS_PROPERTY = "runbook_rows"

pytestmark = pytest.mark.runbook(layer="worker-process", section="§1")


@pytest.mark.parametrize(
    "deployment",
    [
        pytest.param("docker", marks=pytest.mark.docker),
        pytest.param("asg", marks=pytest.mark.asg),
        pytest.param("local", marks=pytest.mark.local),
    ],
)
def test_worker_running(evidence: Evidence, target: Target, deployment: str) -> None:
    if deployment not in target.deployments:
        unknown("not-deployment", deployment=deployment)
    if deployment == "docker":
        name = target.worker_container
        info, error = evidence.attempt("worker.container")
        if error is not None and error.kind == "not-found":
            fail(
                "worker-not-running",
                where=f"컨테이너 {name}",
                state="없음",
                start_cmd=commands.start_worker(target, "docker"),
            )
        info = evidence.need("worker.container")
        if not info.running:
            state = f"{info.status}, exit code {info.exit_code}"
            fail(
                "worker-not-running",
                where=f"컨테이너 {name}",
                state=state,
                start_cmd=commands.start_worker(target, "docker"),
            )
    elif deployment == "asg":
        facts = {"asg": target.asg_name, "tag": target.worker_tag, "region": target.api.region}
        group, error = evidence.attempt("asg")
        if error is not None and error.kind == "not-found":
            fail("no-inservice-instances", desired="(ASG 없음)", in_service=0, running=0, **facts)
        group = evidence.need("asg")
        running = evidence.need("asg.instances")
        if group.in_service < 1 or not running:
            fail(
                "no-inservice-instances",
                desired=group.desired,
                in_service=group.in_service,
                running=len(running),
                **facts,
            )
    else:
        found = evidence.need("worker.processes")
        if not found:
            fail(
                "worker-not-running",
                where=f"프로세스 /{target.worker_process}/",
                state="없음",
                start_cmd=commands.start_worker(target, "local"),
            )


def _optional(evidence: Evidence, key: str) -> Any:
    """The value of ``key``, or ``None`` when it was not configured or not answered (the check still judges)."""
    try:
        return evidence.get(key)
    except (NotConfigured, ProbeError):
        return None


def _worker_env(evidence: Evidence) -> Any:
    parameter = _optional(evidence, "worker.env_ssm")
    return parameter.env if parameter is not None else None


def _findings(evidence: Evidence, logs: FleetLogs | None) -> tuple[Any, list[judge.Finding], list[str]]:
    """Every InService instance's boot and worker findings, and the instances whose worker could not be read."""
    fleet = evidence.need("fleet")
    env = _worker_env(evidence)
    found: list[judge.Finding] = []
    unread: list[str] = []
    for instance in fleet.in_service:
        boot = fleet.boots.get(instance.id)
        log = logs.instances.get(instance.id) if logs is not None else None
        finding = judge.boot_finding(instance, boot) or judge.worker_finding(instance, boot, log, env)
        if finding is not None:
            found.append(finding)
        elif logs is not None and (log is None or log.summary is None):
            unread.append(instance.id)
    return fleet, found, unread


def _record_fleet(request: pytest.FixtureRequest, evidence: Evidence, fleet: Any, logs: FleetLogs | None) -> None:
    """The fleet table (one row per instance) for the report, with the exact command sent when logs were read."""
    env = _worker_env(evidence)
    now = datetime.now(UTC)
    rows = []
    for instance in fleet.instances:
        boot = fleet.boots.get(instance.id)
        log = logs.instances.get(instance.id) if logs is not None else None
        finding = judge.boot_finding(instance, boot) or judge.worker_finding(instance, boot, log, env)
        row = judge.fleet_row(instance, boot, fleet.boot_errors.get(instance.id, ""), log, finding, now)
        rows.append(row.as_json())
    table: dict[str, object] = {"kind": "fleet", "total": len(rows), "rows": rows}
    if logs is not None:
        table.update(document=logs.document, command=logs.command, command_id=logs.command_id)
    request.node.user_properties.append((ROWS_PROPERTY, json.dumps(table, ensure_ascii=False)))


def _fail_with(finding: judge.Finding, everyone: list[judge.Finding], target: Target, **facts: object) -> None:
    others = [f"{f.instance_id} {f.cause}" for f in everyone if f is not finding]
    fail(
        finding.cause,
        instance=finding.instance_id,
        evidence=finding.detail,
        others=f" (+ {', '.join(others)})" if others else "",
        region=target.api.region or "<region>",
        **facts,
    )


@pytest.mark.asg
def test_instances_booted(evidence: Evidence, target: Target, request: pytest.FixtureRequest) -> None:
    """Every InService instance's boot output (``ec2:GetConsoleOutput``): the user data started the worker."""
    if "asg" not in target.deployments:
        unknown("not-deployment", deployment="asg")
    logs: FleetLogs | None = _optional(evidence, "fleet.logs")
    fleet = evidence.need("fleet")
    _record_fleet(request, evidence, fleet, logs)
    if not fleet.in_service:
        unknown("fleet-boot-unknown", instances="-", why="InService 없음 / none InService", region=target.api.region)
    boots = [(i, judge.boot_finding(i, fleet.boots.get(i.id))) for i in fleet.in_service]
    failed = [f for _, f in boots if f is not None]
    if failed:
        _fail_with(failed[0], failed, target)
    now = datetime.now(UTC)
    states = {i.id: judge.boot_state(i, fleet.boots.get(i.id), now) for i in fleet.in_service}
    unsure = {iid: state for iid, state in states.items() if state != "ok"}
    # Young instances still booting do not count against a fleet that has a booted one; anything else unsure does.
    if len(unsure) == len(states) or "unknown" in unsure.values():
        why = ", ".join(f"{iid}: {fleet.boot_errors.get(iid) or state}" for iid, state in unsure.items())
        unknown("fleet-boot-unknown", instances=", ".join(unsure), why=why, region=target.api.region)


@pytest.mark.asg
def test_instance_workers(evidence: Evidence, target: Target) -> None:
    """Every InService instance runs its worker (its ``docker ps`` row and log, ``--asg-logs ssm``)."""
    if "asg" not in target.deployments:
        unknown("not-deployment", deployment="asg")
    logs = evidence.need("fleet.logs")  # unknown, with the command to run by hand, when not read
    fleet, found, unread = _findings(evidence, logs)
    if found:
        parameter = target.worker_env_ssm or "-"
        _fail_with(
            found[0],
            found,
            target,
            var=judge.FIRST_REQUIRED,
            parameter=parameter,
            where=f"인스턴스 {found[0].instance_id} 컨테이너 {target.worker_container}",
            state=found[0].detail,
            start_cmd=commands.replace_instance(target, found[0].instance_id),
        )
    if unread or not fleet.in_service:
        hand = hand_command(target.api.region, unread, logs.command)
        unknown("fleet-worker-unknown", instances=", ".join(unread) or "-", hand=hand)
