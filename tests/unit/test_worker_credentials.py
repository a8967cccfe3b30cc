"""A worker whose environment has no AWS keys (an instance role) is never checked with the suite's own keys."""

from __future__ import annotations

import pytest

from runbook.config import side_from_env
from runbook.evidence import Evidence, NotConfigured
from runbook.target import Target

API_ENV = {
    "AWS_REGION": "ap-northeast-2",
    "AWS_ACCESS_KEY_ID": "AKIAAPIKEYS000000000",
    "AWS_SECRET_ACCESS_KEY": "api-secret-key-value",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


def test_a_keyless_worker_is_unknown_without_its_role_not_checked_with_the_api_s_keys() -> None:
    worker_env = {"AWS_REGION": "ap-northeast-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    target = Target(mode="live", api=side_from_env(API_ENV, "api"), worker_env=worker_env)
    evidence = Evidence(target, concurrent=False)
    for key in ("sqs.worker", "sts.worker"):
        with pytest.raises(NotConfigured) as caught:
            evidence.get(key)
        assert "--worker-role-arn" in caught.value.setting
    # The API's own checks still use the API's keys.
    with pytest.raises(Exception) as api:  # the endpoint is a closed port: any error but "not configured"
        evidence.get("sqs.api")
    assert not isinstance(api.value, NotConfigured)


def test_the_worker_s_queue_region_is_aws_region_as_the_real_queue_client_reads_it() -> None:
    side = side_from_env({"AWS_DEFAULT_REGION": "us-east-1"}, "worker")
    assert side.queue_region == "ap-northeast-2"  # libs/queue/client.py:87 ignores AWS_DEFAULT_REGION
    assert side_from_env({"AWS_REGION": "eu-west-1"}, "worker").queue_region == "eu-west-1"
