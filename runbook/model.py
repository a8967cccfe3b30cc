"""The runbook's fixed vocabulary: layers, causes, and the result of one check.

Names come from ``CONTRACT.md``; the report, ``verdict.json`` and the self-tests all use these ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["passed", "failed", "skipped", "error"]
LayerState = Literal["ok", "warn", "fail", "unknown"]

#: layer id -> (runbook section, causes). Order is the runbook's order, used for ties.
LAYERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "worker-process": (
        "§1",
        (
            "worker-not-running",
            "no-inservice-instances",
            # issue 18: one InService instance without a worker, from its boot output or its worker log
            "docker-run-failed",
            "ecr-login-failed",
            "boot-script-failed",
            "env-file-empty",
        ),
    ),
    "queue": (
        "§2",
        (
            "queue-missing",
            "queue-name-mismatch",
            "region-mismatch",
            "queue-access-denied",
            "dlq-not-empty",
            "queue-backlog",
        ),
    ),
    "worker-config": ("§3", ("config-missing", "config-error-logged", "db-mismatch")),
    "credentials": ("§4", ("aws-credentials-invalid", "r2-credentials-invalid")),
    "processing": (
        "§5",
        ("no-message-received", "job-failed", "processing-exception", "complete-not-found", "canary-slow"),
    ),
    "api-enqueue": ("§6", ("enqueue-not-logged", "enqueue-failed")),
    "progress": ("§7", ("redis-unreachable", "redis-mismatch")),
    "stuck-video": ("§9", ("stale-lock", "status-not-uploaded", "cancel-requested", "stuck-videos")),
    "autoscaling": (
        "부록 B",
        (
            "asg-max-too-low",
            "scaler-lambda-missing",
            "scaler-rule-missing",
            "scaler-rule-disabled",
            "scaler-cap-too-low",
            "scaler-not-following",
        ),
    ),
    "visibility": ("부록 B", ("long-job-blocking", "visibility-too-short")),
}

CAUSE_LAYER: dict[str, str] = {cause: layer for layer, (_, causes) in LAYERS.items() for cause in causes}


def layer_of(cause: str) -> str:
    """Return the layer a cause belongs to; raise ``KeyError`` for an unknown cause."""
    return CAUSE_LAYER[cause]


@dataclass(frozen=True)
class CheckResult:
    """One executed check, as the verdict and the report see it."""

    nodeid: str
    layer: str
    section: str
    outcome: Outcome
    cause: str | None = None
    message: str = ""
    remediation: str = ""
    evidence: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "nodeid": self.nodeid,
            "layer": self.layer,
            "cause": self.cause,
            "section": self.section,
            "outcome": self.outcome,
            "message": self.message,
            "remediation": self.remediation,
            **({"table": self.evidence["table"]} if "table" in self.evidence else {}),
        }
