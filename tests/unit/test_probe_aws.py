"""SQS, STS and R2 probes against a real moto server (queues, DLQ redrive, in-flight, bucket access, auth)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runbook.clients import aws_client
from runbook.probes import ProbeError, r2, sqs, sts

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("moto_reset")]

REGION = "ap-northeast-2"
# moto builds ASGs and instances slowly on a busy 2-core machine; the probes' own timeouts are
# tested against black holes, not here.
MOTO_TIMEOUT = 20.0
QUEUE = "academy-video-jobs"
BUCKET = "academy-video"
BAD_KEY = "AKIAIOSFODNN7EXAMPLE"
BAD_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def client(moto_url: str) -> Callable[..., Any]:
    """``client("sqs")`` built by the production builder, pointed at moto."""

    def build(service: str, *, region: str = REGION, key: str = "testing", secret: str = "testing") -> Any:
        return aws_client(
            service, region=region, access_key=key, secret_key=secret, endpoint_url=moto_url, timeout=MOTO_TIMEOUT
        )

    return build


@pytest.fixture
def auth_enforced() -> Iterator[None]:
    """moto checks signatures and IAM policies (it does not by default) while the test runs."""
    from moto import settings

    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    yield
    settings.INITIAL_NO_AUTH_ACTION_COUNT = previous


def _record_operations(aws: Any, calls: list[str]) -> Any:
    aws.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    return aws


# -- SQS ---------------------------------------------------------------------------------------------


def test_queue_info_reports_depth_in_flight_and_visibility(client: Callable[..., Any]) -> None:
    admin = client("sqs")
    url = admin.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "21600"})["QueueUrl"]
    for n in range(3):
        admin.send_message(QueueUrl=url, MessageBody=json.dumps({"video_id": n}))
    admin.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    # The test (never the probe) takes one message, as a worker would.
    taken = admin.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=300)
    assert len(taken["Messages"]) == 1

    info = sqs.queue_info(client("sqs"), QUEUE)

    assert (info.name, info.url) == (QUEUE, url)
    assert info.arn == f"arn:aws:sqs:{REGION}:123456789012:{QUEUE}"
    assert (info.region, info.account) == (REGION, "123456789012")
    assert (info.visible, info.in_flight, info.delayed) == (2, 1, 1)
    assert info.visibility_timeout == 21600
    assert info.oldest_age_seconds is None
    assert info.redrive_dlq_arn is None and info.max_receive_count is None
    assert sqs.queue_url_for(client("sqs"), QUEUE) == url


def test_missing_queue_is_not_found(client: Callable[..., Any]) -> None:
    client("sqs").create_queue(QueueName="academy-video-jobs-staging")
    with pytest.raises(ProbeError) as caught:
        sqs.queue_info(client("sqs"), QUEUE)
    assert (caught.value.dependency, caught.value.kind) == ("sqs", "not-found")
    assert str(caught.value).startswith("sqs: not-found: GetQueueUrl: ")


def test_queue_in_another_region_is_not_found(client: Callable[..., Any]) -> None:
    client("sqs", region="us-east-1").create_queue(QueueName=QUEUE)
    with pytest.raises(ProbeError) as caught:
        sqs.queue_info(client("sqs"), QUEUE)
    assert caught.value.kind == "not-found"


def test_invalid_queue_name_is_rejected_before_any_call(client: Callable[..., Any]) -> None:
    calls: list[str] = []
    with pytest.raises(ProbeError) as caught:
        sqs.queue_info(_record_operations(client("sqs"), calls), "academy video jobs")
    assert caught.value.kind == "invalid"
    assert calls == []


def test_dlq_depth_after_real_redrive(client: Callable[..., Any]) -> None:
    admin = client("sqs")
    dlq_url = admin.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
    dlq_arn = admin.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = admin.create_queue(QueueName=QUEUE, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    admin.send_message(QueueUrl=url, MessageBody="111")
    admin.send_message(QueueUrl=url, MessageBody="222")
    # Receive every message twice without deleting it: SQS moves it to the DLQ.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        admin.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if sqs.queue_info(client("sqs"), QUEUE).visible == 0:
            break

    info = sqs.queue_info(client("sqs"), QUEUE)
    assert info.redrive_dlq_arn == dlq_arn
    assert info.max_receive_count == 1
    dlq = sqs.dlq_info(client("sqs"), dlq_arn)
    assert (dlq.name, dlq.url, dlq.arn) == (f"{QUEUE}-dlq", dlq_url, dlq_arn)
    assert dlq.visible + dlq.in_flight == 2


def test_dlq_info_rejects_a_non_sqs_arn(client: Callable[..., Any]) -> None:
    with pytest.raises(ProbeError) as caught:
        sqs.dlq_info(client("sqs"), "arn:aws:sns:ap-northeast-2:123456789012:topic")
    assert caught.value.kind == "invalid"


def test_sqs_probes_only_read(client: Callable[..., Any]) -> None:
    admin = client("sqs")
    admin.create_queue(QueueName=f"{QUEUE}-dlq")
    dlq_arn = f"arn:aws:sqs:{REGION}:123456789012:{QUEUE}-dlq"
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    url = admin.create_queue(QueueName=QUEUE, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    admin.send_message(QueueUrl=url, MessageBody="111")
    calls: list[str] = []
    probe_client = _record_operations(client("sqs"), calls)

    info = sqs.queue_info(probe_client, QUEUE)
    sqs.dlq_info(probe_client, info.redrive_dlq_arn or "")

    assert set(calls) == {"GetQueueUrl", "GetQueueAttributes"}
    assert sqs.queue_info(client("sqs"), QUEUE).visible == 1  # the message is still there


# -- STS ---------------------------------------------------------------------------------------------


def test_caller_identity(client: Callable[..., Any]) -> None:
    identity = sts.caller_identity(client("sts"))
    assert identity.account == "123456789012"
    assert identity.arn.startswith("arn:aws:")
    assert identity.user_id


def test_invalid_keys_are_auth_errors(client: Callable[..., Any], auth_enforced: None) -> None:
    with pytest.raises(ProbeError) as caught:
        sts.caller_identity(client("sts", key=BAD_KEY, secret=BAD_SECRET))
    assert (caught.value.kind, caught.value.code) == ("auth", "InvalidClientTokenId")
    with pytest.raises(ProbeError) as caught:
        sqs.queue_info(client("sqs", key=BAD_KEY, secret=BAD_SECRET), QUEUE)
    assert (caught.value.dependency, caught.value.kind) == ("sqs", "auth")
    assert BAD_KEY not in str(caught.value) and BAD_SECRET not in str(caught.value)


def test_valid_keys_without_permission_are_denied(client: Callable[..., Any]) -> None:
    iam = client("iam")
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    client("sqs").create_queue(QueueName=QUEUE)
    client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    from moto import settings

    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    try:
        nobody = {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        assert sts.caller_identity(client("sts", **nobody)).arn.endswith(":user/nobody")
        with pytest.raises(ProbeError) as queue_error:
            sqs.queue_info(client("sqs", **nobody), QUEUE)
        with pytest.raises(ProbeError) as bucket_error:
            r2.bucket_access(client("s3", region="auto", **nobody), BUCKET)
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = previous
    assert (queue_error.value.kind, queue_error.value.code) == ("denied", "AccessDenied")
    assert (bucket_error.value.kind, bucket_error.value.code) == ("denied", "AccessDenied")


# -- R2 (S3 API) ---------------------------------------------------------------------------------------


def test_bucket_access_ok_and_keys(client: Callable[..., Any]) -> None:
    admin = client("s3")
    admin.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for name in ("master.m3u8", "seg_000.ts", "seg_001.ts"):
        admin.put_object(Bucket=BUCKET, Key=f"videos/111/hls/{name}", Body=b"x")
    admin.put_object(Bucket=BUCKET, Key="videos/222/hls/master.m3u8", Body=b"x")
    s3 = client("s3", region="auto")

    assert r2.bucket_access(s3, BUCKET) == r2.BucketAccess(bucket=BUCKET, ok=True, region=REGION)
    assert r2.list_keys(s3, BUCKET, "videos/111/", limit=10) == (
        "videos/111/hls/master.m3u8",
        "videos/111/hls/seg_000.ts",
        "videos/111/hls/seg_001.ts",
    )
    assert len(r2.list_keys(s3, BUCKET, "videos/", limit=2)) == 2
    objects = r2.list_objects(s3, BUCKET, "videos/222/")
    assert [(o.key, o.size) for o in objects] == [("videos/222/hls/master.m3u8", 1)]


def test_missing_bucket_is_not_found(client: Callable[..., Any]) -> None:
    with pytest.raises(ProbeError) as caught:
        r2.bucket_access(client("s3", region="auto"), BUCKET)
    assert (caught.value.dependency, caught.value.kind) == ("r2", "not-found")


def test_bad_r2_keys_are_auth_not_denied(client: Callable[..., Any], auth_enforced: None) -> None:
    # HEAD answers a bare 403; the probe asks a one-key listing for the code.
    with pytest.raises(ProbeError) as caught:
        r2.bucket_access(client("s3", region="auto", key=BAD_KEY, secret=BAD_SECRET), BUCKET)
    assert (caught.value.kind, caught.value.code) == ("auth", "InvalidAccessKeyId")
    assert BAD_KEY not in str(caught.value)


# -- transport failures --------------------------------------------------------------------------------


def test_black_hole_endpoint_times_out_within_the_timeout(black_hole_port: int) -> None:
    black_hole = f"http://127.0.0.1:{black_hole_port}"
    client = aws_client("sqs", region=REGION, access_key="k", secret_key="s", endpoint_url=black_hole, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ProbeError) as caught:
        sqs.queue_info(client, QUEUE)
    elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert str(caught.value) == f"sqs: timeout after 1.0s ({black_hole})"
    assert elapsed < 2.0


def test_closed_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = aws_client(
        "sts", region=REGION, access_key="k", secret_key="s", endpoint_url=f"http://127.0.0.1:{port}", timeout=1.0
    )
    started = time.monotonic()
    with pytest.raises(ProbeError) as caught:
        sts.caller_identity(client)
    assert (caught.value.dependency, caught.value.kind) == ("sts", "unreachable")
    assert time.monotonic() - started < 2.0
