"""부록 B 1, 2, 4, 5: the fleet grows with the queue (Lambda + EventBridge, or the ASG-policy alternative), and
its desired capacity follows the queue as the Lambda computes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runbook import production
from runbook.evidence import Evidence, permission_missing
from runbook.findings import Unknown, fail, unknown
from runbook.message_state import infer, worker_visibility
from runbook.target import Target

pytestmark = [pytest.mark.runbook(layer="autoscaling", section="부록 B"), pytest.mark.asg]


def _policy_alternative(evidence: Evidence) -> bool:
    """5-A: a step scaling policy and a CloudWatch alarm on the queue depth replace the Lambda. Unseen for want
    of a permission is not "absent": that is ``unknown``, naming the permission."""
    policies, policies_error = evidence.attempt("asg.policies")
    alarms, alarms_error = evidence.attempt("asg.alarms")
    for key, error in (("asg.policies", policies_error), ("asg.alarms", alarms_error)):
        if error is not None and error.kind == "denied" and error.action:
            permission_missing(key, error)
    return bool(policies or ()) and bool(alarms or ())


def test_scaler_lambda(evidence: Evidence, target: Target) -> None:
    _, error = evidence.attempt("scaler.lambda")
    if error is not None and error.kind == "not-found":
        alternative, alt_error = evidence.attempt("scaler.alt_lambda")
        if alt_error is not None and alt_error.kind == "denied" and alt_error.action:
            permission_missing("scaler.alt_lambda", alt_error)
        if alternative is not None:
            cap = alternative.env.get("MAX_INSTANCES_PER_TYPE", "1")
            if cap.isdigit() and int(cap) < 2:
                fail(
                    "scaler-cap-too-low",
                    function=alternative.name,
                    setting="MAX_INSTANCES_PER_TYPE",
                    cap=cap,
                    region=target.api.region,
                )
            return
        if _policy_alternative(evidence):
            return
        fail("scaler-lambda-missing", function=target.scaler_lambda, region=target.api.region)
    if error is not None:
        unknown("probe-error", dependency=error.dependency, error=str(error))
    _, high = _scaler_bounds(evidence)
    if high < 2:  # the Lambda's own cap: never a second worker, whatever the group allows
        fail(
            "scaler-cap-too-low",
            function=target.scaler_lambda,
            setting=production.SCALER_MAX_VARIABLE,
            cap=high,
            region=target.api.region,
        )


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
    """MaxSize 1 never grows (부록 B 2): a fault while jobs queue up (CONTRACT row 20), i.e. a job waits visible
    beside another one (in flight or visible) that the one worker allowed will take first. With an empty or
    single-job queue, MaxSize 1 keeps nobody waiting: nothing to report."""
    group = evidence.need("asg")
    if group.max_size >= 2:
        return
    queue, error = evidence.attempt("sqs.api")
    if queue is None:
        unknown(
            "probe-error",
            dependency=error.dependency if error is not None else "sqs",
            error=f"MaxSize {group.max_size}: 작업이 쌓이는지 큐를 읽어야 판단 / whether jobs queue up needs the queue"
            + (f" ({error})" if error is not None else ""),
        )
    depth = queue.visible + queue.in_flight
    if queue.visible >= 1 and depth >= 2:
        fail("asg-max-too-low", asg=group.name, max=group.max_size, depth=depth, region=target.api.region)


#: The scaler's period (EventBridge ``rate(1 minute)``, 부록 B 1): a gap younger than two ticks may be the next
#: tick's to close, so it is no fault.
TICK_SECONDS = 60.0


#: Inferred states that put a message in the queue now. Not "failed-visible" (past its receives it may sit in
#: the DLQ) nor the counter corrections (the log and the counters disagree about that video).
_QUEUED = frozenset({"waiting", "running", "expired", "failed-kept", "elsewhere-in-flight"})


def _optional(evidence: Evidence, key: str) -> Any:
    """Evidence that sharpens the judgement but is not required (``None`` if missing, unreadable or not planned)."""
    try:
        value, _ = evidence.attempt(key)
    except (Unknown, KeyError):
        return None
    return value


def _backlog_ages(evidence: Evidence, queue: Any, now: datetime) -> list[float] | None:
    """How long each message still in the queue (visible or in flight, as :mod:`runbook.message_state` infers
    it) has been there: from the API's enqueue line, else the worker's receive line. ``None``: no log."""
    worker_log = _optional(evidence, "log.worker")
    api_log = _optional(evidence, "log.api")
    if worker_log is None and api_log is None:
        return None
    worker = _optional(evidence, "worker.side")
    visibility = worker_visibility(worker.env if worker is not None else None)
    ids = set(api_log.enqueued if api_log is not None else ()) | set(
        worker_log.timelines if worker_log is not None else ()
    )
    ages = []
    for vid in ids:
        message = infer(vid, worker_log=worker_log, api_log=api_log, queue=queue, now=now, visibility=visibility)
        since = message.enqueued_at or message.received_at
        if message.reason in _QUEUED and since is not None:
            ages.append((now - since).total_seconds())
    return ages


def _scaler_bounds(evidence: Evidence) -> tuple[int, int]:
    """The Lambda's own ``VIDEO_WORKER_ASG_MIN`` / ``VIDEO_WORKER_ASG_MAX`` (only these two of its variables are
    read), else production's defaults (lambda_function.py:38-40, ``runbook.production``)."""
    function = _optional(evidence, "scaler.lambda")
    env = getattr(function, "env", None) or {}

    def bound(name: str, default: int) -> int:
        raw = str(env.get(name, "")).strip()
        return int(raw) if raw.isdigit() else default

    return (
        bound(production.SCALER_MIN_VARIABLE, production.SCALER_MIN_DEFAULT),
        bound(production.SCALER_MAX_VARIABLE, production.SCALER_MAX_DEFAULT),
    )


def test_desired_follows_queue(evidence: Evidence, target: Target) -> None:
    """부록 B 1: every minute the Lambda sets desired = clamp(visible + in-flight, MinSize, MaxSize).

    Desired below that is a fault only when the scaler had its chance: messages that have been in the queue for
    more than two ticks call for at least that many workers (the API's enqueue times, the worker's receive
    times, or CloudWatch's oldest-message age when the run reads it). A younger gap is the next tick's to close.
    Desired above it (scale-in not done yet) keeps no video waiting and is not judged.
    """
    group = evidence.need("asg")
    queue = evidence.need("sqs.api")
    depth = queue.visible + queue.in_flight
    # The real Lambda clamps with its own VIDEO_WORKER_ASG_MIN/MAX (not the group's bounds); AWS then refuses a
    # value outside [MinSize, MaxSize] (부록 B 2's finding), so the group can reach at most the overlap.
    low, high = _scaler_bounds(evidence)
    expected = max(group.min_size, min(group.max_size, max(low, min(high, depth))))
    if group.desired >= expected:
        return
    now = datetime.now(UTC)
    ages = _backlog_ages(evidence, queue, now)
    reading = _optional(evidence, "sqs.oldest_age")
    cloudwatch_age = getattr(reading, "value", None)
    old = sum(1 for age in ages or () if age >= 2 * TICK_SECONDS)
    if isinstance(cloudwatch_age, (int, float)) and cloudwatch_age >= 2 * TICK_SECONDS:
        old = max(old, 1)
    old = min(old, depth)
    required = max(group.min_size, min(group.max_size, old))
    oldest = int(max([*(ages or ()), float(cloudwatch_age or 0)]))
    activity = _optional(evidence, "asg.activity")
    last = (
        f"{int((now - activity.start).total_seconds())}s"
        if activity is not None and activity.start is not None
        else "—"
    )
    facts = {
        "asg": group.name,
        "desired": group.desired,
        "expected": expected,
        "visible": queue.visible,
        "in_flight": queue.in_flight,
        "min": group.min_size,
        "max": group.max_size,
        "region": target.api.region,
        "function": target.scaler_lambda,
    }
    if group.desired < required:
        fail(
            "scaler-not-following",
            why=f"{old}개가 2틱(120s) 넘게 큐에 있음 (가장 오래된 것 {oldest}s, 마지막 스케일링 활동 {last} 전)",
            why_en=f"{old} message(s) queued for over two ticks (120 s; oldest {oldest} s, last scaling "
            f"activity {last} ago)",
            **facts,
        )
    if ages is None and cloudwatch_age is None:
        unknown(
            "not-configured",
            setting=f"--api-log / --worker-log (desired {group.desired} < {expected}: "
            "순간적인 지연인지 판단할 메시지 나이)",
        )
