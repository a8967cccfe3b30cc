"""The worker-env parameter probe against a real moto server, and the env file read as Docker reads it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from runbook.clients import aws_client
from runbook.config import ConfigError
from runbook.probes import ProbeError, ssm
from runbook.worker_env import keep_read, parse_env_file, valid_parameter_name

pytestmark = pytest.mark.timeout(60)

REGION = "ap-northeast-2"
NAME = "/academy/workers/env"
SECRET = "r2-secret-that-must-never-print-0001"
ENV_TEXT = (
    "# shared by the AI, messaging and video workers\n"
    "API_BASE_URL=https://api.hakwonplus.com\n"
    "INTERNAL_WORKER_TOKEN=tok-123456\n"
    f"R2_SECRET_KEY={SECRET}\n"
    "R2_BUCKET=academy-video\n"
    "DJANGO_SECRET_KEY=nobody-reads-this\n"
    "SENTRY_DSN=https://k@sentry.example/1\n"
    "AWS_ENDPOINT_URL_SQS=https://sqs.example\n"
)


def _ssm(url: str) -> Any:
    return aws_client("ssm", region=REGION, access_key="testing", secret_key="testing", endpoint_url=url, timeout=20)


def _read(client: Any, name: str = NAME) -> ssm.EnvParameter:
    return ssm.env_parameter(client, name, parse=parse_env_file, keep=keep_read)


@pytest.mark.usefixtures("moto_reset")
def test_reads_the_secure_string_and_keeps_only_what_checks_read(moto_url: str) -> None:
    client = _ssm(moto_url)
    client.put_parameter(Name=NAME, Value=ENV_TEXT, Type="SecureString")
    found = _read(client)
    assert found.type == "SecureString" and found.version == 1
    assert dict(found.env) == {
        "API_BASE_URL": "https://api.hakwonplus.com",
        "INTERNAL_WORKER_TOKEN": "tok-123456",
        "R2_SECRET_KEY": SECRET,
        "R2_BUCKET": "academy-video",
        "AWS_ENDPOINT_URL_SQS": "https://sqs.example",
    }
    assert found.dropped == 2  # DJANGO_SECRET_KEY and SENTRY_DSN are not even kept in memory
    assert SECRET not in repr(found)


@pytest.mark.usefixtures("moto_reset")
def test_missing_parameter_names_it(moto_url: str) -> None:
    with pytest.raises(ProbeError) as caught:
        _read(_ssm(moto_url), "/academy/workers/other")
    assert caught.value.kind == "not-found"
    assert "/academy/workers/other" in str(caught.value)


@pytest.mark.parametrize("code", ["AccessDeniedException", "KMSAccessDeniedException"])
def test_refused_read_names_parameter_and_permission(code: str) -> None:
    client = aws_client("ssm", region=REGION, access_key="a", secret_key="b", endpoint_url="http://127.0.0.1:9")
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_parameter", service_error_code=code, http_status_code=400, service_message="not allowed"
        )
        with pytest.raises(ProbeError) as caught:
            _read(client)
    assert caught.value.kind == "denied"
    assert NAME in str(caught.value) and "ssm:GetParameter" in str(caught.value)


@pytest.mark.usefixtures("moto_reset")
def test_a_line_docker_refuses_is_invalid_without_printing_it(moto_url: str) -> None:
    client = _ssm(moto_url)
    client.put_parameter(Name=NAME, Value=f"API_BASE_URL=x\nR2 SECRET={SECRET}\n", Type="SecureString")
    with pytest.raises(ProbeError) as caught:
        _read(client)
    assert caught.value.kind == "invalid" and "line 2" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_env_file_is_read_as_docker_reads_it() -> None:
    text = '\ufeffA_X=1\n   B_X = two \n# C_X=3\n\nD_X\nE_X="quoted"\nF_X=a=b\r\nG_X='
    with pytest.raises(ConfigError):
        parse_env_file(text, "t")  # "B_X " has a blank in the name: docker run refuses the file
    env = parse_env_file(text.replace("B_X = two ", "B_X= two "), "t")
    # Docker keeps values verbatim (quotes, blanks, a CR), drops a name without "=" (not in its own env).
    assert env == {"A_X": "1", "B_X": " two ", "E_X": '"quoted"', "F_X": "a=b\r", "G_X": ""}


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("/academy/workers/env", True),
        ("academy.workers-env_1", True),
        ("arn:aws:ssm:ap-northeast-2:123456789012:parameter/academy/workers/env", True),
        ("/academy/workers/env; rm -rf /", False),
        ("", False),
    ],
)
def test_parameter_names(name: str, ok: bool) -> None:
    assert valid_parameter_name(name) is ok
