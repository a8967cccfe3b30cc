"""The queue-depth Lambda against moto's SQS and AutoScaling, run as its own process (appendix B 1, 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from reference_harness import REGION, REPO, aws_client

pytestmark = pytest.mark.timeout(60)


def invoke(endpoint: str, queue: str, asg: str) -> dict[str, int]:
    """Call lambda_handler({}, None) in a fresh interpreter with the Lambda's environment."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "VIDEO_QUEUE": queue,
        "VIDEO_WORKER_ASG_NAME": asg,
        "VIDEO_WORKER_ASG_MAX": "3",
    }
    code = (
        "import json; from reference.scaler.handler import lambda_handler; print(json.dumps(lambda_handler({}, None)))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_scaler_follows_queue_depth_within_min_and_max(moto_endpoint: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    queue, asg_name = f"academy-video-jobs-{suffix}", f"academy-video-worker-asg-{suffix}"
    sqs, ec2, autoscaling = (aws_client(s, moto_endpoint) for s in ("sqs", "ec2", "autoscaling"))
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    ec2.create_launch_template(
        LaunchTemplateName=f"worker-{suffix}",
        LaunchTemplateData={"ImageId": "ami-12345678", "InstanceType": "t3.small"},
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=asg_name,
        LaunchTemplate={"LaunchTemplateName": f"worker-{suffix}", "Version": "$Latest"},
        MinSize=0,
        MaxSize=5,
        DesiredCapacity=0,
        AvailabilityZones=[f"{REGION}a"],
    )

    def desired() -> int:
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"][0]
        return int(group["DesiredCapacity"])

    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"video_id": i}))
    # One message in flight (a worker holds it): still counted.
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)

    # 3 visible + 1 in flight = 4 wanted, clamped to the Lambda's own VIDEO_WORKER_ASG_MAX 3 (not the group's
    # MaxSize 5). Above a group's MaxSize the moto server refuses the value as AWS does (row 20 covers that).
    assert invoke(moto_endpoint, queue, asg_name) == {"video_queue_depth": 3, "visible": 3, "in_flight": 1}
    assert desired() == 3

    sqs.purge_queue(QueueUrl=url)
    assert invoke(moto_endpoint, queue, asg_name) == {"video_queue_depth": 0, "visible": 0, "in_flight": 0}
    assert desired() == 0  # VIDEO_WORKER_ASG_MIN's default


def test_desired_capacity_clamp() -> None:
    from reference.scaler.handler import desired_capacity

    assert desired_capacity(5, 3, 0, 1) == 1  # the Lambda's own cap
    assert desired_capacity(0, 0, 1, 3) == 1  # its own minimum for an empty queue
    assert desired_capacity(1, 1, 0, 3) == 2  # one worker per message, waiting or running
