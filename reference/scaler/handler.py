"""Lambda ``academy-worker-queue-depth-metric`` (the real ``infra/worker_asg/queue_depth_lambda``), video part.

Every minute (EventBridge ``academy-worker-queue-depth-rate``) it reads the video queue's visible and in-flight
counts and sets the worker ASG's desired capacity: one instance per message, clamped to the Lambda's own
``VIDEO_WORKER_ASG_MIN`` (default 0) / ``VIDEO_WORKER_ASG_MAX`` (default 20), not to the group's bounds. AWS
refuses a value outside the group's [MinSize, MaxSize] (``set_asg_desired failed ...`` every minute; desired
stays). A queue it cannot read counts as empty. It publishes the visible count as ``Academy/Workers
QueueDepth`` (``WorkerType=Video``). Only boto3: it is zipped as is.

Environment: ``VIDEO_QUEUE`` (``academy-video-jobs``), ``VIDEO_WORKER_ASG_NAME`` (``academy-video-worker-asg``),
``VIDEO_WORKER_ASG_MIN``/``_MAX``, ``AWS_REGION`` (``ap-northeast-2``), ``AWS_ENDPOINT_URL`` (boto3's own).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3
from botocore.config import Config

logger = logging.getLogger()
logger.setLevel(logging.INFO)

_CONFIG = Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})


def desired_capacity(visible: int, in_flight: int, low: int, high: int) -> int:
    """One worker per message, waiting or running, within the Lambda's own bounds."""
    total = visible + in_flight
    if total == 0:
        return low
    return min(high, max(low, total))


def _counts(sqs: Any, queue: str) -> tuple[int, int]:
    try:
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0)), int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )
    except Exception as exc:
        logger.warning("SQS get_queue_attributes failed for %s: %s", queue, exc)
        return 0, 0


def _set_desired(autoscaling: Any, name: str, desired: int, visible: int, in_flight: int) -> None:
    try:
        groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
        if not groups:
            logger.warning("ASG not found: %s", name)
            return
        current = int(groups[0]["DesiredCapacity"])
        autoscaling.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=desired)
        if current != desired:
            logger.info("%s desired %s -> %s (visible=%d in_flight=%d)", name, current, desired, visible, in_flight)
    except Exception as exc:
        logger.warning("set_asg_desired failed for %s: %s", name, exc)


def lambda_handler(event: dict[str, Any] | None, context: Any) -> dict[str, int]:
    """Read the queue depth, set the ASG's desired capacity, publish the metric; return the visible count."""
    region = os.environ.get("AWS_REGION", "ap-northeast-2")
    queue = os.environ.get("VIDEO_QUEUE", "academy-video-jobs")
    name = os.environ.get("VIDEO_WORKER_ASG_NAME", "academy-video-worker-asg")
    low = int(os.environ.get("VIDEO_WORKER_ASG_MIN", "0"))
    high = int(os.environ.get("VIDEO_WORKER_ASG_MAX", "20"))
    sqs = boto3.client("sqs", region_name=region, config=_CONFIG)
    autoscaling = boto3.client("autoscaling", region_name=region, config=_CONFIG)
    visible, in_flight = _counts(sqs, queue)
    _set_desired(autoscaling, name, desired_capacity(visible, in_flight, low, high), visible, in_flight)
    try:
        boto3.client("cloudwatch", region_name=region, config=_CONFIG).put_metric_data(
            Namespace="Academy/Workers",
            MetricData=[
                {"MetricName": "QueueDepth", "Dimensions": [{"Name": "WorkerType", "Value": "Video"}],
                 "Value": visible, "Unit": "Count"}
            ],
        )  # fmt: skip
    except Exception as exc:
        logger.warning("put_metric_data failed: %s", exc)
    logger.info("queue_depth_metric | video visible=%d in_flight=%d", visible, in_flight)
    return {"video_queue_depth": visible, "visible": visible, "in_flight": in_flight}
