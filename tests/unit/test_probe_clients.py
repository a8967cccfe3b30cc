"""Client builders: bounded timeouts, one attempt, path-style S3, explicit endpoints only."""

from __future__ import annotations

import pytest

from runbook.clients import aws_client, db_connect, redis_client
from runbook.probes import ProbeError


def test_aws_client_is_bounded_and_single_attempt() -> None:
    client = aws_client("sqs", region="ap-northeast-2", access_key="k", secret_key="s", timeout=2.5)
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2.5, 2.5)
    assert config.retries["total_max_attempts"] == 1
    assert client.meta.region_name == "ap-northeast-2"
    assert client.meta.endpoint_url == "https://sqs.ap-northeast-2.amazonaws.com"


def test_r2_client_is_path_style_sigv4_in_region_auto() -> None:
    client = aws_client(
        "s3", region="auto", access_key="k", secret_key="s", endpoint_url="https://acct.r2.cloudflarestorage.com"
    )
    assert client.meta.config.s3["addressing_style"] == "path"
    assert client.meta.config.signature_version == "s3v4"
    assert client.meta.region_name == "auto"
    assert client.meta.endpoint_url == "https://acct.r2.cloudflarestorage.com"


def test_endpoint_comes_from_the_caller_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:2")
    client = aws_client("sqs", region="ap-northeast-2", access_key="k", secret_key="s")
    assert client.meta.endpoint_url == "https://sqs.ap-northeast-2.amazonaws.com"


def test_aws_client_needs_a_region() -> None:
    with pytest.raises(ProbeError) as caught:
        aws_client("sqs", region="")
    assert caught.value.kind == "invalid"


def test_redis_client_never_retries() -> None:
    client = redis_client("127.0.0.1", 6379, "pw", 3, 1.5)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"], kwargs["db"]) == (1.5, 1.5, 3)
    assert kwargs["retry"].get_retries() == 0
    assert "pw" not in repr(client)


def test_db_connect_rejects_unknown_schemes() -> None:
    with pytest.raises(ProbeError) as caught:
        db_connect("mysql://u:p@h/db", 1.0)
    assert (caught.value.kind, "u:p" in str(caught.value)) == ("invalid", False)
