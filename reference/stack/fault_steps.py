"""Building blocks of the fault matrix: symptom predicates, injections and flows (see ``faults``)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reference.stack import aws as awsmod
from reference.stack.clients import LOCK_KEY

if TYPE_CHECKING:
    from reference.stack.scenario import Scenario
    from reference.stack.stack import Stack

Hook = Callable[["Stack"], Any]
STALE_LOCK_OWNER = "ip-10-0-1-23:1887"  # the crashed worker that never released it


# --- symptom building blocks ----------------------------------------------------------------------


def wlog(*needles: str) -> Callable[[Stack], bool]:
    return lambda s: all(n in s.worker_log_text() for n in needles)


def status(video_id: int, expected: str | None) -> Callable[[Stack], bool]:
    return lambda s: s.video_status(video_id) == expected


def held_for(seconds: float, check: Callable[[Stack], bool]) -> Callable[[Stack], bool]:
    """``check`` has held, polled without a break, for ``seconds``. A "long" job must be older than the
    rehearsal's ``--long-job-after`` (0.5 s) when judged, however fast a pre-loaded runner reaches the rest of
    the symptom (CI once judged row 19 0.3 s after the long job started: no long job yet)."""
    since: list[float] = []

    def run(s: Stack) -> bool:
        if not check(s):
            since.clear()
            return False
        if not since:
            since.append(time.monotonic())
        return time.monotonic() - since[0] >= seconds

    return run


def queue_at_least(visible: int = 0, in_flight: int = 0) -> Callable[[Stack], bool]:
    def check(s: Stack) -> bool:
        counts = s.queue_counts()
        return counts["visible"] >= visible and counts["in_flight"] >= in_flight

    return check


def queue_empty(s: Stack) -> bool:
    return s.queue_counts() == {"visible": 0, "in_flight": 0}


def responded(video_id: int, code: int) -> Callable[[Stack, Scenario], bool]:
    return lambda s, sc: sc.responses.get(video_id, (0,))[0] == code


def ready(*ids: int) -> Callable[[Stack], bool]:
    return lambda s: all(s.video_status(v) == "READY" for v in ids)


def all_of(*checks: Callable[..., Any]) -> Callable[[Stack, Scenario], bool]:
    """Combine checks taking (stack) or (stack, scenario)."""

    def run(s: Stack, sc: Scenario) -> bool:
        for check in checks:
            ok = check(s, sc) if check.__code__.co_argcount == 2 else check(s)
            if not ok:
                return False
        return True

    return run


def healthy_symptom(s: Stack, sc: Scenario) -> bool:
    """Every uploaded video READY with progress 100, its lock released, the queue drained."""
    client = s.redis()
    return all(
        s.video_status(v) == "READY"
        and not client.exists(LOCK_KEY.format(id=v))
        and s.progress(v).get("percent") == 100
        for v in sc.videos
    ) and queue_empty(s)


# --- injections -------------------------------------------------------------------------------------


def plan(**changes: Any) -> Hook:
    def configure(s: Stack) -> None:
        for key, value in changes.items():
            current = getattr(s.plan, key)
            if isinstance(current, dict):
                current.update(value)
            elif isinstance(current, list):
                current.extend(value)
            else:
                setattr(s.plan, key, value)

    return configure


def stop_worker_config(s: Stack) -> None:
    # "container stopped" (docker: it exists, Exited) / "process not started" (local)
    if s.deployment == "docker":
        s.plan.stop_worker_after_start = True
    else:
        s.plan.start_worker = False


def asg_to_zero(s: Stack) -> None:
    s.autoscaling().update_auto_scaling_group(AutoScalingGroupName=awsmod.ASG_NAME, MinSize=0, DesiredCapacity=0)
    s.wait_for(lambda: s.aws.in_service() == 0, 15, "ASG instances to terminate")


def delete_queue(s: Stack) -> None:
    s.sqs().delete_queue(QueueUrl=s.aws.queue_url)


def stale_lock(s: Stack) -> None:
    s.redis().set(LOCK_KEY.format(id=111), STALE_LOCK_OWNER, ex=4 * 3600)


def dlq_message(s: Stack) -> None:
    """Video 444 failed three times: its job went to the DLQ, the worker had marked the row FAILED."""
    clip = s.make_clip(3)
    s.upload_video(444, clip)
    s.set_status(444, "FAILED")
    body = {"video_id": 444, "tenant_id": 1, "request_id": uuid.uuid4().hex, "file_key": "uploads/444/source.mp4"}
    s.sqs().send_message(QueueUrl=s.aws.dlq_url, MessageBody=json.dumps(body))


def flow_trio(before_complete: Callable[[Scenario], set[int]] | None = None) -> Callable[[Scenario], None]:
    """Runbook §9: 111, 222, 333 uploaded together; ``before_complete`` may act on some and returns the ids
    it already enqueued itself."""

    def flow(sc: Scenario) -> None:
        for vid in (111, 222, 333):
            sc.upload(vid)
        done = before_complete(sc) if before_complete else set()
        for vid in (111, 222, 333):
            if vid not in done:
                sc.complete(vid)

    return flow


def already_processing(sc: Scenario) -> set[int]:
    sc.stack.set_status(222, "PROCESSING")  # an earlier attempt changed it and never finished
    return set()


def retry_with_cancel(sc: Scenario) -> set[int]:
    sc.record(111, sc.stack.retry(111))  # the API sets job:encode:111:cancel (TTL) and re-enqueues
    return {111}


def flow_delete_mid_encode(sc: Scenario) -> None:
    sc.upload(111)
    sc.complete(111)
    sc.stack.wait_for(lambda: sc.stack.video_status(111) == "PROCESSING", 30, "video 111 PROCESSING")
    sc.record(111, sc.stack.delete_video(111), key="delete")


def flow_long_job(sc: Scenario) -> None:
    """Appendix B 0: video 17 (long) holds the only worker, 1111 (short) waits visible."""
    sc.upload(17)
    sc.complete(17)
    sc.stack.wait_for(lambda: sc.stack.video_status(17) == "PROCESSING", 30, "video 17 PROCESSING")
    sc.upload(1111, seconds=2)
    sc.complete(1111)


def flow_queue_up(sc: Scenario) -> None:
    flow_trio()(sc)
    waiting = queue_at_least(visible=2, in_flight=1)
    sc.stack.wait_for(lambda: waiting(sc.stack), 30, "two jobs waiting behind one")
    sc.stack.scaler_tick()


_rule_targets = lambda s: [t["Id"] for t in s.events().list_targets_by_rule(Rule=awsmod.RULE_NAME)["Targets"]]  # noqa: E731


def delete_rule(s: Stack) -> None:
    s.events().remove_targets(Rule=awsmod.RULE_NAME, Ids=_rule_targets(s))
    s.events().delete_rule(Name=awsmod.RULE_NAME)


def lambda_missing(s: Stack) -> bool:
    return not any(f["FunctionName"] == awsmod.LAMBDA_NAME for f in s.lambda_().list_functions()["Functions"])


def rule_state(s: Stack) -> str | None:
    rules = [r for r in s.events().list_rules(NamePrefix=awsmod.RULE_NAME)["Rules"] if r["Name"] == awsmod.RULE_NAME]
    return rules[0].get("State") if rules else None


def progress_unknown(video_id: int) -> Callable[[Stack], bool]:
    return lambda s: s.progress(video_id).get("status") == "UNKNOWN"
