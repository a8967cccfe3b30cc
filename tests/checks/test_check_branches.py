"""Check branches no fault-matrix row reaches, judged on hand-made evidence.

The fault matrix proves the checks on real parts; these cases cover the remaining causes and the
"recognised as valid" alternatives of appendix B, with the evidence objects the probes return.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runbook.config import side_from_env
from runbook.findings import CheckFailed, Unknown, unknown
from runbook.logs import summarize
from runbook.probes.asg import Alarm, AsgInfo, ScalingPolicy
from runbook.probes.errors import ProbeError
from runbook.probes.scaler import LambdaInfo, RuleInfo
from runbook.probes.sqs import QueueInfo
from runbook.target import Target

CHECKS = Path(__file__).resolve().parents[2] / "checks"


def _load(name: str) -> Any:
    """A check module under a private name: importing it as ``checks.*`` or by its basename would clash with
    pytest's own import of checks/ in pytester runs within the same process."""
    spec = importlib.util.spec_from_file_location(f"_branch_{name}", CHECKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in a check module look their module up by name
    spec.loader.exec_module(module)
    return module


b_autoscaling = _load("test_b_autoscaling")
b_visibility = _load("test_b_visibility")
s2_queue = _load("test_s2_queue")

ENV = {"AWS_REGION": "ap-northeast-2", "REDIS_HOST": "127.0.0.1", "API_BASE_URL": "http://127.0.0.1:8000"}


class FakeEvidence:
    """``need``/``attempt`` over a dict; a missing key is "not configured", as in the real Evidence."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def attempt(self, key: str) -> tuple[Any, ProbeError | None]:
        if key not in self.values:
            unknown("not-configured", setting=key)
        value = self.values[key]
        return (None, value) if isinstance(value, ProbeError) else (value, None)

    def need(self, key: str) -> Any:
        value, error = self.attempt(key)
        if error is not None:
            unknown("probe-error", dependency=error.dependency, error=str(error))
        return value


def target(**kw: Any) -> Target:
    return Target(mode="live", api=side_from_env(ENV, "api"), deployment="asg", deployments=("asg",), **kw)


def queue(visible: int = 0, in_flight: int = 0, visibility: int = 30) -> QueueInfo:
    return QueueInfo(
        name="academy-video-jobs",
        url="http://q/academy-video-jobs",
        arn="arn:aws:sqs:ap-northeast-2:1:academy-video-jobs",
        visible=visible,
        in_flight=in_flight,
        delayed=0,
        visibility_timeout=visibility,
        oldest_age_seconds=None,
        redrive_dlq_arn=None,
        max_receive_count=None,
    )


def asg(max_size: int = 3, in_service: int = 1) -> AsgInfo:
    return AsgInfo(
        name="academy-video-worker-asg",
        min_size=0,
        max_size=max_size,
        desired=in_service,
        instances=(),
        in_service=in_service,
    )


LAMBDA = LambdaInfo(
    name="academy-worker-queue-depth-metric",
    arn="arn:aws:lambda:ap-northeast-2:1:function:academy-worker-queue-depth-metric",
    state="Active",
    env={},
)
RULE = RuleInfo(
    name="academy-worker-queue-depth-rate",
    arn="arn:r",
    state="ENABLED",
    schedule="rate(1 minute)",
    targets=(LAMBDA.arn,),
)
MISSING = ProbeError("lambda", "not-found", "Function not found")


def cause_of(check: Any, evidence: FakeEvidence, t: Target | None = None) -> str | None:
    try:
        check(evidence, t or target())
    except CheckFailed as exc:
        return exc.cause
    return None


def test_scaler_healthy_and_each_fault() -> None:
    healthy = {"scaler.lambda": LAMBDA, "scaler.rule": RULE, "asg": asg(), "sqs.api": queue()}
    assert cause_of(b_autoscaling.test_scaler_lambda, FakeEvidence(healthy)) is None
    assert cause_of(b_autoscaling.test_scaler_rule, FakeEvidence(healthy)) is None
    assert cause_of(b_autoscaling.test_asg_max_size, FakeEvidence(healthy)) is None
    slow = RuleInfo(name=RULE.name, arn="arn:r", state="ENABLED", schedule="rate(5 minutes)", targets=RULE.targets)
    assert (
        cause_of(b_autoscaling.test_scaler_rule, FakeEvidence({**healthy, "scaler.rule": slow}))
        == "scaler-rule-missing"
    )
    elsewhere = RuleInfo(
        name=RULE.name, arn="arn:r", state="ENABLED", schedule="rate(1 minute)", targets=("arn:other",)
    )
    assert (
        cause_of(b_autoscaling.test_scaler_rule, FakeEvidence({**healthy, "scaler.rule": elsewhere}))
        == "scaler-rule-missing"
    )


def test_max_size_1_is_a_fault_only_while_jobs_queue_up() -> None:
    """CONTRACT row 20: "ASG MaxSize 1 while jobs queue up". An idle queue, or one job on the one worker, keeps
    nobody waiting; a job waiting beside another one does."""
    check = b_autoscaling.test_asg_max_size
    for visible, in_flight in ((0, 0), (0, 1), (1, 0)):
        assert cause_of(check, FakeEvidence({"asg": asg(max_size=1), "sqs.api": queue(visible, in_flight)})) is None
    for visible, in_flight in ((1, 1), (2, 1), (2, 0)):
        evidence = FakeEvidence({"asg": asg(max_size=1), "sqs.api": queue(visible, in_flight)})
        assert cause_of(check, evidence) == "asg-max-too-low", (visible, in_flight)
    with pytest.raises(Unknown):  # the queue unreadable: whether jobs queue up is unknown
        check(FakeEvidence({"asg": asg(max_size=1), "sqs.api": ProbeError("sqs", "timeout", "timeout")}), target())


def test_alternative_scaler_cap() -> None:
    alt = LambdaInfo(
        name="academy-worker-autoscale", arn="arn:alt", state="Active", env={"MAX_INSTANCES_PER_TYPE": "1"}
    )
    values = {"scaler.lambda": MISSING, "scaler.alt_lambda": alt}
    assert cause_of(b_autoscaling.test_scaler_lambda, FakeEvidence(values)) == "scaler-cap-too-low"
    raised = LambdaInfo(name=alt.name, arn=alt.arn, state="Active", env={"MAX_INSTANCES_PER_TYPE": "2"})
    assert cause_of(b_autoscaling.test_scaler_lambda, FakeEvidence({**values, "scaler.alt_lambda": raised})) is None


def test_asg_policy_alternative_is_valid_without_the_lambda() -> None:
    """부록 B 5-A: a step scaling policy and an alarm on the queue replace Lambda and rule."""
    policy = ScalingPolicy(
        name="video-queue-scaleout", policy_type="StepScaling", adjustment_type="ChangeInCapacity", alarm_names=("a",)
    )
    alarm = Alarm(
        name="academy-video-queue-depth-scaleout",
        state="OK",
        metric="ApproximateNumberOfMessagesVisible",
        threshold=1.0,
        comparison="GreaterThanOrEqualToThreshold",
        actions=("arn:p",),
        actions_enabled=True,
    )
    missing = ProbeError("events", "not-found", "rule not found")
    values: dict[str, Any] = {
        "scaler.lambda": MISSING,
        "scaler.alt_lambda": MISSING,
        "scaler.rule": missing,
        "asg.policies": (policy,),
        "asg.alarms": (alarm,),
    }
    assert cause_of(b_autoscaling.test_scaler_lambda, FakeEvidence(values)) is None
    assert cause_of(b_autoscaling.test_scaler_rule, FakeEvidence(values)) is None
    values["asg.alarms"] = ()
    assert cause_of(b_autoscaling.test_scaler_lambda, FakeEvidence(values)) == "scaler-lambda-missing"


def _log(lines: list[str]) -> Any:
    return summarize(lines, source="worker.log")


def test_visibility_too_short_and_long_job() -> None:
    start = datetime.now(UTC) - timedelta(hours=7)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    lines = [
        f"{stamp(start)} INFO worker: SQS_MESSAGE_RECEIVED | request_id=r | video_id=17 | tenant_id=1",
        f"{stamp(start)} INFO worker: [HANDLER] Lock acquired, marking as PROCESSING video_id=17",
        f"{stamp(start + timedelta(hours=6, minutes=30))} INFO worker: [HANDLER] process_fn completed video_id=17 hls_path=hls/17/index.m3u8",
    ]
    worker = side_from_env(ENV, "worker")
    values = {
        "worker.side": worker,
        "sqs.api": queue(visible=1, in_flight=1),  # VisibilityTimeout 30 s <= the 240 s extension interval
        "log.worker": _log(lines),
        "asg": asg(in_service=1),
    }
    assert cause_of(b_visibility.test_visibility_covers_longest_encode, FakeEvidence(values)) == "visibility-too-short"
    # Production's queue (300 s > 240 s): the worker's extensions keep a 6.5 h encode hidden.
    long_ok = {**values, "sqs.api": queue(visible=1, in_flight=1, visibility=300)}
    assert cause_of(b_visibility.test_visibility_covers_longest_encode, FakeEvidence(long_ok)) is None
    # 240 s or less, but every job shorter than it: the first extension comes in time.
    quick_end = lines[2].replace(stamp(start + timedelta(hours=6, minutes=30)), stamp(start + timedelta(seconds=20)))
    short = _log([*lines[:2], quick_end])
    quick = {**values, "log.worker": short}
    assert cause_of(b_visibility.test_visibility_covers_longest_encode, FakeEvidence(quick)) is None
    assert cause_of(b_visibility.test_long_job_not_blocking, FakeEvidence(values)) == "long-job-blocking"
    # Two workers: the short job has somewhere to go.
    assert cause_of(b_visibility.test_long_job_not_blocking, FakeEvidence({**values, "asg": asg(in_service=2)})) is None
    # Nothing waits: not blocking.
    assert cause_of(b_visibility.test_long_job_not_blocking, FakeEvidence({**values, "sqs.api": queue(0, 1)})) is None


def test_queue_access_denied_and_auth_is_not_a_queue_fault() -> None:
    worker = side_from_env(ENV, "worker")

    def denied(side: str, action: str | None) -> dict[str, Any]:
        error = ProbeError("sqs", "denied", "AccessDenied", action=action)
        return {f"sqs.{side}": error, "worker.side": worker}

    def reachable(side: str) -> Any:
        return lambda e, t: s2_queue.test_queue_reachable(e, t, side)

    # The worker's own keys refused the queue's URL: the worker cannot use its queue.
    assert cause_of(reachable("worker"), FakeEvidence(denied("worker", "sqs:GetQueueUrl"))) == "queue-access-denied"
    assert cause_of(reachable("worker"), FakeEvidence(denied("worker", None))) == "queue-access-denied"
    # A read only the run makes (the worker never calls GetQueueAttributes), or a refusal of the run's own
    # identity on the API's side (a least-privilege role): a permission the run lacks, named; never a fault.
    for side, action in (("worker", "sqs:GetQueueAttributes"), ("api", "sqs:GetQueueUrl")):
        with pytest.raises(Unknown) as caught:
            s2_queue.test_queue_reachable(FakeEvidence(denied(side, action)), target(), side)
        assert caught.value.reason == "permission-missing" and caught.value.facts["action"] == action
    with pytest.raises(Unknown):
        s2_queue.test_queue_reachable(FakeEvidence(denied("api", None)), target(), "api")
    auth = {"sqs.api": ProbeError("sqs", "auth", "InvalidClientTokenId")}
    with pytest.raises(Unknown):  # §4 names bad keys; §2 does not double-count them
        s2_queue.test_queue_reachable(FakeEvidence(auth), target(), "api")
