"""ASG MaxSize 1 is a fault while jobs queue up (CONTRACT row 20), not on an idle queue (issue 16).

A hand-built Auto Scaling group in moto, MaxSize 1 and one worker, and the real queue in three states: empty,
one job on the worker, and three jobs (one on the worker, two waiting).
"""

from __future__ import annotations

import json

import pytest

from tests.production.handbuilt import QUEUE, REGION, HandBuilt

pytestmark = pytest.mark.timeout(300)

ASG = "academy-video-worker-asg"


def _group(prod: HandBuilt, max_size: int) -> None:
    ec2 = prod.servers.aws("ec2")
    ec2.create_launch_template(
        LaunchTemplateName="academy-video-worker",
        LaunchTemplateData={"ImageId": "ami-0c9c942bd7bf113a2", "InstanceType": "t3.small"},
    )
    prod.servers.aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=ASG,
        LaunchTemplate={"LaunchTemplateName": "academy-video-worker", "Version": "$Latest"},
        MinSize=0,
        MaxSize=max_size,
        DesiredCapacity=1,
        AvailabilityZones=[f"{REGION}a"],
    )


def _jobs(prod: HandBuilt, count: int, on_worker: int) -> None:
    """``count`` messages in the queue, ``on_worker`` of them received (in flight, as a worker holds one)."""
    sqs = prod.servers.aws("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    for vid in range(800, 800 + count):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"video_id": vid, "tenant_id": 1}))
    if on_worker:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=on_worker, VisibilityTimeout=3600)
        assert len(got.get("Messages", [])) == on_worker


@pytest.mark.parametrize(("count", "on_worker", "fails"), [(0, 0, False), (1, 1, False), (3, 1, True)])
def test_max_size_1_fails_only_while_jobs_queue_up(prod: HandBuilt, count: int, on_worker: int, fails: bool) -> None:
    _group(prod, max_size=1)
    _jobs(prod, count, on_worker)
    run = prod.run("checks/test_b_autoscaling.py", marker="live and asg")
    check = run.check("test_asg_max_size")
    if fails:
        assert check["outcome"] == "failed" and check["cause"] == "asg-max-too-low", run.output[-3000:]
        assert "MaxSize 1" in check["message"] and "3" in check["message"], check
    else:
        assert check["outcome"] == "passed", run.output[-3000:]
