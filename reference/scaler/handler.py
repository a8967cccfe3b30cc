"""Lambda ``academy-worker-queue-depth-metric`` (``infra/worker_asg/queue_depth_lambda/``).

Every minute (EventBridge ``academy-worker-queue-depth-rate``) it reads the video queue's visible and
in-flight message counts and sets the worker ASG's desired capacity to their sum, clamped to the group's
[MinSize, MaxSize] (appendix B 1, 2: "MaxSize 1이면 절대 안 늘어남"). Only boto3: it is zipped as is.

Environment: ``QUEUE_NAME`` (default ``academy-video-jobs``), ``ASG_NAME`` (default
``academy-video-worker-asg``), ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` (boto3's own).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3
from botocore.config import Config

logger = logging.getLogger("reference.scaler")
# The Lambda runtime gives the root logger a handler at WARNING; our summary line is INFO.
logger.setLevel(logging.INFO)

DEFAULT_QUEUE = "academy-video-jobs"
DEFAULT_ASG = "academy-video-worker-asg"
_CONFIG = Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})


def desired_capacity(visible: int, in_flight: int, min_size: int, max_size: int) -> int:
    """One worker per message, waiting or running, within the group's bounds.

    The clamp is ours: AWS refuses a desired capacity above MaxSize (moto accepts it), so a scaler that
    relied on the API to clamp would fail every minute exactly when the queue is deepest.
    """
    return max(min_size, min(max_size, visible + in_flight))


def lambda_handler(event: dict[str, Any] | None, context: Any) -> dict[str, int]:
    """Read the queue depth, set the ASG desired capacity if it changes, return and log the numbers."""
    queue_name = os.environ.get("QUEUE_NAME") or DEFAULT_QUEUE
    asg_name = os.environ.get("ASG_NAME") or DEFAULT_ASG
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    sqs = boto3.client("sqs", region_name=region, config=_CONFIG)
    autoscaling = boto3.client("autoscaling", region_name=region, config=_CONFIG)

    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    visible = int(attributes.get("ApproximateNumberOfMessages", 0))
    in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))

    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"]
    if not groups:
        raise LookupError(f"auto scaling group {asg_name} not found")
    group = groups[0]
    previous = int(group["DesiredCapacity"])
    max_size = int(group["MaxSize"])
    desired = desired_capacity(visible, in_flight, int(group["MinSize"]), max_size)
    if desired != previous:
        # HonorCooldown=False: the Lambda is the only scaler (no ASG policies), cooldowns would only delay.
        autoscaling.set_desired_capacity(AutoScalingGroupName=asg_name, DesiredCapacity=desired, HonorCooldown=False)

    result = {"visible": visible, "in_flight": in_flight, "desired": desired, "previous": previous, "max": max_size}
    logger.info("queue-depth %s", json.dumps({"queue": queue_name, "asg": asg_name, **result}))
    return result
