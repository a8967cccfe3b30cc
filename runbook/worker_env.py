"""The worker's environment as the ASG deployment hands it over: an env file written from an SSM parameter.

On the real deployment (academy-backend 3bc9f472f, ``infra/worker_asg/user_data/video_worker_user_data.sh``)
the instance's user data runs ``aws ssm get-parameter --name /academy/workers/env --with-decryption --query
Parameter.Value --output text > /opt/academy/.env`` (line 23), then ``docker run --env-file /opt/academy/.env``
(lines 34-35). So the worker sees the parameter's text the way Docker's ``--env-file`` reads it, and this
module reads it the same way: leading blanks trimmed, ``#`` lines and empty lines skipped, ``KEY=VALUE`` split at
the first ``=``, the value kept verbatim (Docker removes no quotes and keeps trailing blanks and ``\\r``), a line
without ``=`` taken from the Docker client's own environment (empty under user data: the variable is absent).

Only the variables the checks read are kept (:func:`keep_read`): the parameter is shared with the AI and
messaging workers and holds secrets no check needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from runbook.config import ENV_NEEDED, ConfigError

#: The SSM parameter the real user data reads (video_worker_user_data.sh:23).
DEFAULT_PARAMETER: Final = "/academy/workers/env"

#: Docker's ``--env-file`` refuses a variable name containing whitespace (docker/cli opts/envfile.go).
_WHITESPACE: Final = re.compile(r"\s")


def parse_env_file(text: str, label: str) -> dict[str, str]:
    """Parse ``text`` as ``docker run --env-file`` does; a line Docker would refuse is a :class:`ConfigError`
    naming ``label`` and the line number (never the line: it may hold a secret)."""
    env: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), 1):
        if number == 1:
            raw = raw.removeprefix("\ufeff")  # Docker drops a UTF-8 byte order mark on the first line
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not name:
            raise ConfigError(f"{label} line {number}", "no variable name before '='")
        if _WHITESPACE.search(name):
            raise ConfigError(f"{label} line {number}", "variable name contains whitespace (docker run refuses it)")
        if sep:
            env[name] = value
    return env


def keep_read(env: Mapping[str, str]) -> dict[str, str]:
    """Only the variables some check reads (``runbook.config.ENV_NEEDED``, the one list the container's and the
    process's environments are reduced to as well); everything else in the shared parameter is dropped at once."""
    return {k: v for k, v in env.items() if k in ENV_NEEDED}


def valid_parameter_name(name: str) -> bool:
    """An SSM parameter name or ARN as ``ssm:GetParameter`` accepts it (letters, digits, ``_.-/``)."""
    if name.startswith("arn:"):
        return bool(re.fullmatch(r"arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9_.\-/]{1,2048}", name))
    return bool(re.fullmatch(r"[A-Za-z0-9_.\-/]{1,2048}", name))
