"""The CONTRACT's fault matrix, one entry per row, injected the way it happens in production.

Each :class:`Fault` has a stable ``id``, its matrix ``row`` and the ``cause`` the verdict must name. Hooks:
``configure(stack)`` edits ``stack.plan`` before anything starts; ``prepare(stack)`` runs once AWS, R2, Redis
and the database are up but before the API and the worker; ``inject(stack)`` once everything runs;
``flow(scenario)`` replaces the standard flow (upload video 111, complete); ``symptom(stack, scenario)`` is
truthy once the fault's visible effect is there (what :meth:`Scenario.run` waits for).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reference.stack import aws as awsmod
from reference.stack.clients import CANCEL_KEY, LOCK_KEY, PROGRESS_KEY
from reference.stack.processes import closed_port

if TYPE_CHECKING:
    from reference.stack.scenario import Scenario
    from reference.stack.stack import Stack

Hook = Callable[["Stack"], Any]
REQUIRED_WORKER_VARS = ("API_BASE_URL", "INTERNAL_WORKER_TOKEN", "R2_ENDPOINT", "R2_ACCESS_KEY", "R2_SECRET_KEY")
OTHER_QUEUE = "academy-video-jobs-v2"
STALE_LOCK_OWNER = "ip-10-0-1-23:1887"  # the crashed worker that never released it
LONG_JOB_SLOWDOWN = "600"  # seconds each encoded segment is held: a "long job" that outlasts any check


def _noop(_stack: Stack) -> None:
    return None


@dataclass(frozen=True)
class Fault:
    id: str
    row: int
    cause: str  # "<layer>/<cause>" from the CONTRACT, or "healthy"
    title: str
    symptom: Callable[[Stack, Scenario], Any]
    configure: Hook = _noop
    prepare: Hook = _noop
    inject: Hook = _noop
    flow: Callable[[Scenario], Any] | None = None

    @property
    def layer(self) -> str:
        return self.cause.split("/", 1)[0]


# --- symptom building blocks ----------------------------------------------------------------------

def wlog(*needles: str) -> Callable[[Stack], bool]:
    return lambda s: all(n in s.worker_log_text() for n in needles)


def status(video_id: int, expected: str | None) -> Callable[[Stack], bool]:
    return lambda s: s.video_status(video_id) == expected


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
    try:
        return all(s.video_status(v) == "READY" and not client.exists(LOCK_KEY.format(id=v))
                   and s.progress(v).get("percent") == 100 for v in sc.videos) and queue_empty(s)
    finally:
        client.close()


# --- injections -------------------------------------------------------------------------------------

def _plan(**changes: Any) -> Hook:
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


def _stop_worker_config(s: Stack) -> None:
    # "container stopped" (docker: it exists, Exited) / "process not started" (local)
    if s.deployment == "docker":
        s.plan.stop_worker_after_start = True
    else:
        s.plan.start_worker = False


def _asg_to_zero(s: Stack) -> None:
    s.autoscaling().update_auto_scaling_group(AutoScalingGroupName=awsmod.ASG_NAME, MinSize=0, DesiredCapacity=0)
    s.wait_for(lambda: s.aws.in_service() == 0, 15, "ASG instances to terminate")


def _delete_queue(s: Stack) -> None:
    s.sqs().delete_queue(QueueUrl=s.aws.queue_url)


def _stale_lock(s: Stack) -> None:
    s.redis().set(LOCK_KEY.format(id=111), STALE_LOCK_OWNER, ex=4 * 3600)


def _dlq_message(s: Stack) -> None:
    """Video 444 failed three times: its job went to the DLQ, the worker had marked the row FAILED."""
    clip = s.make_clip(3)
    s.upload_video(444, clip)
    s.set_status(444, "FAILED")
    body = {"video_id": 444, "tenant_id": 1, "request_id": uuid.uuid4().hex, "file_key": "uploads/444/source.mp4"}
    s.sqs().send_message(QueueUrl=s.aws.dlq_url, MessageBody=json.dumps(body))


def _flow_trio(before_complete: Callable[[Scenario], set[int]] | None = None) -> Callable[[Scenario], None]:
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


def _already_processing(sc: Scenario) -> set[int]:
    sc.stack.set_status(222, "PROCESSING")  # an earlier attempt changed it and never finished
    return set()


def _retry_with_cancel(sc: Scenario) -> set[int]:
    sc.record(111, sc.stack.retry(111))  # the API sets job:encode:111:cancel (TTL) and re-enqueues
    return {111}


def _flow_delete_mid_encode(sc: Scenario) -> None:
    sc.upload(111)
    sc.complete(111)
    sc.stack.wait_for(lambda: sc.stack.video_status(111) == "PROCESSING", 30, "video 111 PROCESSING")
    sc.record(111, sc.stack.delete_video(111), key="delete")


def _flow_long_job(sc: Scenario) -> None:
    """Appendix B 0: video 17 (long) holds the only worker, 1111 (short) waits visible."""
    sc.upload(17)
    sc.complete(17)
    sc.stack.wait_for(lambda: sc.stack.video_status(17) == "PROCESSING", 30, "video 17 PROCESSING")
    sc.upload(1111, seconds=2)
    sc.complete(1111)


def _flow_queue_up(sc: Scenario) -> None:
    _flow_trio()(sc)
    waiting = queue_at_least(visible=2, in_flight=1)
    sc.stack.wait_for(lambda: waiting(sc.stack), 30, "two jobs waiting behind one")
    sc.stack.scaler_tick()


_rule_targets = lambda s: [t["Id"] for t in s.events().list_targets_by_rule(Rule=awsmod.RULE_NAME)["Targets"]]  # noqa: E731


def _delete_rule(s: Stack) -> None:
    s.events().remove_targets(Rule=awsmod.RULE_NAME, Ids=_rule_targets(s))
    s.events().delete_rule(Name=awsmod.RULE_NAME)


def _lambda_missing(s: Stack) -> bool:
    return not any(f["FunctionName"] == awsmod.LAMBDA_NAME for f in s.lambda_().list_functions()["Functions"])


def _rule_state(s: Stack) -> str | None:
    rules = [r for r in s.events().list_rules(NamePrefix=awsmod.RULE_NAME)["Rules"] if r["Name"] == awsmod.RULE_NAME]
    return rules[0].get("State") if rules else None


def _progress_unknown(video_id: int) -> Callable[[Stack], bool]:
    return lambda s: s.progress(video_id).get("status") == "UNKNOWN"


# --- the matrix ------------------------------------------------------------------------------------------

HEALTHY = Fault("healthy", 0, "healthy", "no fault", healthy_symptom)

_F: list[Fault] = [
    Fault("worker-stopped", 1, "worker-process/worker-not-running",
          "worker container stopped / process not started",
          all_of(lambda s: not s.worker_running(), queue_at_least(visible=1), status(111, "UPLOADED")),
          configure=_stop_worker_config),
    Fault("asg-desired-zero", 2, "worker-process/no-inservice-instances",
          "ASG desired 0, no InService instance (so no worker)",
          all_of(lambda s: s.aws.in_service() == 0, queue_at_least(visible=1), status(111, "UPLOADED")),
          configure=_plan(start_worker=False), inject=_asg_to_zero),
    Fault("queue-name-mismatch", 3, "queue/queue-name-mismatch",
          f"worker polls {OTHER_QUEUE} (exists, empty), the API sends to {awsmod.QUEUE_NAME}",
          all_of(wlog(f"started | queue={OTHER_QUEUE}"), queue_at_least(visible=1), status(111, "UPLOADED")),
          configure=_plan(worker_env={"VIDEO_SQS_QUEUE_NAME": OTHER_QUEUE},
                          extra_queues=[(OTHER_QUEUE, awsmod.REGION)])),
    Fault("region-mismatch", 4, "queue/region-mismatch",
          f"worker in {awsmod.OTHER_REGION}, API and queue in {awsmod.REGION}",
          all_of(wlog("SQS unavailable"), queue_at_least(visible=1), status(111, "UPLOADED")),
          configure=_plan(worker_env={"AWS_REGION": awsmod.OTHER_REGION, "AWS_DEFAULT_REGION": awsmod.OTHER_REGION})),
    Fault("queue-deleted", 5, "queue/queue-missing", f"queue {awsmod.QUEUE_NAME} deleted",
          all_of(lambda s: not s.queue_exists(), responded(111, 503), wlog("SQS unavailable")),
          prepare=_delete_queue),
    *[Fault(f"config-missing:{var}", 6, "worker-config/config-missing", f"worker started without {var}",
            all_of(lambda s: s.worker_exit_code() == 1, wlog(f"config error: {var}")),
            configure=_plan(worker_env={var: None}))
      for var in REQUIRED_WORKER_VARS],
    Fault("aws-keys-invalid", 7, "credentials/aws-credentials-invalid",
          "worker's AWS keys unknown to the account (SQS refuses them)",
          all_of(wlog("SQS unavailable", "InvalidClientTokenId"), queue_at_least(visible=1)),
          configure=_plan(worker_env={"AWS_ACCESS_KEY_ID": awsmod.INVALID_AWS_KEYS[0],
                                      "AWS_SECRET_ACCESS_KEY": awsmod.INVALID_AWS_KEYS[1]})),
    Fault("r2-keys-invalid", 8, "credentials/r2-credentials-invalid",
          "worker's R2 keys unknown to R2 (download/upload refused)",
          all_of(wlog("Video processing failed", "InvalidAccessKeyId"), status(111, "FAILED")),
          configure=_plan(worker_env={"R2_ACCESS_KEY": awsmod.INVALID_R2_KEYS[0],
                                      "R2_SECRET_KEY": awsmod.INVALID_R2_KEYS[1]})),
    Fault("ffmpeg-failing", 9, "processing/processing-exception",
          "a broken ffmpeg first on the worker's PATH (exits 127)",
          all_of(wlog("Video processing failed", "ffmpeg"), status(111, "FAILED")),
          configure=_plan(ffmpeg="failing")),
    Fault("ffmpeg-missing", 9, "processing/processing-exception",
          "no ffmpeg on the worker's PATH (docker: an unusable /usr/bin/ffmpeg)",
          all_of(wlog("Video processing failed", "ffmpeg"), status(111, "FAILED")),
          configure=_plan(ffmpeg="missing")),
    Fault("api-sqs-unreachable", 10, "api-enqueue/enqueue-failed",
          "API's SQS endpoint is a closed 127.0.0.1 port (AWS_ENDPOINT_URL_SQS)",
          all_of(responded(111, 503), lambda s: "enqueue failed" in s.api_log_text(), status(111, "UPLOADED")),
          configure=lambda s: s.plan.api_env.update({"AWS_ENDPOINT_URL_SQS": f"http://127.0.0.1:{closed_port()}"})),
    Fault("api-skip-enqueue", 11, "api-enqueue/enqueue-not-logged",
          "upload completes (202) but the API never sends the job",
          all_of(responded(111, 202), lambda s: "/upload/complete/ HTTP/1.1\" 202" in s.api_log_text(),
                 lambda s: "Video job enqueued" not in s.api_log_text(), queue_empty, status(111, "UPLOADED")),
          configure=_plan(api_switches={"API_SKIP_ENQUEUE": "1"})),
    Fault("redis-down", 12, "progress/redis-unreachable", "Redis stopped after the worker started",
          all_of(ready(111), _progress_unknown(111), lambda s: not s.redis_service.answers()),
          inject=lambda s: s.redis_service.stop()),
    Fault("redis-db-mismatch", 13, "progress/redis-mismatch", "worker on REDIS_DB=1, API on 0",
          all_of(ready(111), _progress_unknown(111),
                 lambda s: b"READY" in (s.redis(db=1).get(PROGRESS_KEY.format(id=111)) or b"")),
          configure=_plan(worker_env={"REDIS_DB": "1"})),
    Fault("stale-lock", 14, "stuck-video/stale-lock", "job:encode:111:lock left by a crashed worker (TTL 4 h)",
          all_of(wlog("[HANDLER] Lock acquisition failed, skipping"), ready(222, 333), status(111, "UPLOADED"),
                 queue_empty),
          inject=_stale_lock, flow=_flow_trio()),
    Fault("already-processing", 15, "stuck-video/status-not-uploaded",
          "video 222 already PROCESSING when its message arrives",
          all_of(wlog("[HANDLER] Cannot mark video 222 as PROCESSING, skipping"), ready(111, 333),
                 status(222, "PROCESSING"), queue_empty),
          flow=_flow_trio(_already_processing)),
    Fault("cancel-requested", 16, "stuck-video/cancel-requested",
          "retry of video 111 set job:encode:111:cancel; its new job is skipped",
          all_of(wlog("[HANDLER] Cancel requested for video_id=111, skipping"), ready(222, 333),
                 status(111, "UPLOADED"), lambda s: s.redis().exists(CANCEL_KEY.format(id=111)), queue_empty),
          flow=_flow_trio(_retry_with_cancel)),
    Fault("row-deleted-mid-encode", 17, "processing/complete-not-found",
          "video 111 deleted through the API while it encodes",
          all_of(wlog("Failed to complete video: not_found"), status(111, None)),
          configure=_plan(worker_switches={"ENCODE_SLOWDOWN_SECONDS": "1"}), flow=_flow_delete_mid_encode),
    Fault("db-mismatch", 18, "worker-config/db-mismatch", "worker on another database (academy_other)",
          all_of(wlog("[HANDLER] Cannot mark video 111 as PROCESSING"), status(111, "UPLOADED"), queue_empty),
          configure=_plan(worker_other_db="academy_other")),
    Fault("long-job-blocking", 19, "visibility/long-job-blocking",
          "video 17 (long) holds the only worker (the scaler has not added one yet); 1111 waits visible",
          all_of(status(17, "PROCESSING"), status(1111, "UPLOADED"), queue_at_least(visible=1, in_flight=1),
                 wlog("SQS_MESSAGE_RECEIVED", "video_id=17")),
          # MaxSize stays >= 2: with MaxSize 1 the root cause would be row 20's, not this one.
          configure=_plan(worker_switches={"ENCODE_SLOWDOWN_SECONDS": LONG_JOB_SLOWDOWN}),
          flow=_flow_long_job),
    Fault("asg-max-1", 20, "autoscaling/asg-max-too-low", "ASG MaxSize 1 while three jobs queue up",
          all_of(queue_at_least(visible=2, in_flight=1), lambda s: s.aws.asg().get("MaxSize") == 1,
                 lambda s: s.aws.asg().get("DesiredCapacity") == 1),
          configure=_plan(asg_max=1, worker_switches={"ENCODE_SLOWDOWN_SECONDS": LONG_JOB_SLOWDOWN}),
          flow=_flow_queue_up),
    Fault("lambda-deleted", 21, "autoscaling/scaler-lambda-missing", f"Lambda {awsmod.LAMBDA_NAME} deleted",
          all_of(ready(111), _lambda_missing),
          inject=lambda s: s.lambda_().delete_function(FunctionName=awsmod.LAMBDA_NAME)),
    Fault("rule-deleted", 22, "autoscaling/scaler-rule-missing", f"EventBridge rule {awsmod.RULE_NAME} deleted",
          all_of(ready(111), lambda s: _rule_state(s) is None), inject=_delete_rule),
    Fault("rule-disabled", 22, "autoscaling/scaler-rule-disabled", f"EventBridge rule {awsmod.RULE_NAME} disabled",
          all_of(ready(111), lambda s: _rule_state(s) == "DISABLED"),
          inject=lambda s: s.events().disable_rule(Name=awsmod.RULE_NAME)),
    Fault("dlq-not-empty", 23, "queue/dlq-not-empty", "video 444's job sits in the DLQ (row FAILED)",
          all_of(ready(111), lambda s: s.dlq_counts()["visible"] >= 1), inject=_dlq_message),
]

FAULTS: dict[str, Fault] = {f.id: f for f in _F}


def resolve(fault: str | Fault) -> Fault:
    """A Fault from its id (or a Fault itself); ``"healthy"`` is row 0."""
    if isinstance(fault, Fault):
        return fault
    if fault == HEALTHY.id:
        return HEALTHY
    try:
        return FAULTS[fault]
    except KeyError:
        raise KeyError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}") from None


def by_row(row: int) -> list[Fault]:
    return [HEALTHY] if row == 0 else [f for f in _F if f.row == row]
