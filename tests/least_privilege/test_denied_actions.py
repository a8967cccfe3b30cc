"""A refusal names the permission it is about: AWS's action, Redis's command, PostgreSQL's grant.

The platforms' own wording (AWS and moto: ``not authorized to perform: <action>``; Redis/Valkey: ``no permissions
to run the '<command>' command``; PostgreSQL: ``permission denied for table <t>``) becomes ``ProbeError.action``,
and the skip message says ``missing permission <action>``. S3 answers a bare ``Access Denied``: its action comes
from the operation.
"""

from __future__ import annotations

import pickle

import psycopg
import pytest
import redis.exceptions
from botocore import exceptions as boto_exc

from runbook.probes.errors import ProbeError, from_boto, from_db, from_redis


def _denied(code: str, message: str, operation: str) -> Exception:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 403}}
    return boto_exc.ClientError(response, operation)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("code", "message", "operation", "service", "action"),
    [
        (
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/runbook is not authorized to perform: sqs:GetQueueAttributes "
            "on resource: arn:aws:sqs:ap-northeast-2:123456789012:academy-video-jobs because no identity-based "
            "policy allows the sqs:GetQueueAttributes action",
            "GetQueueAttributes",
            "sqs",
            "sqs:GetQueueAttributes",
        ),
        (
            "UnauthorizedOperation",
            "You are not authorized to perform this operation. User: arn:aws:iam::1:user/r is not authorized to "
            "perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action",
            "DescribeInstances",
            "ec2",
            "ec2:DescribeInstances",
        ),
        ("AccessDeniedException", "", "GetFunctionConfiguration", "lambda", "lambda:GetFunctionConfiguration"),
        ("AccessDenied", "Access Denied", "HeadBucket", "s3", "s3:ListBucket"),
        ("AccessDenied", "Access Denied", "ListObjectsV2", "s3", "s3:ListBucket"),
    ],
)
def test_aws_refusals_name_the_action(code: str, message: str, operation: str, service: str, action: str) -> None:
    error = from_boto(_denied(code, message, operation), service, service=service)
    assert (error.kind, error.action) == ("denied", action)
    assert f"missing permission {action}" in str(error)
    assert pickle.loads(pickle.dumps(error)).action == action  # crosses xdist and the evidence pool intact


def test_other_aws_errors_name_no_action() -> None:
    throttled = _denied("Throttling", "Rate exceeded", "GetQueueAttributes")
    assert from_boto(throttled, "sqs", service="sqs").action is None
    auth = _denied("InvalidClientTokenId", "bad key", "GetQueueUrl")
    assert from_boto(auth, "sqs", service="sqs").action is None
    assert from_boto(_denied("AccessDenied", "", "GetQueueUrl"), "sqs").action is None  # no service, no guess


def test_redis_refusals_name_the_command_or_the_keys() -> None:
    command = from_redis(
        redis.exceptions.NoPermissionError("User runbook has no permissions to run the 'mget' command")
    )
    assert (command.kind, command.action) == ("denied", "+mget")
    sub = from_redis(
        redis.exceptions.NoPermissionError("User r has no permissions to run the 'client|setinfo' command")
    )
    assert sub.action == "+client|setinfo"
    key = from_redis(redis.exceptions.NoPermissionError("No permissions to access a key"))
    assert key.kind == "denied" and key.action is not None and key.action.startswith("%R~")
    assert from_redis(redis.exceptions.AuthenticationError("WRONGPASS invalid username-password pair")).action is None


def test_postgres_refusals_name_the_grant() -> None:
    table = psycopg.errors.InsufficientPrivilege("permission denied for table video_video")
    assert (from_db(table).kind, from_db(table).action) == ("denied", "SELECT ON video_video")
    schema = psycopg.errors.InsufficientPrivilege("permission denied for schema public")
    assert from_db(schema).action == "USAGE ON SCHEMA public"
    database = psycopg.errors.InsufficientPrivilege('permission denied for database "academy"')
    assert from_db(database).action == "CONNECT ON DATABASE academy"
    read_only = psycopg.errors.ReadOnlySqlTransaction("cannot execute UPDATE in a read-only transaction")
    assert (from_db(read_only).kind, from_db(read_only).action) == ("denied", None)  # a write refused, no grant


def test_a_probe_error_without_action_reads_as_before() -> None:
    assert str(ProbeError("sqs", "denied", "GetQueueUrl: AccessDenied")) == "sqs: denied: GetQueueUrl: AccessDenied"
