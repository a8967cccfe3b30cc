"""ProbeError: classification of client exceptions, one-line secret-free text."""

from __future__ import annotations

import errno
import pickle
import socket
import sqlite3

import pytest
import redis.exceptions
from botocore import exceptions as boto_exc

from runbook.probes.errors import ProbeError, from_boto, from_db, from_os, from_redis, redact


def _client_error(code: str, message: str = "", status: int = 400, operation: str = "GetQueueUrl") -> Exception:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return boto_exc.ClientError(response, operation)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("code", "message", "status", "kind"),
    [
        ("InvalidClientTokenId", "The security token included in the request is invalid.", 403, "auth"),
        ("UnrecognizedClientException", "", 400, "auth"),
        ("SignatureDoesNotMatch", "", 403, "auth"),
        ("InvalidAccessKeyId", "", 403, "auth"),
        ("AuthFailure", "", 401, "auth"),
        ("ExpiredToken", "", 403, "auth"),
        ("AccessDenied", "not authorized to perform: sqs:GetQueueUrl", 403, "denied"),
        ("AccessDeniedException", "", 403, "denied"),
        ("403", "Forbidden", 403, "denied"),
        ("AWS.SimpleQueueService.NonExistentQueue", "", 400, "not-found"),
        ("QueueDoesNotExist", "", 400, "not-found"),
        ("NoSuchBucket", "", 404, "not-found"),
        ("404", "Not Found", 404, "not-found"),
        ("ResourceNotFoundException", "Function not found", 404, "not-found"),
        ("ValidationError", "AutoScalingGroup name not found", 400, "not-found"),
        ("ValidationError", "1 validation error", 400, "invalid"),
        ("Throttling", "Rate exceeded", 400, "error"),
    ],
)
def test_client_error_codes(code: str, message: str, status: int, kind: str) -> None:
    error = from_boto(_client_error(code, message, status), "sqs")
    assert (error.dependency, error.kind, error.code) == ("sqs", kind, code)
    assert str(error).startswith("sqs: ")


def test_xml_body_in_a_json_protocol_error() -> None:
    body = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>bad</Message></Error></Errors>"
    error = from_boto(_client_error("403", body, 403), "sqs")
    assert (error.kind, error.code, error.detail) == (
        "auth",
        "InvalidClientTokenId",
        "GetQueueUrl: InvalidClientTokenId bad",
    )


def test_transport_and_credential_errors() -> None:
    url = "http://127.0.0.1:4566/"
    assert from_boto(boto_exc.EndpointConnectionError(endpoint_url=url), "sqs").kind == "unreachable"
    assert from_boto(boto_exc.ConnectionClosedError(endpoint_url=url), "sqs").kind == "unreachable"
    timeout = from_boto(boto_exc.ReadTimeoutError(endpoint_url=url), "sqs", timeout=3.0)
    assert str(timeout) == "sqs: timeout after 3.0s (http://127.0.0.1:4566)"
    assert from_boto(boto_exc.ConnectTimeoutError(endpoint_url=url), "sqs").kind == "timeout"
    missing = from_boto(boto_exc.NoCredentialsError(), "sts")
    assert missing.kind == "auth" and "missing" in str(missing)
    partial = from_boto(boto_exc.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), "sts")
    assert partial.kind == "auth" and "missing" in str(partial)
    named = boto_exc.EndpointConnectionError(endpoint_url=url, error=socket.gaierror(-2, "Name or service not known"))
    assert "host not found" in str(from_boto(named, "sqs"))


def test_os_errors() -> None:
    assert from_os(ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "api").kind == "unreachable"
    assert from_os(TimeoutError("timed out"), "api", timeout=2.0).detail == "timeout after 2.0s"
    gai = from_os(socket.gaierror(-2, "Name or service not known"), "api", target="nohost:80")
    assert (gai.kind, str(gai)) == ("unreachable", "api: unreachable: host not found (nohost:80)")
    assert from_os(PermissionError(errno.EACCES, "Permission denied"), "process").kind == "denied"
    assert from_os(OSError(errno.EHOSTUNREACH, "No route to host"), "api").kind == "unreachable"


def test_redis_and_db_errors() -> None:
    assert from_redis(redis.exceptions.TimeoutError("Timeout reading from socket")).kind == "timeout"
    refused = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")
    assert from_redis(refused).kind == "unreachable"
    assert from_redis(redis.exceptions.AuthenticationError("invalid password")).kind == "auth"
    assert from_redis(redis.exceptions.ResponseError("NOAUTH Authentication required.")).kind == "auth"
    assert from_redis(redis.exceptions.NoPermissionError("NOPERM")).kind == "denied"
    assert from_db(sqlite3.OperationalError("no such table: video_video")).kind == "not-found"
    assert from_db(sqlite3.OperationalError("attempt to write a readonly database")).kind == "denied"
    assert from_db(sqlite3.OperationalError("database is locked")).kind == "timeout"


def test_redaction() -> None:
    text = "failed postgresql://app:s3cret@db.internal:5432/academy key AKIAIOSFODNN7EXAMPLE password=hunter2\nnext"
    clean = redact(text)
    assert "s3cret" not in clean and "AKIAIOSFODNN7EXAMPLE" not in clean and "hunter2" not in clean
    assert "\n" not in clean and "db.internal:5432/academy" in clean
    assert "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" not in redact("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    error = ProbeError("redis", "unreachable", "cannot reach redis://:pw@cache:6379/0")
    assert "pw" not in str(error) and "\n" not in str(error)
    assert len(redact("x " * 1000)) <= 300


def test_str_repr_pickle_and_kinds() -> None:
    error = ProbeError("sqs", "not-found", "GetQueueUrl: QueueDoesNotExist", code="QueueDoesNotExist")
    assert str(error) == "sqs: not-found: GetQueueUrl: QueueDoesNotExist"
    assert str(ProbeError("redis", "timeout", "timeout after 1.0s (h:1/0)")) == "redis: timeout after 1.0s (h:1/0)"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.dependency, copy.kind, copy.detail, copy.code) == (
        error.dependency,
        error.kind,
        error.detail,
        error.code,
    )
    assert "QueueDoesNotExist" in repr(error)
    with pytest.raises(ValueError):
        ProbeError("sqs", "broken", "x")  # type: ignore[arg-type]
