"""The ASG's instances as EC2 sees them, and each one's boot output (read-only).

``ec2:DescribeInstances`` for the group's own instance list (not a tag search: the group says which instances
are its workers) and ``ec2:GetConsoleOutput`` per instance: the serial console, where cloud-init prints the
user data's output.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from runbook.probes._aws import AwsClient, call, pages
from runbook.probes.asg import AsgInfo
from runbook.probes.errors import ProbeError

#: At most this many consoles are read at once (the ASG's MaxSize in production is 20).
_PARALLEL: Final = 8


@dataclass(frozen=True)
class FleetInstance:
    """One instance of the group: the group's view (lifecycle, health) and EC2's (state, launch time)."""

    id: str
    lifecycle_state: str  # InService, Pending, Terminating, ...
    health_status: str
    state: str  # EC2: running, pending, stopped, ... ("" when EC2 does not list it)
    launch_time: datetime | None
    private_ip: str


@dataclass(frozen=True)
class ConsoleOutput:
    instance_id: str
    text: str
    timestamp: datetime | None


def fleet_instances(ec2: AwsClient, group: AsgInfo) -> tuple[FleetInstance, ...]:
    """The group's instances with EC2's state (``DescribeInstances`` filtered by their ids: an id EC2 no
    longer lists does not fail the call)."""
    ids = [item.id for item in group.instances if item.id]
    described: dict[str, dict[str, Any]] = {}
    if ids:
        filters = [{"Name": "instance-id", "Values": ids}]
        for page in pages(ec2, "describe_instances", "ec2", Filters=filters):
            for reservation in page.get("Reservations", []):
                for item in reservation.get("Instances", []):
                    described[str(item.get("InstanceId", ""))] = item
    found = []
    for member in group.instances:
        item = described.get(member.id, {})
        launched = item.get("LaunchTime")
        found.append(
            FleetInstance(
                id=member.id,
                lifecycle_state=member.lifecycle_state,
                health_status=member.health_status,
                state=str(item.get("State", {}).get("Name", "")),
                launch_time=launched if isinstance(launched, datetime) else None,
                private_ip=str(item.get("PrivateIpAddress", "")),
            )
        )
    return tuple(sorted(found, key=lambda instance: instance.id))


def console_output(ec2: AwsClient, instance_id: str) -> ConsoleOutput:
    """The instance's latest console output (``Latest=True``; instances without that option are asked
    again without it). The API sends it base64-encoded."""
    try:
        response = call(ec2, "get_console_output", "ec2", InstanceId=instance_id, Latest=True)
    except ProbeError as exc:
        if exc.code != "UnsupportedOperation":
            raise
        response = call(ec2, "get_console_output", "ec2", InstanceId=instance_id)
    stamp = response.get("Timestamp")
    return ConsoleOutput(
        instance_id=instance_id,
        text=_decode(str(response.get("Output") or "")),
        timestamp=stamp if isinstance(stamp, datetime) else None,
    )


def console_outputs(ec2: AwsClient, instance_ids: Sequence[str]) -> dict[str, ConsoleOutput | ProbeError]:
    """Each instance's console output, or the error that one instance's call raised (the others still count)."""

    def one(instance_id: str) -> ConsoleOutput | ProbeError:
        try:
            return console_output(ec2, instance_id)
        except ProbeError as exc:
            return exc

    if len(instance_ids) <= 1:
        return {iid: one(iid) for iid in instance_ids}
    with ThreadPoolExecutor(min(_PARALLEL, len(instance_ids)), thread_name_prefix="console") as pool:
        return dict(zip(instance_ids, pool.map(one, instance_ids), strict=True))


def _decode(output: str) -> str:
    if not output:
        return ""
    try:
        return base64.b64decode(output, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return output  # an emulator that sends it undecoded
