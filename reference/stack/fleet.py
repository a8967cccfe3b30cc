"""The ASG deployment as production runs it: the worker's env in SSM, instances that boot from user data.

The real instances (academy-backend 3bc9f472f, ``infra/worker_asg/user_data/video_worker_user_data.sh``) read
the SecureString parameter ``/academy/workers/env`` into ``/opt/academy/.env`` and start the worker with
``docker run --env-file``. The stand-in account holds the same parameter (moto SSM), written from the stack's
worker environment, so a live ``-m "live and asg"`` run finds the worker's settings where production keeps them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reference.stack.stack import Stack

#: The parameter name in the real user data (line 23) and the region it reads it in.
WORKER_ENV_PARAMETER = "/academy/workers/env"


def env_file_text(env: dict[str, str]) -> str:
    """The parameter's value: ``KEY=VALUE`` lines, as the real parameter holds the shared env file."""
    return "".join(f"{key}={value}\n" for key, value in sorted(env.items()))


def publish_worker_env(stack: Stack) -> None:
    """Put the worker's environment into the account's SSM parameter (SecureString, the default key)."""
    stack.client("ssm").put_parameter(
        Name=WORKER_ENV_PARAMETER,
        Value=env_file_text(stack.worker_env),
        Type="SecureString",
        Overwrite=True,
        Description="academy workers' env file (stand-in of the real /academy/workers/env)",
    )
