"""The queue-depth scaler (runbook appendix B 1, 2, 5): its Lambda and its EventBridge rule.

Reads configuration only; the Lambda is never invoked and ``get_function`` (which hands out a
pre-signed code URL) is not used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from runbook.probes._aws import AwsClient, call, pages
from runbook.probes._env import keep_only
from runbook.probes.errors import ProbeError

_FUNCTION: Final = re.compile(r"^[A-Za-z0-9_:.-]{1,170}$")
_RULE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class LambdaInfo:
    """A function's configuration. ``env`` holds only the variables the caller asked to keep (some may be
    secrets): it is kept out of ``repr``."""

    name: str
    arn: str
    state: str | None
    env: dict[str, str] = field(repr=False, hash=False, compare=False)
    last_modified: str | None = None


@dataclass(frozen=True)
class RuleInfo:
    """An EventBridge rule and the ARNs it targets."""

    name: str
    arn: str
    state: str
    schedule: str | None
    targets: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        return self.state == "ENABLED"


def lambda_function(
    lambda_client: AwsClient,
    name: str,
    *,
    keep_env: Collection[str] = (),
    observe_env: Callable[[Mapping[str, str]], None] | None = None,
) -> LambdaInfo:
    """``get_function_configuration``; missing → ``ProbeError(kind="not-found")``.

    The answer carries the function's whole environment: only the names in ``keep_env`` stay (none by
    default), the others are dropped here (:func:`runbook.probes._env.keep_only`)."""
    if not _FUNCTION.match(name):
        raise ProbeError("lambda", "invalid", f"invalid function name {name!r}")
    response = call(lambda_client, "get_function_configuration", "lambda", FunctionName=name)
    variables: dict[str, Any] = (response.get("Environment") or {}).get("Variables") or {}
    state = response.get("State")
    modified = response.get("LastModified")
    return LambdaInfo(
        name=str(response.get("FunctionName", name)),
        arn=str(response.get("FunctionArn", "")),
        state=str(state) if state else None,
        env=keep_only({str(key): str(value) for key, value in variables.items()}, keep_env, observe_env),
        last_modified=str(modified) if modified else None,
    )


def rule(events: AwsClient, name: str, *, event_bus: str | None = None) -> RuleInfo:
    """``describe_rule`` plus the target ARNs; missing → ``ProbeError(kind="not-found")``."""
    if not _RULE.match(name):
        raise ProbeError("events", "invalid", f"invalid rule name {name!r}")
    bus: dict[str, Any] = {"EventBusName": event_bus} if event_bus else {}
    response = call(events, "describe_rule", "events", Name=name, **bus)
    targets: list[str] = []
    for page in pages(events, "list_targets_by_rule", "events", Rule=name, **bus):
        targets.extend(str(target.get("Arn", "")) for target in page.get("Targets", []))
    schedule = response.get("ScheduleExpression")
    return RuleInfo(
        name=str(response.get("Name", name)),
        arn=str(response.get("Arn", "")),
        state=str(response.get("State", "")),
        schedule=str(schedule) if schedule else None,
        targets=tuple(targets),
    )
