"""What a live run against a stand-in stack shares with an operator's shell, and what it must not."""

from __future__ import annotations

#: Variables of a developer's shell that would leak into the "API environment" of a live run: the stack's
#: ``api_env`` replaces them.
PIPELINE_ENV_PREFIXES: tuple[str, ...] = (
    "AWS_",
    "REDIS_",
    "DB_",
    "DATABASE_URL",
    "R2_",
    "API_BASE_URL",
    "INTERNAL_WORKER_TOKEN",
    "VIDEO_SQS",
    "RUNBOOK_",
)
