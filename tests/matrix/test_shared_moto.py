"""Shared moto servers stay isolating: what one stack leaves behind, the next one on the same servers never sees.

The matrix's rehearsals share one AWS and one R2 moto server per test worker (``rehearsal_runner``); each
stack resets them (``POST /moto-api/reset``) and provisions its account anew. These tests leave behind
everything a fault row changes or creates (a deleted queue, Lambda and rule, a message in the DLQ, an extra
queue and bucket, an edited ASG, objects, Redis keys, video rows) and look for it from the next stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from reference.stack import Stack
from reference.stack import aws as awsmod
from reference.stack.aws import AwsEmulator, Lease, R2Emulator, SharedMotoServers, shared_url_variable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SharedMotoServers]:
    with SharedMotoServers(tmp_path / "moto", ROOT) as servers:
        for name, url in servers.env.items():
            monkeypatch.setenv(name, url)
        yield servers


def _error_code(call: object) -> str:
    with pytest.raises(ClientError) as info:
        call()  # type: ignore[operator]
    return str(info.value.response["Error"]["Code"])


@pytest.mark.timeout(180)
def test_next_stack_sees_nothing_of_the_previous_one(tmp_path: Path, shared: SharedMotoServers) -> None:
    with Stack("embedded", faults=["dlq-not-empty"], workdir=tmp_path / "first") as first:
        assert first.aws.shared and first.r2.shared and first.aws.url == shared.aws.url
        first.scenario.run()  # video 111 READY (progress, lock released), video 444's job in the DLQ
        first.sqs().send_message(QueueUrl=first.aws.queue_url, MessageBody='{"video_id": 999}')
        first.sqs().create_queue(QueueName="left-over-queue")
        first.sqs(region=awsmod.OTHER_REGION).create_queue(QueueName="left-over-queue")
        first.lambda_().delete_function(FunctionName=awsmod.LAMBDA_NAME)
        first.events().remove_targets(Rule=awsmod.RULE_NAME, Ids=["queue-depth-lambda"])
        first.events().delete_rule(Name=awsmod.RULE_NAME)
        first.autoscaling().update_auto_scaling_group(
            AutoScalingGroupName=awsmod.ASG_NAME, MinSize=0, MaxSize=1, DesiredCapacity=0
        )
        first.r2.client("s3", region="us-east-1").create_bucket(Bucket="left-over-bucket")
        first.redis().set("left-over-key", "1")
        old_aws_keys, old_r2_keys = first.aws.keys, first.r2.keys
        assert first.bucket_keys("tenants/1/video/") and first.video_status(111) == "READY"
        # The queue itself goes last: the worker long-polls it until the stack closes.
        first.sqs().delete_queue(QueueUrl=first.aws.queue_url)

    with Stack("embedded", workdir=tmp_path / "second") as second:
        assert second.aws.url == shared.aws.url and second.r2.url == shared.r2.url
        # AWS: exactly the provisioned account, untouched.
        queues = {u.rsplit("/", 1)[-1] for u in second.sqs().list_queues().get("QueueUrls", [])}
        assert queues == {awsmod.QUEUE_NAME, awsmod.DLQ_NAME}
        assert not second.sqs(region=awsmod.OTHER_REGION).list_queues().get("QueueUrls")
        assert second.queue_counts() == {"visible": 0, "in_flight": 0}
        assert second.dlq_counts() == {"visible": 0, "in_flight": 0}
        assert second.aws.scaler_target() is None  # rule ENABLED, targeting an existing Lambda
        group = second.aws.asg()
        assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 3, 1)
        # R2: the one bucket, empty of the previous stack's uploads and HLS output.
        assert [b["Name"] for b in second.s3().list_buckets()["Buckets"]] == [awsmod.BUCKET]
        assert second.bucket_keys() == []
        # Redis and the database are the stack's own (new server, new file).
        assert second.redis().keys("*") == []
        assert second.video_row(111) is None and second.video_row(444) is None
        # The previous stack's keys died with its IAM user, and auth is still enforced for everyone.
        assert old_aws_keys != second.aws.keys and old_r2_keys != second.r2.keys
        old_sqs = second.aws.client("sqs", keys=old_aws_keys)
        assert _error_code(old_sqs.list_queues) == "InvalidClientTokenId"
        old_s3 = second.r2.client("s3", region="auto", keys=old_r2_keys)
        assert _error_code(old_s3.list_buckets) == "InvalidAccessKeyId"
        unknown = awsmod.Keys(*awsmod.INVALID_AWS_KEYS)
        assert _error_code(second.aws.client("iam", keys=unknown).list_users) == "InvalidClientTokenId"
        # The stack works as a fresh one does.
        assert second.scenario.run().reached


def test_a_shared_server_serves_one_stack_at_a_time(tmp_path: Path, shared: SharedMotoServers) -> None:
    holder = AwsEmulator(tmp_path, ROOT)
    holder.start()  # takes the server's lease until it stops
    try:
        with pytest.raises(TimeoutError, match="leased by another stack"):
            Lease(shared.aws.url).acquire(timeout=0.3)
    finally:
        holder.stop()
    after = Lease(shared.aws.url)
    after.acquire(timeout=0.3)  # released with the stack
    after.release()


def test_without_the_variables_a_stack_starts_its_own_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for label in ("aws", "r2"):
        monkeypatch.delenv(shared_url_variable(label), raising=False)
    aws, r2 = AwsEmulator(tmp_path, ROOT), R2Emulator(tmp_path, ROOT)
    assert not aws.shared and not r2.shared
    aws.start()
    try:
        assert aws.process.alive()
        assert aws.ready().startswith("http://127.0.0.1:")
    finally:
        aws.stop()
    assert not aws.process.alive()
