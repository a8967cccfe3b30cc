"""Auto Scaling evidence (runbook §1 ASG, appendix B 1, 2, 5-A): group sizes, instances, policies, alarms,
the last scaling activity.

Describe calls only; ``set_desired_capacity`` from the runbook is a remediation for a human.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from runbook.probes._aws import AwsClient, call, pages
from runbook.probes.errors import ProbeError

_ASG_NAME: Final = re.compile(r"^[\x20-\x7e]{1,255}$")
QUEUE_METRIC: Final = "ApproximateNumberOfMessagesVisible"


@dataclass(frozen=True)
class AsgInstance:
    id: str
    lifecycle_state: str
    health_status: str


@dataclass(frozen=True)
class AsgInfo:
    """One Auto Scaling group; ``in_service`` counts InService instances."""

    name: str
    min_size: int
    max_size: int
    desired: int
    instances: tuple[AsgInstance, ...]
    in_service: int


@dataclass(frozen=True)
class Ec2Instance:
    id: str
    state: str
    launch_time: datetime | None


@dataclass(frozen=True)
class ScalingPolicy:
    name: str
    policy_type: str
    adjustment_type: str | None
    alarm_names: tuple[str, ...]


@dataclass(frozen=True)
class Alarm:
    """A CloudWatch alarm on the queue's visible-message metric."""

    name: str
    state: str
    metric: str
    threshold: float | None
    comparison: str
    actions: tuple[str, ...]
    actions_enabled: bool


def _check_name(name: str, what: str) -> None:
    if not _ASG_NAME.match(name):
        raise ProbeError("autoscaling", "invalid", f"invalid {what} {name!r}")


def asg_info(autoscaling: AwsClient, name: str) -> AsgInfo:
    """Min/max/desired and instances of group ``name``; missing → ``ProbeError(kind="not-found")``."""
    _check_name(name, "auto scaling group name")
    response = call(autoscaling, "describe_auto_scaling_groups", "autoscaling", AutoScalingGroupNames=[name])
    groups: list[dict[str, Any]] = response.get("AutoScalingGroups", [])
    group = next((item for item in groups if item.get("AutoScalingGroupName") == name), None)
    if group is None:
        raise ProbeError("autoscaling", "not-found", f"not-found: auto scaling group {name!r}")
    instances = tuple(
        AsgInstance(
            id=str(item.get("InstanceId", "")),
            lifecycle_state=str(item.get("LifecycleState", "")),
            health_status=str(item.get("HealthStatus", "")),
        )
        for item in group.get("Instances", [])
    )
    return AsgInfo(
        name=name,
        min_size=int(group.get("MinSize", 0)),
        max_size=int(group.get("MaxSize", 0)),
        desired=int(group.get("DesiredCapacity", 0)),
        instances=instances,
        in_service=sum(1 for item in instances if item.lifecycle_state == "InService"),
    )


@dataclass(frozen=True)
class ScalingActivity:
    """The group's most recent scaling activity (a desired-capacity change and what it launched/terminated)."""

    start: datetime | None
    end: datetime | None
    status: str
    description: str
    cause: str


def last_scaling_activity(autoscaling: AwsClient, name: str) -> ScalingActivity | None:
    """``describe_scaling_activities`` (newest first), the first one; ``None`` when the group has none listed
    (moto lists none at all)."""
    _check_name(name, "auto scaling group name")
    response = call(autoscaling, "describe_scaling_activities", "autoscaling", AutoScalingGroupName=name, MaxRecords=1)
    items: list[dict[str, Any]] = response.get("Activities", [])
    if not items:
        return None
    item = items[0]
    start, end = item.get("StartTime"), item.get("EndTime")
    return ScalingActivity(
        start=start if isinstance(start, datetime) else None,
        end=end if isinstance(end, datetime) else None,
        status=str(item.get("StatusCode", "")),
        description=str(item.get("Description", "")),
        cause=str(item.get("Cause", "")),
    )


def running_instances(ec2: AwsClient, tag_name_value: str) -> tuple[Ec2Instance, ...]:
    """Running EC2 instances whose ``Name`` tag is ``tag_name_value`` (all pages)."""
    _check_name(tag_name_value, "Name tag")
    filters = [
        {"Name": "tag:Name", "Values": [tag_name_value]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    found: list[Ec2Instance] = []
    for page in pages(ec2, "describe_instances", "ec2", Filters=filters):
        for reservation in page.get("Reservations", []):
            for item in reservation.get("Instances", []):
                launched = item.get("LaunchTime")
                found.append(
                    Ec2Instance(
                        id=str(item.get("InstanceId", "")),
                        state=str(item.get("State", {}).get("Name", "")),
                        launch_time=launched if isinstance(launched, datetime) else None,
                    )
                )
    return tuple(sorted(found, key=lambda instance: instance.id))


def scaling_policies(autoscaling: AwsClient, name: str) -> tuple[ScalingPolicy, ...]:
    """The group's scaling policies; empty is normal under the Lambda scaler (appendix B 1)."""
    _check_name(name, "auto scaling group name")
    found: list[ScalingPolicy] = []
    for page in pages(autoscaling, "describe_policies", "autoscaling", AutoScalingGroupName=name):
        for item in page.get("ScalingPolicies", []):
            adjustment = item.get("AdjustmentType")
            found.append(
                ScalingPolicy(
                    name=str(item.get("PolicyName", "")),
                    policy_type=str(item.get("PolicyType", "")),
                    adjustment_type=str(adjustment) if adjustment else None,
                    alarm_names=tuple(str(alarm.get("AlarmName", "")) for alarm in item.get("Alarms", [])),
                )
            )
    return tuple(found)


def queue_alarms(cloudwatch: AwsClient, queue_name: str) -> tuple[Alarm, ...]:
    """Alarms on ``AWS/SQS ApproximateNumberOfMessagesVisible`` for ``QueueName=queue_name``."""
    _check_name(queue_name, "queue name")
    response = call(
        cloudwatch,
        "describe_alarms_for_metric",
        "cloudwatch",
        Namespace="AWS/SQS",
        MetricName=QUEUE_METRIC,
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
    )
    found = []
    for item in response.get("MetricAlarms", []):
        # Filtered again here: AWS matches the dimensions exactly, emulators do not all do so.
        dimensions = {str(d.get("Name")): str(d.get("Value")) for d in item.get("Dimensions", [])}
        if item.get("Namespace") != "AWS/SQS" or item.get("MetricName") != QUEUE_METRIC:
            continue
        if dimensions.get("QueueName") != queue_name:
            continue
        threshold = item.get("Threshold")
        found.append(
            Alarm(
                name=str(item.get("AlarmName", "")),
                state=str(item.get("StateValue", "")),
                metric=str(item.get("MetricName", "")),
                threshold=float(threshold) if threshold is not None else None,
                comparison=str(item.get("ComparisonOperator", "")),
                actions=tuple(str(action) for action in item.get("AlarmActions", [])),
                actions_enabled=bool(item.get("ActionsEnabled", True)),
            )
        )
    return tuple(sorted(found, key=lambda alarm: alarm.name))
