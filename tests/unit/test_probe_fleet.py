"""The fleet probes against a real moto server: the group's instances with EC2's state, their consoles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runbook.fleet.evidence import fleet as fleet_evidence
from runbook.probes import asg
from runbook.probes import fleet as fleet_probe
from tests.unit.test_probe_autoscaling import ASG, _make_asg, _read_only, client  # noqa: F401 - a fixture

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("moto_reset")]


def test_group_instances_with_ec2_state_and_console(client: Callable[[str], Any]) -> None:  # noqa: F811
    _make_asg(client, desired=3, max_size=3)
    calls: list[str] = []
    group = asg.asg_info(client("autoscaling"), ASG)
    ec2 = _read_only(client("ec2"), calls)

    found = fleet_probe.fleet_instances(ec2, group)
    assert [i.id for i in found] == sorted(i.id for i in group.instances)
    assert all(i.lifecycle_state == "InService" and i.state == "running" and i.launch_time for i in found)

    consoles = fleet_probe.console_outputs(ec2, [i.id for i in found])
    # moto answers with a fixed sample, base64-encoded as AWS does: decoded here.
    assert all(isinstance(c, fleet_probe.ConsoleOutput) and "Linux version" in c.text for c in consoles.values())
    assert set(calls) == {"DescribeInstances", "GetConsoleOutput"}


def test_an_unknown_instance_is_that_instance_s_error(client: Callable[[str], Any]) -> None:  # noqa: F811
    _make_asg(client, desired=1, max_size=1)
    group = asg.asg_info(client("autoscaling"), ASG)
    answers = fleet_probe.console_outputs(client("ec2"), [group.instances[0].id, "i-0000000000000dead"])
    assert isinstance(answers[group.instances[0].id], fleet_probe.ConsoleOutput)
    gone = answers["i-0000000000000dead"]
    assert isinstance(gone, fleet_probe.ProbeError) and gone.kind == "not-found"


def test_fleet_evidence_reads_each_in_service_boot(client: Callable[[str], Any]) -> None:  # noqa: F811
    _make_asg(client, desired=2, max_size=3)
    fleet = fleet_evidence(client("ec2"), asg.asg_info(client("autoscaling"), ASG), "academy-video-worker")
    assert len(fleet.in_service) == 2 and set(fleet.boots) == {i.id for i in fleet.in_service}
    # moto's sample console has no user data in it: the boot has not finished, as far as anyone can tell.
    assert {b.outcome for b in fleet.boots.values()} == {"unfinished"}
