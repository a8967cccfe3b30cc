"""``pytest -m "live and asg"`` against a fleet of three instances booted like the real user data (issue 18).

The stand-in account (moto) holds the SSM parameter and the group; each instance's console and its answers to
Run Command come from the stack's fleet stand-in (moto runs nothing). The live run gets the API's environment
and its log only: no worker env file, no worker log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reference.stack import Stack
from reference.stack.faults import BROKEN_INSTANCE, FLEET
from runbook.fleet.command import logs_command
from tests.live.test_live_mode import asg_run, queue_state, settled_queue_state, stale_lock_story
from tests.safety.safety_harness import moto_state

COMMAND = logs_command("academy-video-worker", 7200)


def fleet_table(verdict: dict[str, Any]) -> dict[str, Any]:
    check = next(c for c in verdict["checks"] if "test_instances_booted" in c["nodeid"])
    table: dict[str, Any] = check["table"]
    assert table["kind"] == "fleet"
    return table


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("fault", "cause"),
    [("boot-docker-run-failed", "docker-run-failed"), ("boot-ecr-login-failed", "ecr-login-failed")],
)
def test_boot_failure_on_one_of_three_is_named_with_its_instance(tmp_path: Path, fault: str, cause: str) -> None:
    with Stack("embedded", faults=[fault], workdir=tmp_path / "stack") as stack:
        stack.scenario.run(strict=False)
        broken = stack.fleet.instance_ids[BROKEN_INSTANCE]
        verdict, output, code = asg_run(stack, tmp_path / "run")
    root = verdict["root_cause"]
    assert (root["layer"], root["cause"]) == ("worker-process", cause), output[-3000:]
    assert broken in root["message"] and broken in root["remediation"]
    rows = {row["instance_id"]: row for row in fleet_table(verdict)["rows"]}
    assert len(rows) == 3 and rows[broken]["cause"] == cause
    assert all(row["boot"] == "ok" and not row["cause"] for iid, row in rows.items() if iid != broken)
    assert code == 1


@pytest.mark.timeout(300)
def test_healthy_fleet_is_healthy(tmp_path: Path) -> None:
    with Stack("embedded", faults=[FLEET], workdir=tmp_path / "stack") as stack:
        stack.scenario.run()
        before = settled_queue_state(stack), moto_state(stack.aws.url)
        verdict, output, code = asg_run(stack, tmp_path / "run", "--asg-logs=ssm")
        after = queue_state(stack), moto_state(stack.aws.url)
        sent = stack.client("ssm").list_commands()["Commands"]
        instances = stack.fleet.instance_ids
    assert verdict["healthy"], output[-4000:]
    assert code == 0 and after == before  # queue, group, instances, Lambda, rule: untouched
    # What the run sent: one command per instance, exactly the read-only one, nothing else.
    # (moto 5.2 records every instance of the account on a command sent without Targets: count, not ids)
    assert len(sent) == len(instances) == 3
    assert {(c["DocumentName"], tuple(c["Parameters"]["commands"])) for c in sent} == {
        ("AWS-RunShellScript", (COMMAND,))
    }
    table = fleet_table(verdict)
    assert [row["container"] for row in table["rows"]] == ["up"] * 3
    assert table["command"] == COMMAND  # the exact command sent, in the verdict and the HTML report
    html = (tmp_path / "run" / "live.html").read_text()
    assert "AWS-RunShellScript" in html and "docker logs --timestamps --since 2h academy-video-worker" in html
    assert all(row["instance_id"] in html for row in table["rows"])


@pytest.mark.timeout(300)
def test_section9_story_across_three_instances(tmp_path: Path) -> None:
    """§9: three workers, 111 and 222 held by a crashed worker's lock, 333 encodes. With ``--asg-logs ssm`` each
    instance's log joins the timelines; without it, log checks are unknown and print the command."""
    with Stack("embedded", faults=[FLEET], workdir=tmp_path / "stack") as stack:
        stale_lock_story(stack)
        verdict, output, _ = asg_run(stack, tmp_path / "logs", "--asg-logs=ssm")
        (tmp_path / "nologs").mkdir()
        blind, blind_output, _ = asg_run(stack, tmp_path / "nologs")
        taken = {vid for vid in (111, 222, 333) if f"video_id={vid}" in stack.worker_log_text()}
    by_case = {c["nodeid"].split("::")[1]: c for c in verdict["checks"]}
    assert by_case["test_stuck_video[live-111]"]["cause"] == "stale-lock", output[-4000:]
    assert by_case["test_stuck_video[live-222]"]["cause"] == "stale-lock"
    assert by_case["test_stuck_video[live-333]"]["outcome"] == "passed"
    assert verdict["root_cause"]["cause"] == "stale-lock"
    # The three instances' logs are merged into the timelines: 111 and 222 skipped for the lock, 333 completed.
    stages = {row["video_id"]: row for row in verdict["timelines"]}
    assert taken == {111, 222, 333} and set(stages) >= taken
    rows = fleet_table(verdict)["rows"]
    assert len(rows) == 3 and all(row["container"] == "up" for row in rows)
    last = {row["last_video"].split()[0] for row in rows if row["last_video"] != "-"}
    assert last and last <= {"111", "222", "333"}
    # Without --asg-logs: every check that needs the worker's log says unknown and gives the command.
    flows = [c for c in blind["checks"] if "test_video_flow" in c["nodeid"] or "test_start_log" in c["nodeid"]]
    assert flows and all(c["outcome"] == "skipped" for c in flows), blind_output[-3000:]
    assert all(COMMAND in c["message"] and "--asg-logs ssm" in c["remediation"] for c in flows)
    assert fleet_table(blind)["rows"][0]["container"] == "-"
