"""Building blocks of the fault matrix: symptom predicates, injections and flows (see ``faults``)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from reference.stack import aws as awsmod
from reference.stack.clients import CANCEL_KEY, LOCK_KEY, STATUS_KEY, TENANT_CODE, TENANT_ID, StackClients, key
from reference.stack.fault import Hook, ScenarioLike

Stack = StackClients  # a running stack, as the faults see it
Scenario = ScenarioLike
#: What the real worker writes as the lock's value: the crashed worker left it (TTL 4 h).
STALE_LOCK_VALUE = "1"


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
    """Every uploaded video READY (in the API's progress too), its lock released, the queue drained."""
    client = s.redis()
    return all(
        s.video_status(v) == "READY" and not client.exists(key(LOCK_KEY, v)) and s.progress(v).get("status") == "READY"
        for v in sc.videos
    ) and queue_empty(s)


# --- injections -------------------------------------------------------------------------------------


def plan(**changes: Any) -> Hook:
    def configure(s: Stack) -> None:
        for name, value in changes.items():
            current = getattr(s.plan, name)
            if isinstance(current, dict):
                current.update(value)
            elif isinstance(current, list):
                current.extend(value)
            else:
                setattr(s.plan, name, value)

    return configure


def stop_worker_config(s: Stack) -> None:
    # "container stopped" (docker: it exists, Exited) / "process not started" (local)
    if s.deployment == "docker":
        s.plan.stop_worker_after_start = True
        s.plan.worker_env["VIDEO_WORKER_WAIT_TIME"] = "1"  # its last long poll ends a second after the stop
    else:
        s.plan.start_worker = False


def asg_to_zero(s: Stack) -> None:
    s.autoscaling().update_auto_scaling_group(AutoScalingGroupName=awsmod.ASG_NAME, MinSize=0, DesiredCapacity=0)
    s.wait_for(lambda: s.aws.in_service() == 0, 15, "ASG instances to terminate")


def delete_queue(s: Stack) -> None:
    s.sqs().delete_queue(QueueUrl=s.aws.queue_url)


def stale_lock(s: Stack) -> None:
    s.redis().set(key(LOCK_KEY, 111), STALE_LOCK_VALUE, ex=4 * 3600)


def dlq_message(s: Stack) -> None:
    """Video 444's job sits in the DLQ (the database was down while it was received three times: visibility
    0 after each exception); its row stayed UPLOADED."""
    clip = s.make_clip(3)
    row = s.upload_video(444, clip)
    s.set_status(444, "UPLOADED")
    body = {
        "video_id": 444,
        "file_key": row["file_key"],
        "tenant_id": TENANT_ID,
        "tenant_code": TENANT_CODE,
        "created_at": datetime.now(UTC).isoformat(),
        "attempt": 1,
    }
    s.sqs().send_message(QueueUrl=s.aws.dlq_url, MessageBody=json.dumps(body))


def flow_trio(before_complete: Callable[[Scenario], set[int]] | None = None) -> Callable[[Any], None]:
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


@contextmanager
def worker_paused(s: Stack) -> Iterator[None]:
    """The worker stopped in its tracks (SIGSTOP; a container is paused) while something changes, then resumed:
    it receives what was sent meanwhile only afterwards. No line of its log changes."""
    worker = s.worker
    container = getattr(worker, "container", None)
    if container is not None:
        container.pause()
    elif worker is not None and worker.pid:
        os.killpg(worker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        if container is not None:
            container.unpause()
        elif worker is not None and worker.pid:
            os.killpg(worker.pid, signal.SIGCONT)


def failed_before_received(sc: Scenario) -> set[int]:
    """Row 15 as production can have it: a PROCESSING row is re-encoded there (``mark_processing`` accepts it), so
    the status that makes the worker skip is another: 222 is enqueued, then marked FAILED (by hand, an earlier
    attempt) before the worker receives it: ``Cannot mark video 222 as PROCESSING: status=FAILED``, skipped,
    deleted."""
    with worker_paused(sc.stack):
        sc.complete(222)
        sc.stack.set_status(222, "FAILED")
    return {222}


def retry_with_cancel(sc: Scenario) -> set[int]:
    """111 failed earlier; its retry sets the cancel flag (300 s) before it enqueues, and the idle worker
    receives the new message at once: ``Cancel requested for video_id=111, skipping``."""
    sc.stack.set_status(111, "FAILED")
    sc.record(111, sc.stack.retry(111))
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


def progress_says(video_id: int, status: str) -> Callable[[Stack], bool]:
    return lambda s: s.progress(video_id).get("status") == status


def status_key_in(video_id: int, db: int) -> Callable[[Stack], bool]:
    """The worker's cached status of ``video_id`` is in Redis database ``db``."""
    return lambda s: bool(s.redis(db=db).exists(key(STATUS_KEY, video_id)))


def cancel_flag(video_id: int) -> Callable[[Stack], bool]:
    return lambda s: bool(s.redis().exists(key(CANCEL_KEY, video_id)))
