"""Who the AWS credentials belong to (runbook §2 "same account", §4 credentials)."""

from __future__ import annotations

from dataclasses import dataclass

from runbook.probes._aws import AwsClient, call


@dataclass(frozen=True)
class Identity:
    """The caller as ``sts:GetCallerIdentity`` reports it; needs no IAM permission."""

    account: str
    arn: str
    user_id: str


def caller_identity(sts: AwsClient) -> Identity:
    """Return the credentials' account and ARN; invalid keys raise ``ProbeError(kind="auth")``."""
    response = call(sts, "get_caller_identity", "sts")
    return Identity(
        account=str(response.get("Account", "")),
        arn=str(response.get("Arn", "")),
        user_id=str(response.get("UserId", "")),
    )


def assume_role(sts: AwsClient, role_arn: str, session_name: str = "runbook-probe") -> tuple[str, str, str]:
    """Temporary credentials of ``role_arn`` (15 minutes): the worker's instance role, to check what the worker
    can reach with its own identity. Changes nothing the runbook observes."""
    response = call(sts, "assume_role", "sts", RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=900)
    credentials = response.get("Credentials") or {}
    return (
        str(credentials.get("AccessKeyId", "")),
        str(credentials.get("SecretAccessKey", "")),
        str(credentials.get("SessionToken", "")),
    )
