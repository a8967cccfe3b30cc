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
