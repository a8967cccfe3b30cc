"""부록 B 1, 2, 4, 5: the fleet grows with the queue (Lambda + EventBridge, or the ASG-policy alternative)."""

from __future__ import annotations

import pytest

from runbook.evidence import Evidence
from runbook.findings import fail, unknown
from runbook.target import Target

pytestmark = [pytest.mark.runbook(layer="autoscaling", section="부록 B"), pytest.mark.asg]


def _policy_alternative(evidence: Evidence) -> bool:
    """5-A: a step scaling policy and a CloudWatch alarm on the queue depth replace the Lambda."""
    policies = evidence.attempt("asg.policies")[0] or ()
    alarms = evidence.attempt("asg.alarms")[0] or ()
    return bool(policies) and bool(alarms)


def test_scaler_lambda(evidence: Evidence, target: Target) -> None:
    _, error = evidence.attempt("scaler.lambda")
    if error is not None and error.kind == "not-found":
        alternative, _ = evidence.attempt("scaler.alt_lambda")
        if alternative is not None:
            cap = alternative.env.get("MAX_INSTANCES_PER_TYPE", "1")
            if cap.isdigit() and int(cap) < 2:
                fail("scaler-cap-too-low", function=alternative.name, cap=cap, region=target.api.region)
            return
        if _policy_alternative(evidence):
            return
        fail("scaler-lambda-missing", function=target.scaler_lambda, region=target.api.region)
    if error is not None:
        unknown("probe-error", dependency=error.dependency, error=str(error))


def test_scaler_rule(evidence: Evidence, target: Target) -> None:
    facts = {"rule": target.scaler_rule, "region": target.api.region}
    rule, error = evidence.attempt("scaler.rule")
    if error is not None and error.kind == "not-found":
        if _policy_alternative(evidence):
            return
        fail("scaler-rule-missing", detail="규칙 없음 / rule not found", **facts)
    if error is not None:
        unknown("probe-error", dependency=error.dependency, error=str(error))
    if not rule.enabled:
        fail("scaler-rule-disabled", state=rule.state, **facts)
    if (rule.schedule or "").replace(" ", "") not in ("rate(1minute)", "rate(1minutes)"):
        fail("scaler-rule-missing", detail=f"schedule {rule.schedule} ≠ rate(1 minute)", **facts)
    function, _ = evidence.attempt("scaler.lambda")
    if function is not None and not any(
        arn.split(":function:")[-1].split(":")[0] == function.name for arn in rule.targets
    ):
        fail("scaler-rule-missing", detail=f"targets {list(rule.targets)} ∌ {function.name}", **facts)


def test_asg_max_size(evidence: Evidence, target: Target) -> None:
    """MaxSize 1 never grows (부록 B 2)."""
    group = evidence.need("asg")
    queue, _ = evidence.attempt("sqs.api")
    depth = (queue.visible + queue.in_flight) if queue is not None else "?"
    if group.max_size < 2:
        fail("asg-max-too-low", asg=group.name, max=group.max_size, depth=depth, region=target.api.region)
