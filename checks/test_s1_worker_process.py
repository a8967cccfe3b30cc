"""§1 워커 프로세스 실행 여부: is anything consuming the queue?"""

from __future__ import annotations

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import fail, unknown
from runbook.target import Target

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
