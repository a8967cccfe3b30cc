"""ASG, EC2, scaling policy, alarm, Lambda and EventBridge probes against a real moto server."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from runbook.clients import aws_client
from runbook.probes import ProbeError, asg, scaler

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("moto_reset")]

REGION = "ap-northeast-2"
# moto builds ASGs and instances slowly on a busy 2-core machine; the probes' own timeouts are
# tested against black holes, not here.
MOTO_TIMEOUT = 20.0
ASG = "academy-video-worker-asg"
TAG = "academy-video-worker"
QUEUE = "academy-video-jobs"
LAMBDA = "academy-worker-queue-depth-metric"
RULE = "academy-worker-queue-depth-rate"
AMI = "ami-12c6146b"  # one of moto's built-in images


@pytest.fixture
def client(moto_url: str) -> Callable[[str], Any]:
    """``client("autoscaling")`` built by the production builder, pointed at moto."""

    def build(service: str) -> Any:
        return aws_client(
            service,
            region=REGION,
            access_key="testing",
            secret_key="testing",
            endpoint_url=moto_url,
            timeout=MOTO_TIMEOUT,
        )

    return build


def _read_only(aws: Any, calls: list[str]) -> Any:
    aws.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    return aws


def _make_asg(client: Callable[[str], Any], *, desired: int, max_size: int) -> None:
    client("ec2").create_launch_template(
        LaunchTemplateName="video-worker", LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.small"}
    )
    client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=ASG,
        LaunchTemplate={"LaunchTemplateName": "video-worker", "Version": "$Latest"},
        MinSize=0,
        MaxSize=max_size,
        DesiredCapacity=desired,
        AvailabilityZones=[f"{REGION}a"],
        Tags=[{"Key": "Name", "Value": TAG, "PropagateAtLaunch": True}],
    )


def test_asg_info_and_tagged_running_instances(client: Callable[[str], Any]) -> None:
    _make_asg(client, desired=2, max_size=3)
    # An instance with a longer Name must not count (the tag filter is exact).
    client("ec2").run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"{TAG}-2"}]}],
    )
    calls: list[str] = []

    info = asg.asg_info(_read_only(client("autoscaling"), calls), ASG)
    running = asg.running_instances(_read_only(client("ec2"), calls), TAG)

    assert (info.name, info.min_size, info.max_size, info.desired) == (ASG, 0, 3, 2)
    assert info.in_service == 2 and len(info.instances) == 2
    assert {i.lifecycle_state for i in info.instances} == {"InService"}
    assert {i.health_status for i in info.instances} == {"Healthy"}
    assert {i.id for i in running} == {i.id for i in info.instances}
    assert all(i.state == "running" and i.launch_time is not None for i in running)
    assert set(calls) == {"DescribeAutoScalingGroups", "DescribeInstances"}


def test_asg_with_nothing_in_service(client: Callable[[str], Any]) -> None:
    _make_asg(client, desired=0, max_size=1)
    info = asg.asg_info(client("autoscaling"), ASG)
    assert (info.desired, info.max_size, info.in_service, info.instances) == (0, 1, 0, ())
    assert asg.running_instances(client("ec2"), TAG) == ()


def test_missing_asg_is_not_found(client: Callable[[str], Any]) -> None:
    with pytest.raises(ProbeError) as caught:
        asg.asg_info(client("autoscaling"), ASG)
    assert (caught.value.dependency, caught.value.kind) == ("autoscaling", "not-found")


def test_scaling_policies_and_queue_alarms(client: Callable[[str], Any]) -> None:
    _make_asg(client, desired=1, max_size=2)
    assert asg.scaling_policies(client("autoscaling"), ASG) == ()
    assert asg.queue_alarms(client("cloudwatch"), QUEUE) == ()

    client("autoscaling").put_scaling_policy(
        AutoScalingGroupName=ASG,
        PolicyName="video-queue-scaleout",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    )
    # moto's put_scaling_policy answers without the PolicyARN that AWS returns.
    listed = client("autoscaling").describe_policies(AutoScalingGroupName=ASG)["ScalingPolicies"]
    policy_arn = listed[0]["PolicyARN"]
    cloudwatch = client("cloudwatch")
    for name, queue in (("academy-video-queue-depth-scaleout", QUEUE), ("other-queue-alarm", "other-queue")):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": queue}],
            Statistic="Sum",
            Period=60,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            EvaluationPeriods=1,
            AlarmActions=[policy_arn],
        )

    (policy,) = asg.scaling_policies(client("autoscaling"), ASG)
    assert (policy.name, policy.policy_type, policy.adjustment_type) == (
        "video-queue-scaleout",
        "StepScaling",
        "ChangeInCapacity",
    )
    (alarm,) = asg.queue_alarms(client("cloudwatch"), QUEUE)
    assert alarm.name == "academy-video-queue-depth-scaleout"
    assert (alarm.metric, alarm.threshold, alarm.comparison) == (
        "ApproximateNumberOfMessagesVisible",
        1.0,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm.actions == (policy_arn,)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def test_lambda_and_rule(client: Callable[[str], Any]) -> None:
    role = client("iam").create_role(RoleName="scaler", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function_arn = client("lambda").create_function(
        FunctionName=LAMBDA,
        Runtime="python3.11",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {"QUEUE_NAME": QUEUE, "WEBHOOK_SECRET": "s3cr3t-value", "NOTE": "plain"}},
    )["FunctionArn"]
    events = client("events")
    events.put_rule(Name=RULE, ScheduleExpression="rate(1 minute)", State="ENABLED")
    events.put_targets(Rule=RULE, Targets=[{"Id": "scaler", "Arn": function_arn}])
    calls: list[str] = []

    function = scaler.lambda_function(
        _read_only(client("lambda"), calls), LAMBDA, keep_env={"QUEUE_NAME", "WEBHOOK_SECRET"}
    )
    found = scaler.rule(_read_only(client("events"), calls), RULE)

    assert (function.name, function.arn) == (LAMBDA, function_arn)
    assert function.env == {"QUEUE_NAME": QUEUE, "WEBHOOK_SECRET": "s3cr3t-value"}, "only the names asked for"
    assert scaler.lambda_function(client("lambda"), LAMBDA).env == {}, "nothing kept unless asked"
    assert "s3cr3t-value" not in repr(function)
    assert function.last_modified
    assert (found.name, found.state, found.schedule, found.targets) == (
        RULE,
        "ENABLED",
        "rate(1 minute)",
        (function_arn,),
    )
    assert found.enabled
    assert set(calls) == {"GetFunctionConfiguration", "DescribeRule", "ListTargetsByRule"}

    events.disable_rule(Name=RULE)
    assert not scaler.rule(client("events"), RULE).enabled


def test_missing_lambda_and_rule_are_not_found(client: Callable[[str], Any]) -> None:
    with pytest.raises(ProbeError) as lambda_error:
        scaler.lambda_function(client("lambda"), LAMBDA)
    with pytest.raises(ProbeError) as rule_error:
        scaler.rule(client("events"), RULE)
    assert (lambda_error.value.dependency, lambda_error.value.kind) == ("lambda", "not-found")
    assert (rule_error.value.dependency, rule_error.value.kind) == ("events", "not-found")


def test_last_scaling_activity(client: Callable[[str], Any]) -> None:
    """moto lists no scaling activity (its DescribeScalingActivities is a stub): ``None``; AWS's newest
    activity is read from a stubbed answer of the documented shape."""
    from datetime import UTC, datetime

    from botocore.stub import Stubber

    _make_asg(client, desired=1, max_size=3)
    calls: list[str] = []
    assert asg.last_scaling_activity(_read_only(client("autoscaling"), calls), ASG) is None
    assert calls == ["DescribeScalingActivities"]

    aws = client("autoscaling")
    started = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with Stubber(aws) as stub:
        stub.add_response(
            "describe_scaling_activities",
            {
                "Activities": [
                    {
                        "ActivityId": "a1",
                        "AutoScalingGroupName": ASG,
                        "Cause": "a user request explicitly set group desired capacity changing from 1 to 2",
                        "StartTime": started,
                        "StatusCode": "Successful",
                        "Description": "Launching a new EC2 instance",
                    }
                ]
            },
            {"AutoScalingGroupName": ASG, "MaxRecords": 1},
        )
        activity = asg.last_scaling_activity(aws, ASG)
    assert activity is not None and activity.start == started and activity.status == "Successful"
    assert "desired capacity" in activity.cause
