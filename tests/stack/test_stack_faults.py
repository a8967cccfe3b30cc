"""Every CONTRACT fault-matrix row, injected into an embedded stack: the standard flow reaches the fault's
visible symptom (Scenario.run waits for it, bounded), and the fault is really in effect. Which root cause
that is remains the suite's job (tests/matrix); here only the injection is checked."""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from stack_testutil import ROOT  # noqa: F401 - puts the repository on sys.path

from reference.stack import FAULTS, Stack, by_row
from reference.stack import aws as awsmod
from reference.stack.clients import CANCEL_KEY, LOCK_KEY, STATUS_KEY, key
from reference.stack.fault_steps import STALE_LOCK_VALUE
from reference.stack.faults import BROKEN_INSTANCE, REQUIRED_WORKER_VARS

NO_RETRY = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5)


def sqs_as(env: dict[str, str]):
    """An SQS client built from an environment the way boto3 reads it (AWS_ENDPOINT_URL[_SQS] included)."""
    endpoint = env.get("AWS_ENDPOINT_URL_SQS") or env["AWS_ENDPOINT_URL"]
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=env.get("AWS_REGION"),
        config=NO_RETRY,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def error_code(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


# What "really in effect" means for each fault, beyond the symptom Scenario.run already waited for.
def _worker_not_running(s: Stack) -> None:
    assert not s.worker_running() and s.worker is None and s.pids().get("worker") is None


def _no_inservice(s: Stack) -> None:
    group = s.aws.asg()
    assert group["DesiredCapacity"] == 0 and not group["Instances"]


def _queue_mismatch(s: Stack) -> None:
    assert s.worker_env["VIDEO_SQS_QUEUE_NAME"] != s.api_env["VIDEO_SQS_QUEUE_NAME"]
    assert s.queue_counts(s.worker_env["VIDEO_SQS_QUEUE_NAME"]) == {"visible": 0, "in_flight": 0}


def _region_mismatch(s: Stack) -> None:
    assert s.worker_env["AWS_REGION"] != s.api_env["AWS_REGION"]
    assert error_code(lambda: sqs_as(s.worker_env).get_queue_url(QueueName="academy-video-jobs")) in (
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    )


def _queue_missing(s: Stack) -> None:
    assert error_code(lambda: sqs_as(s.api_env).get_queue_url(QueueName="academy-video-jobs")) in (
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    )


def _aws_keys_invalid(s: Stack) -> None:
    code = error_code(lambda: sqs_as(s.worker_env).get_queue_url(QueueName="academy-video-jobs"))
    assert code == "InvalidClientTokenId"
    sqs_as(s.api_env).get_queue_url(QueueName="academy-video-jobs")  # the API's keys still work


def _r2_keys_invalid(s: Stack) -> None:
    env = s.worker_env
    r2 = boto3.client(
        "s3",
        endpoint_url=env["R2_ENDPOINT"],
        region_name="auto",
        config=NO_RETRY,
        aws_access_key_id=env["R2_ACCESS_KEY"],
        aws_secret_access_key=env["R2_SECRET_KEY"],
    )
    assert error_code(lambda: r2.list_objects_v2(Bucket="academy-video")) == "InvalidAccessKeyId"


def _api_sqs_dead(s: Stack) -> None:
    with pytest.raises(EndpointConnectionError):
        sqs_as(s.api_env).get_queue_url(QueueName="academy-video-jobs")


def _stale_lock(s: Stack) -> None:
    client = s.redis()
    assert client.get(key(LOCK_KEY, 111)).decode() == STALE_LOCK_VALUE
    assert client.ttl(key(LOCK_KEY, 111)) > 3 * 3600


def _cancel(s: Stack) -> None:
    assert 0 < s.redis().ttl(key(CANCEL_KEY, 111)) <= 300  # set by the API's retry, as production's


def _not_markable(s: Stack) -> None:
    """Row 15 in production's shape: FAILED when its message came, so the repository named the status."""
    assert s.video_status(222) == "FAILED"
    assert "Cannot mark video 222 as PROCESSING: status=FAILED" in s.worker_log_text()


def _row_deleted(s: Stack) -> None:
    """The failure came back at once (visibility 0) and its redelivery was skipped without a status line."""
    log = s.worker_log_text()
    assert log.count("SQS_MESSAGE_RECEIVED") == 2 and "Cannot mark video 111 as PROCESSING: status" not in log
    assert s.queue_counts() == {"visible": 0, "in_flight": 0}


def _db_mismatch(s: Stack) -> None:
    assert s.worker_env["DATABASE_URL"] != s.api_env["DATABASE_URL"]
    with s.worker_database.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM video_video")[0][0] == 0


def _redis_db(s: Stack) -> None:
    assert (s.api_env["REDIS_DB"], s.worker_env["REDIS_DB"]) == ("0", "1")
    assert s.redis(db=1).exists(key(STATUS_KEY, 111)) and not s.redis(db=0).exists(key(STATUS_KEY, 111))


def _long_job(s: Stack) -> None:
    # One worker process is busy; the ASG could grow (MaxSize >= 2, else it would be row 20's cause).
    assert s.aws.asg()["MaxSize"] >= 2 and s.worker_running()
    assert s.queue_counts() == {"visible": 1, "in_flight": 1}
    assert s.progress(17)["status"] == "PROCESSING"


def _asg_max(s: Stack) -> None:
    # The Lambda asked for 3 (its own VIDEO_WORKER_ASG_MAX is 20); AWS refused above MaxSize 1.
    assert s.scaler_ticks and s.scaler_ticks[-1]["visible"] + s.scaler_ticks[-1]["in_flight"] == 3
    assert s.aws.asg()["DesiredCapacity"] == 1
    assert "set_asg_desired failed for academy-video-worker-asg" in (s.workdir / "scaler.log").read_text()


def _lambda_gone(s: Stack) -> None:
    assert error_code(lambda: s.lambda_().get_function(FunctionName=awsmod.LAMBDA_NAME)) == "ResourceNotFoundException"
    assert s.scaler_tick() is None and "missing" in s.scaler_ticks[-1]["skipped"]


def _rule_gone(s: Stack) -> None:
    assert error_code(lambda: s.events().describe_rule(Name=awsmod.RULE_NAME)) == "ResourceNotFoundException"
    assert s.scaler_tick() is None


def _rule_disabled(s: Stack) -> None:
    assert s.events().describe_rule(Name=awsmod.RULE_NAME)["State"] == "DISABLED"
    assert s.scaler_tick() is None


def _dlq(s: Stack) -> None:
    assert s.dlq_counts()["visible"] == 1 and s.video_status(444) == "UPLOADED"


def _config_missing(var: str) -> Callable[[Stack], None]:
    def check(s: Stack) -> None:
        assert var not in s.worker_env and f"\n{var}=" not in "\n" + s.worker_env_file.read_text()
        assert var in s.api_env or var == "API_BASE_URL"
        assert s.worker_exit_code() == 1
        if var == "R2_BUCKET":  # the pair has no default
            assert "R2_VIDEO_BUCKET" not in s.worker_env

    return check


def _broken_boot(needle: str, container: bool) -> Callable[[Stack], None]:
    """One instance of three booted badly (its console says how); the other two run their workers."""

    def check(s: Stack) -> None:
        assert s.fleet is not None and len(s.fleet.instance_ids) == 3
        broken = s.fleet.instance_ids[BROKEN_INSTANCE]
        console = (s.fleet.directory / broken / "console.txt").read_text()
        assert needle in console
        assert ("Video worker user data done" in console) is (needle != "GetAuthorizationToken")
        assert (broken in s.fleet.workers) is container
        healthy = [w for iid, w in s.fleet.workers.items() if iid != broken]
        assert len(healthy) == 2 and all(w.alive() for w in healthy)
        if container:  # started with an empty env file: it stopped on its first required variable
            worker = s.fleet.workers[broken]
            assert (
                worker.returncode == 1 and "config error" in worker.log_text() and "API_BASE_URL" in worker.log_text()
            )

    return check


IN_EFFECT: dict[str, Callable[[Stack], None]] = {
    "boot-docker-run-failed": _broken_boot("docker run attempt 3 failed, retrying in 10s...", container=False),
    "boot-ecr-login-failed": _broken_boot("GetAuthorizationToken", container=False),
    "boot-env-file-empty": _broken_boot("Video worker user data done", container=True),
    "worker-stopped": _worker_not_running,
    "asg-desired-zero": _no_inservice,
    "queue-name-mismatch": _queue_mismatch,
    "region-mismatch": _region_mismatch,
    "queue-deleted": _queue_missing,
    "aws-keys-invalid": _aws_keys_invalid,
    "r2-keys-invalid": _r2_keys_invalid,
    "ffmpeg-failing": lambda s: None,
    "ffmpeg-missing": lambda s: None,
    "api-sqs-unreachable": _api_sqs_dead,
    "api-skip-enqueue": lambda s: None,
    "redis-down": lambda s: None,
    "redis-db-mismatch": _redis_db,
    "stale-lock": _stale_lock,
    "already-processing": _not_markable,
    "cancel-requested": _cancel,
    "row-deleted-mid-encode": _row_deleted,
    "db-mismatch": _db_mismatch,
    "long-job-blocking": _long_job,
    "asg-max-1": _asg_max,
    "lambda-deleted": _lambda_gone,
    "rule-deleted": _rule_gone,
    "rule-disabled": _rule_disabled,
    "dlq-not-empty": _dlq,
    **{f"config-missing:{var}": _config_missing(var) for var in REQUIRED_WORKER_VARS},
}


def test_matrix_is_complete() -> None:
    """Rows 1-23 of the CONTRACT (and 24-26, the ASG boot failures of issue 18), row 6 once per required
    variable, row 22 as missing and disabled."""
    assert sorted({f.row for f in FAULTS.values()}) == list(range(1, 27))
    assert [f.id for f in by_row(6)] == [f"config-missing:{v}" for v in REQUIRED_WORKER_VARS]
    assert {f.cause for f in by_row(22)} == {"autoscaling/scaler-rule-missing", "autoscaling/scaler-rule-disabled"}
    assert set(IN_EFFECT) == set(FAULTS)
    assert by_row(0)[0].cause == "healthy"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault_id", list(FAULTS))
def test_fault_injected(fault_id: str) -> None:
    with Stack("embedded", faults=[fault_id]) as stack:
        result = stack.scenario.run(timeout=45)
        assert result.reached, result
        IN_EFFECT[fault_id](stack)
        if FAULTS[fault_id].row in (3, 4, 7):
            # The worker runs and polls, yet the API's message is still waiting.
            assert stack.worker_running() and stack.queue_counts()["visible"] == 1
