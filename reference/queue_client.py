"""The SQS client the API and the worker share, behaving like the real one on every path the runbook reads.

- the queue URL is looked up before every operation (no cache);
- the four credential error codes log ``SQS <op> (<queue>): <error> — ...`` at most once a minute and raise
  :class:`QueueUnavailable` (the worker then logs ``SQS unavailable ...`` and waits);
- any other lookup error logs ``Failed to get queue URL for <queue>: <error>``, and the operation logs its own
  ``Failed to send message to`` / ``Failed to receive message from`` / ``Failed to delete message`` / ``Failed to
  change message visibility`` line and returns ``False``/``None`` instead of raising.

Region: ``AWS_REGION`` or ``ap-northeast-2``; ``AWS_DEFAULT_REGION`` is not read.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import boto3

from reference import aws_config

log = logging.getLogger("libs.queue.client")

AUTH_CODES = (
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
)
DEFAULT_REGION = "ap-northeast-2"
_AUTH_LOG_INTERVAL = 60.0
_last_auth_log = [0.0]  # per process, as the real module-level timestamp


class QueueUnavailable(Exception):
    """SQS refused the credentials."""


def _auth_error(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code", "") in AUTH_CODES


class QueueClient:
    """One SQS client for a process (``SQSQueueClient initialized: <region>`` when built)."""

    def __init__(self, read_timeout: float = 30) -> None:
        self.region = os.environ.get("AWS_REGION") or DEFAULT_REGION
        self.sqs: Any = boto3.client("sqs", region_name=self.region, config=aws_config(read_timeout))
        log.info("SQSQueueClient initialized: %s", self.region)

    def _url(self, queue: str, op: str) -> str:
        try:
            return str(self.sqs.get_queue_url(QueueName=queue)["QueueUrl"])
        except Exception as exc:
            if _auth_error(exc):
                now = time.time()
                if now - _last_auth_log[0] >= _AUTH_LOG_INTERVAL:
                    log.warning(
                        "SQS %s (%s): %s — 로컬에서는 AWS 자격 증명이 없을 수 있음. 60초마다 재시도합니다.",
                        op,
                        queue,
                        exc,
                    )
                    _last_auth_log[0] = now
                raise QueueUnavailable(f"Queue URL unavailable: {exc}") from exc
            log.error("Failed to get queue URL for %s: %s", queue, exc)
            raise

    def send(self, queue: str, body: dict[str, Any]) -> bool:
        try:
            url = self._url(queue, "get_queue_url")
            self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body), DelaySeconds=0)
            return True
        except Exception as exc:  # every failure is a False, as the real client answers
            log.error("Failed to send message to %s: %s", queue, exc)
            return False

    def receive(self, queue: str, wait_time: int) -> dict[str, Any] | None:
        """One message or ``None`` (nothing, or an error already logged); raises :class:`QueueUnavailable`."""
        try:
            url = self._url(queue, "get_queue_url")
            response = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_time, MessageAttributeNames=["All"]
            )
        except QueueUnavailable:
            raise
        except Exception as exc:
            if _auth_error(exc):
                now = time.time()
                if now - _last_auth_log[0] >= _AUTH_LOG_INTERVAL:
                    log.warning(
                        "SQS %s (%s): %s — 로컬에서는 AWS 자격 증명이 없을 수 있음. 60초마다 재시도합니다.",
                        "receive_message",
                        queue,
                        exc,
                    )
                    _last_auth_log[0] = now
                raise QueueUnavailable(f"Receive unavailable: {exc}") from exc
            log.error("Failed to receive message from %s: %s", queue, exc)
            return None
        messages = response.get("Messages", [])
        return messages[0] if messages else None

    def delete(self, queue: str, receipt: str) -> bool:
        try:
            self.sqs.delete_message(QueueUrl=self._url(queue, "get_queue_url"), ReceiptHandle=receipt)
            return True
        except Exception as exc:
            log.error("Failed to delete message: %s", exc)
            return False

    def change_visibility(self, queue: str, receipt: str, seconds: int) -> bool:
        try:
            url = self._url(queue, "get_queue_url")
            self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=seconds)
            return True
        except Exception as exc:
            log.error("Failed to change message visibility: %s", exc)
            return False
