"""The embedded stack end to end: moto (AWS + R2), a real Redis-protocol server, PostgreSQL (wheels), imageio-ffmpeg, API and worker
as processes. One healthy stack is shared by the read-only tests of this module."""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from stack_testutil import ROOT  # noqa: F401 - puts the repository on sys.path

from reference.stack import Stack, decode_ok, playlist_durations
from reference.stack import aws as awsmod
from reference.stack.clients import LOCK_KEY
from reference.stack.media import media_duration, playlist_segments

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def healthy():
    with Stack("embedded") as stack:
        stack.scenario.run(timeout=30)
        yield stack


def test_healthy_flow_end_to_end(healthy: Stack, tmp_path: Path) -> None:
    stack = healthy
    result = stack.scenario.result
    assert result is not None and result.reached, result
    assert result.responses[111][0] == 200
    hls = "tenants/1/video/hls/111"
    row = stack.video_row(111)
    assert row is not None and row["status"] == "READY" and row["hls_path"] == f"{hls}/master.m3u8"

    keys = stack.bucket_keys(f"{hls}/v1/")
    playlist_text = stack.get_object(f"{hls}/v1/index.m3u8").decode()
    segments = playlist_segments(playlist_text)
    assert segments and all(f"{hls}/v1/{name}" in keys for name in segments), (segments, keys)
    for key in keys:
        stack.download(key, tmp_path / Path(key).name)
    ok, err = decode_ok(tmp_path / "index.m3u8")
    assert ok, err
    for name in segments:
        ok, err = decode_ok(tmp_path / name)
        assert ok, (name, err)
    clip_seconds = media_duration(stack.make_clip(3))
    assert clip_seconds is not None
    assert sum(playlist_durations(playlist_text)) == pytest.approx(clip_seconds, abs=0.15)

    assert not stack.redis().exists(LOCK_KEY.format(id=111)), "lock not released"
    assert stack.queue_counts() == {"visible": 0, "in_flight": 0}, "message not deleted"
    assert stack.dlq_counts() == {"visible": 0, "in_flight": 0}
    progress = stack.progress(111)
    assert (progress["status"], progress["hls_path"]) == ("READY", f"{hls}/master.m3u8")

    log = stack.worker_log_text()
    order = [
        "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20s",
        "SQS_MESSAGE_RECEIVED | request_id=",
        "[HANDLER] Lock acquired, marking as PROCESSING video_id=111",
        f"[HANDLER] process_fn completed video_id=111 hls_path={hls}/master.m3u8",
        "SQS_JOB_COMPLETED",
    ]
    positions = [log.find(line) for line in order]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), log
    assert "Video job enqueued: video_id=111" in stack.api_log_text()


def test_exports(healthy: Stack) -> None:
    stack = healthy
    assert stack.backend == "embedded" and stack.deployment == "local"
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "VIDEO_SQS_QUEUE_NAME",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_PASSWORD",
        "REDIS_DB",
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "API_BASE_URL",
        "INTERNAL_WORKER_TOKEN",
        "R2_ENDPOINT",
        "R2_ACCESS_KEY",
        "R2_SECRET_KEY",
        "R2_BUCKET",
    ):
        assert stack.api_env.get(key), key
        assert stack.worker_env.get(key), key
    assert stack.api_env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert stack.api_env["DATABASE_URL"].startswith("postgresql://academy:")
    assert stack.api_env["DB_HOST"] == "127.0.0.1"
    # The fault switches of the stand-ins are not part of anyone's environment.
    assert not any(k.startswith(("API_SKIP", "ENCODE_SLOWDOWN")) for k in {**stack.api_env, **stack.worker_env})
    lines = Path(stack.worker_env_file).read_text().splitlines()
    assert dict(line.split("=", 1) for line in lines) == stack.worker_env
    assert Path(stack.worker_log).is_file() and "Video Worker (SQS) started" in Path(stack.worker_log).read_text()
    assert Path(stack.api_log).is_file() and Path(stack.api_log).read_text().startswith("API listening on")
    assert set(stack.services) >= {"aws", "r2", "redis", "database", "ffmpeg", "api", "worker"}
    # Real servers, as production has: a Redis-protocol server that answers INFO, and PostgreSQL.
    assert re.match(r"(redis|valkey) \d", stack.services["redis"]), stack.services["redis"]
    assert stack.services["database"].startswith("PostgreSQL "), stack.services["database"]
    assert stack.redis().info("server")["redis_version"]
    assert stack.services["worker"].startswith("process")
    assert re.search(stack.worker_process_pattern, " ".join(stack.worker.argv))


def _refused(call) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


def test_credentials_enforced(healthy: Stack) -> None:
    """Keys the emulated AWS / R2 never issued are refused, per service, like AWS and R2 do."""
    env = healthy.api_env
    cfg = Config(retries={"max_attempts": 1})

    def aws(service: str, key: str, secret: str):
        return boto3.client(
            service,
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_REGION"],
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=cfg,
        )

    good = (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    bad = awsmod.INVALID_AWS_KEYS
    calls = {
        "sqs": lambda c: c.get_queue_url(QueueName=env["VIDEO_SQS_QUEUE_NAME"]),
        "sts": lambda c: c.get_caller_identity(),
        "autoscaling": lambda c: c.describe_auto_scaling_groups(AutoScalingGroupNames=[awsmod.ASG_NAME]),
        "lambda": lambda c: c.get_function(FunctionName=awsmod.LAMBDA_NAME),
        "events": lambda c: c.list_rules(NamePrefix=awsmod.RULE_NAME),
    }
    for service, call in calls.items():
        call(aws(service, *good))
        assert _refused(lambda: call(aws(service, *bad))) == "InvalidClientTokenId", service  # noqa: B023
        assert _refused(lambda: call(aws(service, good[0], "wrong"))) == "SignatureDoesNotMatch", service  # noqa: B023

    def r2(key: str, secret: str):
        return boto3.client(
            "s3",
            endpoint_url=env["R2_ENDPOINT"],
            region_name="auto",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    playlist = "tenants/1/video/hls/111/master.m3u8"
    r2(env["R2_ACCESS_KEY"], env["R2_SECRET_KEY"]).head_object(Bucket="academy-video", Key=playlist)
    for key, secret in (awsmod.INVALID_R2_KEYS, good):  # unknown keys, and AWS keys are not R2 keys
        code = _refused(lambda: r2(key, secret).get_object(Bucket="academy-video", Key=playlist))  # noqa: B023
        assert code == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as info:  # R2 keys are not AWS keys either
        aws("sts", env["R2_ACCESS_KEY"], env["R2_SECRET_KEY"]).get_caller_identity()
    assert info.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_presigned_urls_checked(healthy: Stack) -> None:
    """A presigned GET (how the real worker downloads its source) is served for R2's keys and refused, like R2
    refuses it, for a wrong secret or a key R2 never issued (moto's auth mode alone answered every one 500)."""
    env = healthy.api_env
    key = "tenants/1/video/hls/111/master.m3u8"  # the real layout (storage.py)

    def fetch(access_key: str, secret: str) -> tuple[int, bytes]:
        client = boto3.client(
            "s3",
            endpoint_url=env["R2_ENDPOINT"],
            region_name="auto",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        url = client.generate_presigned_url("get_object", Params={"Bucket": awsmod.BUCKET, "Key": key}, ExpiresIn=600)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    status, body = fetch(env["R2_ACCESS_KEY"], env["R2_SECRET_KEY"])
    assert (status, body) == (200, healthy.get_object(key))
    status, body = fetch(env["R2_ACCESS_KEY"], "not-the-secret")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    status, body = fetch(*awsmod.INVALID_R2_KEYS)
    assert status == 403 and b"<Code>InvalidAccessKeyId</Code>" in body


def test_aws_resources(healthy: Stack) -> None:
    stack = healthy
    group = stack.aws.asg()
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 3, 1)
    assert {"Key": "Name", "Value": "academy-video-worker"} in [
        {"Key": t["Key"], "Value": t["Value"]} for t in group["Tags"]
    ]
    reservations = stack.client("ec2").describe_instances(
        Filters=[
            {"Name": "tag:Name", "Values": ["academy-video-worker"]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
    )["Reservations"]
    assert sum(len(r["Instances"]) for r in reservations) == 1
    function = stack.lambda_().get_function(FunctionName=awsmod.LAMBDA_NAME)["Configuration"]
    assert function.get("Environment", {}).get("Variables", {}) == {}  # deployed without: its defaults apply
    rule = stack.events().describe_rule(Name=awsmod.RULE_NAME)
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(1 minute)", "ENABLED")
    targets = stack.events().list_targets_by_rule(Rule=awsmod.RULE_NAME)["Targets"]
    assert [t["Arn"] for t in targets] == [function["FunctionArn"]]
    attrs = stack.sqs().get_queue_attributes(QueueUrl=stack.aws.queue_url, AttributeNames=["RedrivePolicy"])
    policy = json.loads(attrs["Attributes"]["RedrivePolicy"])
    assert policy["deadLetterTargetArn"].endswith(":academy-video-jobs-dlq") and int(policy["maxReceiveCount"]) == 3


def test_scaler_tick_and_max_size() -> None:
    """The tick runs the real handler against the emulated account; moto refuses desired > MaxSize like AWS."""
    with Stack("embedded", faults=["worker-stopped"]) as stack:
        for vid in (111, 222, 333):
            stack.scenario.upload(vid)
            assert stack.upload_complete(vid)[0] == 200
        result = stack.scaler_tick()
        assert result == {"video_queue_depth": 3, "visible": 3, "in_flight": 0}
        assert stack.aws.asg()["DesiredCapacity"] == 3
        stack.wait_for(lambda: stack.aws.in_service() == 3, 15, "three InService instances")
        with pytest.raises(ClientError) as info:
            stack.autoscaling().set_desired_capacity(AutoScalingGroupName=awsmod.ASG_NAME, DesiredCapacity=4)
        assert info.value.response["Error"]["Code"] == "ValidationError"
        stack.events().disable_rule(Name=awsmod.RULE_NAME)
        assert stack.scaler_tick() is None and stack.scaler_ticks[-1] == {
            "skipped": "rule academy-worker-queue-depth-rate DISABLED"
        }


def test_custom_worker_command() -> None:
    """``worker_cmd`` runs a user-supplied worker with the same environment."""
    wrapper = (
        "import runpy, sys; print('custom worker wrapper', flush=True); sys.argv = ['video_worker'];"
        " runpy.run_module('reference.video_worker', run_name='__main__')"
    )
    with Stack("embedded", worker_cmd=[sys.executable, "-c", wrapper]) as stack:
        result = stack.scenario.run(timeout=30)
        assert result.reached and stack.video_status(111) == "READY"
        assert stack.worker_log_text().startswith("custom worker wrapper")
        assert stack.services["worker"].startswith("process " + sys.executable)
