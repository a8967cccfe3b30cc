"""The worker's environment parameter in SSM Parameter Store (the ASG deployment's §3 source).

One ``ssm:GetParameter`` with decryption; the value is parsed as Docker's ``--env-file`` would and only the
variables the checks read are kept. The value never leaves this module as text: not in errors (a parse
error names the line number), not in ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from runbook.config import ConfigError
from runbook.probes._aws import AwsClient, call
from runbook.probes.errors import ProbeError

#: What the suite's credentials need to read a SecureString (the second only with a customer managed key).
PERMISSIONS = "ssm:GetParameter (and kms:Decrypt on the parameter's key)"


@dataclass(frozen=True)
class EnvParameter:
    """The parameter's metadata and the variables kept from it."""

    name: str
    type: str  # String | StringList | SecureString
    version: int | None
    last_modified: datetime | None
    env: Mapping[str, str] = field(repr=False)
    dropped: int  # variables in the parameter that no check reads (not kept)


def env_parameter(
    ssm: AwsClient,
    name: str,
    *,
    parse: Callable[[str, str], dict[str, str]],
    keep: Callable[[Mapping[str, str]], dict[str, str]],
) -> EnvParameter:
    """Read ``name`` with decryption; ``parse(text, label)`` reads the env file, ``keep`` filters it.

    Missing parameter → ``ProbeError(kind="not-found")``; refused → ``kind="denied"`` naming the permission;
    a value Docker would refuse → ``kind="invalid"`` naming the line.
    """
    try:
        response = call(ssm, "get_parameter", "ssm", Name=name, WithDecryption=True)
    except ProbeError as exc:
        raise _explained(exc, name) from None
    parameter = response.get("Parameter") or {}
    text = str(parameter.get("Value") or "")
    try:
        parsed = parse(text, f"SSM parameter {name}")
    except ConfigError as exc:
        raise ProbeError("ssm", "invalid", str(exc)) from None
    kept = keep(parsed)
    version = parameter.get("Version")
    modified = parameter.get("LastModifiedDate")
    return EnvParameter(
        name=name,
        type=str(parameter.get("Type", "")),
        version=int(version) if isinstance(version, int) else None,
        last_modified=modified if isinstance(modified, datetime) else None,
        env=kept,
        dropped=len(parsed) - len(kept),
    )


def _explained(exc: ProbeError, name: str) -> ProbeError:
    """Say which parameter and, when refused, which permission: what the operator has to fix."""
    code = exc.code or ""
    if code == "ParameterNotFound" or exc.kind == "not-found":
        return ProbeError("ssm", "not-found", f"parameter {name} not found (ParameterNotFound)", code=code or None)
    if exc.kind == "denied" or code in ("AccessDeniedException", "KMSAccessDeniedException"):
        action = "kms:Decrypt" if code == "KMSAccessDeniedException" else (exc.action or "ssm:GetParameter")
        return ProbeError(
            "ssm", "denied", f"parameter {name}: {code or 'denied'}; needs {PERMISSIONS}", code=code, action=action
        )
    if code in ("InvalidKeyId", "KMSDisabledException", "KMSNotFoundException"):
        return ProbeError(
            "ssm",
            "denied",
            f"parameter {name}: cannot decrypt ({code}); needs kms:Decrypt",
            code=code,
            action="kms:Decrypt",
        )
    return ProbeError("ssm", exc.kind, f"parameter {name}: {exc.detail}", code=exc.code)
