"""Stand-in pipeline: small, contract-faithful copies of the programs the runbook is about.

- ``reference.api``          the API (``python -m reference.api``): videos, upload complete -> SQS, progress.
- ``reference.video_worker`` the Video Worker (``python -m reference.video_worker``): SQS -> ffmpeg -> R2.
- ``reference.scaler``       the queue-depth Lambda (``lambda_handler``) that sets the ASG desired capacity.
- ``reference.db``           the tiny database layer the API and the worker share.

The programs are configured only through environment variables and log to stdout, one line per record,
so that a hermetic rehearsal can run them as real processes and judge their logs against the runbook.
This module holds what both long-running programs share: their log format and their client timeouts.
It imports only the standard library at import time, so that the scaler Lambda (boto3 only) can live in
the same package.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Chatty libraries log their internals at INFO; the rehearsal judges our lines, so keep theirs quiet.
_QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


class UtcIsoFormatter(logging.Formatter):
    """Format ``asctime`` as ISO-8601 UTC with milliseconds (``2026-11-26T12:00:00.123Z``).

    UTC because the API, the worker and the suite may run in different time zones and the suite
    orders lines from several files by their timestamps.
    """

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def configure_logging(stream: object | None = None) -> None:
    """Send every record to stdout (or ``stream``), one flushed line each, in the shared format.

    ``logging.StreamHandler`` flushes after each record, so lines reach a redirected file at once even
    though Python buffers stdout when it is not a terminal. ``LOG_LEVEL`` (default INFO) sets the level.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)  # type: ignore[arg-type]
    handler.setFormatter(UtcIsoFormatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def redis_client(host: str, port: int, password: str | None, db: int) -> redis.Redis:
    """A Redis client that fails fast: 1 s timeouts and one immediate retry.

    Redis only shows progress and guards idempotency (runbook §7), so it must never stall a request or
    an encode. The single retry covers a connection the server closed; redis-py's default (3 retries
    with backoff) spends ~4 s on every call while Redis is down.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        host=host,
        port=port,
        password=password,
        db=db,
        socket_timeout=1,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 1),
    )


def aws_config(read_timeout: float = 5) -> Any:
    """botocore ``Config`` for SQS: 5 s to connect, few retries, so a dead endpoint is an error in
    seconds (an API 503, a worker's "SQS unavailable") instead of a hang."""
    from botocore.config import Config

    return Config(connect_timeout=5, read_timeout=read_timeout, retries={"max_attempts": 2, "mode": "standard"})
