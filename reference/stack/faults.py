"""The CONTRACT's fault matrix, one entry per row, injected the way it happens in production.

Each :class:`Fault` has a stable ``id``, its matrix ``row`` and the ``cause`` the verdict must name. Hooks:
``configure(stack)`` edits ``stack.plan`` before anything starts; ``prepare(stack)`` runs once AWS, R2, Redis
and the database are up but before the API and the worker; ``inject(stack)`` once everything runs;
``flow(scenario)`` replaces the standard flow (upload video 111, complete); ``symptom(stack, scenario)`` is
truthy once the fault's visible effect is there (what :meth:`Scenario.run` waits for).
"""

from __future__ import annotations

from reference.stack import aws as awsmod
from reference.stack.clients import TENANT_ID
from reference.stack.fault import Fault, Hook
from reference.stack.fault_steps import (
    Stack,
    all_of,
    asg_to_zero,
    cancel_flag,
    delete_queue,
    delete_rule,
    dlq_message,
    failed_before_received,
    flow_delete_mid_encode,
    flow_long_job,
    flow_queue_up,
    flow_trio,
    healthy_symptom,
    held_for,
    lambda_missing,
    plan,
    progress_says,
    queue_at_least,
    queue_empty,
    ready,
    responded,
    retry_with_cancel,
    rule_state,
    stale_lock,
    status,
    status_key_in,
    stop_worker_config,
    wlog,
)
from reference.stack.processes import closed_port

__all__ = ["FAULTS", "HEALTHY", "Fault", "by_row", "resolve"]

#: The worker's required variables, one fault each (the bucket pair goes missing together: it has no default).
REQUIRED_WORKER_VARS = (
    "API_BASE_URL",
    "INTERNAL_WORKER_TOKEN",
    "R2_BUCKET",
    "R2_ENDPOINT",
    "R2_ACCESS_KEY",
    "R2_SECRET_KEY",
)
#: What each fault drops; the message the worker logs names the variable (or the pair).
_DROPPED = {"R2_BUCKET": ("R2_BUCKET", "R2_VIDEO_BUCKET")}
_LOGGED = {"R2_BUCKET": "config error: Missing required env (any of): R2_BUCKET, R2_VIDEO_BUCKET"}
OTHER_QUEUE = "academy-video-jobs-v2"
LONG_JOB_SLOWDOWN = "600"  # seconds each encoded segment is held: a "long job" that outlasts any check


# --- the matrix ------------------------------------------------------------------------------------------

HEALTHY = Fault("healthy", 0, "healthy", "no fault", healthy_symptom)

_F: list[Fault] = [
    Fault(
        "worker-stopped",
        1,
        "worker-process/worker-not-running",
        "worker container stopped / process not started",
        all_of(lambda s: not s.worker_running(), queue_at_least(visible=1), status(111, "UPLOADED")),
        configure=stop_worker_config,
    ),
    Fault(
        "asg-desired-zero",
        2,
        "worker-process/no-inservice-instances",
        "ASG desired 0, no InService instance (so no worker)",
        all_of(lambda s: s.aws.in_service() == 0, queue_at_least(visible=1), status(111, "UPLOADED")),
        configure=plan(start_worker=False),
        inject=asg_to_zero,
    ),
    Fault(
        "queue-name-mismatch",
        3,
        "queue/queue-name-mismatch",
        f"worker polls {OTHER_QUEUE} (exists, empty), the API sends to {awsmod.QUEUE_NAME}",
        all_of(wlog(f"started | queue={OTHER_QUEUE}"), queue_at_least(visible=1), status(111, "UPLOADED")),
        configure=plan(worker_env={"VIDEO_SQS_QUEUE_NAME": OTHER_QUEUE}, extra_queues=[(OTHER_QUEUE, awsmod.REGION)]),
    ),
    Fault(
        "region-mismatch",
        4,
        "queue/region-mismatch",
        f"worker in {awsmod.OTHER_REGION}, API and queue in {awsmod.REGION}",
        all_of(wlog("Failed to get queue URL for"), queue_at_least(visible=1), status(111, "UPLOADED")),
        configure=plan(worker_env={"AWS_REGION": awsmod.OTHER_REGION, "AWS_DEFAULT_REGION": awsmod.OTHER_REGION}),
    ),
    Fault(
        "queue-deleted",
        5,
        "queue/queue-missing",
        f"queue {awsmod.QUEUE_NAME} deleted",
        all_of(lambda s: not s.queue_exists(), responded(111, 503), wlog("Failed to get queue URL for")),
        prepare=delete_queue,
    ),
    *[
        Fault(
            f"config-missing:{var}",
            6,
            "worker-config/config-missing",
            f"worker started without {' and '.join(_DROPPED.get(var, (var,)))}",
            all_of(
                lambda s: s.worker_exit_code() == 1,
                wlog(_LOGGED.get(var, f"config error: Missing required env: {var}")),
            ),
            configure=plan(worker_env=dict.fromkeys(_DROPPED.get(var, (var,)))),
        )
        for var in REQUIRED_WORKER_VARS
    ],
    Fault(
        "aws-keys-invalid",
        7,
        "credentials/aws-credentials-invalid",
        "worker's AWS keys unknown to the account (SQS refuses them)",
        all_of(wlog("SQS unavailable", "InvalidClientTokenId"), queue_at_least(visible=1)),
        configure=plan(
            worker_env={
                "AWS_ACCESS_KEY_ID": awsmod.INVALID_AWS_KEYS[0],
                "AWS_SECRET_ACCESS_KEY": awsmod.INVALID_AWS_KEYS[1],
            }
        ),
    ),
    Fault(
        "r2-keys-invalid",
        8,
        "credentials/r2-credentials-invalid",
        "worker's R2 keys unknown to R2 (its presigned download refused: 403)",
        all_of(wlog("Video processing failed", "download failed: 403"), status(111, "FAILED"), queue_empty),
        configure=plan(
            worker_env={"R2_ACCESS_KEY": awsmod.INVALID_R2_KEYS[0], "R2_SECRET_KEY": awsmod.INVALID_R2_KEYS[1]}
        ),
    ),
    Fault(
        "ffmpeg-failing",
        9,
        "processing/processing-exception",
        "a broken ffmpeg first on the worker's PATH (exits 127)",
        all_of(wlog("Video processing failed", "ffmpeg failed"), status(111, "FAILED"), queue_empty),
        configure=plan(ffmpeg="failing"),
    ),
    Fault(
        "ffmpeg-missing",
        9,
        "processing/processing-exception",
        "no ffmpeg on the worker's PATH (docker: an unusable /usr/bin/ffmpeg)",
        all_of(wlog("Video processing failed", "ffmpeg error"), status(111, "FAILED"), queue_empty),
        configure=plan(ffmpeg="missing"),
    ),
    Fault(
        "api-sqs-unreachable",
        10,
        "api-enqueue/enqueue-failed",
        "API's SQS endpoint is a closed 127.0.0.1 port (AWS_ENDPOINT_URL_SQS)",
        all_of(
            responded(111, 503),
            lambda s: "Failed to enqueue video job: video_id=111" in s.api_log_text(),
            status(111, "UPLOADED"),
        ),
        configure=lambda s: s.plan.api_env.update({"AWS_ENDPOINT_URL_SQS": f"http://127.0.0.1:{closed_port()}"}),
    ),
    Fault(
        "api-skip-enqueue",
        11,
        "api-enqueue/enqueue-not-logged",
        "upload completes (200) but the API never sends the job",
        all_of(
            responded(111, 200),
            lambda s: '/upload/complete/ HTTP/1.1" 200' in s.api_log_text(),
            # Video 111's line only: on a busy day (reference.stack.busy_day) the API enqueued others before.
            lambda s: "Video job enqueued: video_id=111" not in s.api_log_text(),
            queue_empty,
            status(111, "UPLOADED"),
        ),
        configure=plan(api_switches={"API_SKIP_ENQUEUE": "1"}),
    ),
    Fault(
        "redis-down",
        12,
        "progress/redis-unreachable",
        "Redis stopped after the worker started (the API falls back to its database: READY)",
        all_of(ready(111), progress_says(111, "READY"), lambda s: not s.redis_service.answers()),
        inject=lambda s: s.redis_service.stop(),
    ),
    Fault(
        "redis-db-mismatch",
        13,
        "progress/redis-mismatch",
        "worker on REDIS_DB=1, API on 0",
        all_of(ready(111), status_key_in(111, db=1), lambda s: not status_key_in(111, db=0)(s)),
        configure=plan(worker_env={"REDIS_DB": "1"}),
    ),
    Fault(
        "stale-lock",
        14,
        "stuck-video/stale-lock",
        "job:encode:111:lock left by a crashed worker (TTL 4 h)",
        all_of(
            wlog("[HANDLER] Lock acquisition failed, skipping video_id=111"),
            ready(222, 333),
            status(111, "UPLOADED"),
            queue_empty,
        ),
        inject=stale_lock,
        flow=flow_trio(),
    ),
    Fault(
        "already-processing",
        15,
        "stuck-video/status-not-uploaded",
        "video 222 not UPLOADED when its message arrives (production re-encodes a PROCESSING row: FAILED instead)",
        all_of(
            wlog("Cannot mark video 222 as PROCESSING: status=FAILED", "[HANDLER] Cannot mark video 222 as PROCESSING"),
            ready(111, 333),
            status(222, "FAILED"),
            queue_empty,
        ),
        flow=flow_trio(failed_before_received),
    ),
    Fault(
        "cancel-requested",
        16,
        "stuck-video/cancel-requested",
        f"retry of video 111 set tenant:{TENANT_ID}:video:111:cancel_requested (300 s); its new job is skipped",
        all_of(
            wlog("[HANDLER] Cancel requested for video_id=111, skipping"),
            ready(222, 333),
            status(111, "UPLOADED"),
            cancel_flag(111),
            queue_empty,
        ),
        flow=flow_trio(retry_with_cancel),
    ),
    Fault(
        "row-deleted-mid-encode",
        17,
        "processing/complete-not-found",
        "video 111 deleted through the API while it encodes",
        all_of(
            wlog("Failed to complete video: not_found", "[HANDLER] Cannot mark video 111 as PROCESSING, skipping"),
            status(111, None),
            queue_empty,
        ),
        configure=plan(worker_switches={"ENCODE_SLOWDOWN_SECONDS": "1"}),
        flow=flow_delete_mid_encode,
    ),
    Fault(
        "db-mismatch",
        18,
        "worker-config/db-mismatch",
        "worker on another database (academy_other): the row is not there, so no status= line",
        all_of(wlog("[HANDLER] Cannot mark video 111 as PROCESSING"), status(111, "UPLOADED"), queue_empty),
        configure=plan(worker_other_db="academy_other"),
    ),
    Fault(
        "long-job-blocking",
        19,
        "visibility/long-job-blocking",
        "video 17 (long) holds the only worker (the scaler has not added one yet); 1111 waits visible",
        all_of(
            held_for(1.0, status(17, "PROCESSING")),
            status(1111, "UPLOADED"),
            queue_at_least(visible=1, in_flight=1),
            wlog("SQS_MESSAGE_RECEIVED", "video_id=17"),
        ),
        # MaxSize stays >= 2: with MaxSize 1 the root cause would be row 20's, not this one.
        configure=plan(worker_switches={"ENCODE_SLOWDOWN_SECONDS": LONG_JOB_SLOWDOWN}),
        flow=flow_long_job,
    ),
    Fault(
        "asg-max-1",
        20,
        "autoscaling/asg-max-too-low",
        "ASG MaxSize 1 while three jobs queue up",
        all_of(
            queue_at_least(visible=2, in_flight=1),
            lambda s: s.aws.asg().get("MaxSize") == 1,
            lambda s: s.aws.asg().get("DesiredCapacity") == 1,
        ),
        configure=plan(asg_max=1, worker_switches={"ENCODE_SLOWDOWN_SECONDS": LONG_JOB_SLOWDOWN}),
        flow=flow_queue_up,
    ),
    Fault(
        "lambda-deleted",
        21,
        "autoscaling/scaler-lambda-missing",
        f"Lambda {awsmod.LAMBDA_NAME} deleted",
        all_of(ready(111), lambda_missing),
        inject=lambda s: s.lambda_().delete_function(FunctionName=awsmod.LAMBDA_NAME),
    ),
    Fault(
        "rule-deleted",
        22,
        "autoscaling/scaler-rule-missing",
        f"EventBridge rule {awsmod.RULE_NAME} deleted",
        all_of(ready(111), lambda s: rule_state(s) is None),
        inject=delete_rule,
    ),
    Fault(
        "rule-disabled",
        22,
        "autoscaling/scaler-rule-disabled",
        f"EventBridge rule {awsmod.RULE_NAME} disabled",
        all_of(ready(111), lambda s: rule_state(s) == "DISABLED"),
        inject=lambda s: s.events().disable_rule(Name=awsmod.RULE_NAME),
    ),
    Fault(
        "dlq-not-empty",
        23,
        "queue/dlq-not-empty",
        "video 444's job sits in the DLQ (received three times while the database was down)",
        all_of(ready(111), lambda s: s.dlq_counts()["visible"] >= 1),
        inject=dlq_message,
    ),
]

# --- the ASG fleet (issue 18): three instances booted from the user data, one with a broken boot -----------------

FLEET_SIZE = 3
#: The instance (index among the group's sorted ids) whose boot the fault breaks.
BROKEN_INSTANCE = 1


def _fleet(**boot_faults: str) -> Hook:
    faults = {int(index[1:]): fault for index, fault in boot_faults.items()}
    return plan(fleet_size=FLEET_SIZE, asg_desired=FLEET_SIZE, start_worker=False, boot_faults=faults)


def _booted(s: Stack) -> bool:
    return s.fleet is not None and all(
        (s.fleet.directory / iid / "console.txt").exists() for iid in s.fleet.instance_ids
    )


#: Not a fault: the healthy fleet (row 0 again, judged as production's ASG deployment).
FLEET = Fault("fleet", 0, "healthy", f"{FLEET_SIZE} instances booted by the user data", healthy_symptom,
              configure=_fleet())  # fmt: skip

_FLEET_ROWS = [
    Fault(
        "boot-docker-run-failed",
        24,
        "worker-process/docker-run-failed",
        "one of three instances: all three `docker run` tries of the user data fail",
        all_of(_booted, ready(111)),
        configure=_fleet(i1="docker-run-failed"),
    ),
    Fault(
        "boot-ecr-login-failed",
        25,
        "worker-process/ecr-login-failed",
        "one of three instances: its role may not log in to ECR; the user data stops",
        all_of(_booted, ready(111)),
        configure=_fleet(i1="ecr-login-failed"),
    ),
    Fault(
        "boot-env-file-empty",
        26,
        "worker-process/env-file-empty",
        "one of three instances: its boot-time SSM read is refused, its env file is empty",
        all_of(_booted, ready(111), wlog("config error")),
        configure=_fleet(i1="env-file-empty"),
    ),
]
_F += _FLEET_ROWS
#: The faults whose workers run only on the group's instances, none on this host: judged as production's ASG
#: deployment alone (a docker or local check would look on this host for a worker that is not meant to be there).
FLEET_FAULTS = frozenset({FLEET.id, *(f.id for f in _FLEET_ROWS)})

FAULTS: dict[str, Fault] = {f.id: f for f in _F}


def resolve(fault: str | Fault) -> Fault:
    """A Fault from its id (or a Fault itself); ``"healthy"`` is row 0."""
    if isinstance(fault, Fault):
        return fault
    if fault == HEALTHY.id:
        return HEALTHY
    if fault == FLEET.id:
        return FLEET
    try:
        return FAULTS[fault]
    except KeyError:
        raise KeyError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}") from None


def by_row(row: int) -> list[Fault]:
    return [HEALTHY] if row == 0 else [f for f in _F if f.row == row]
