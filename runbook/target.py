"""What a run looks at: the mode, the deployment, both programs' settings and the suite's options."""

from __future__ import annotations

from dataclasses import dataclass, field

from runbook import production
from runbook.config import Side


@dataclass(frozen=True)
class Target:
    """Everything the evidence gatherer needs; built by the pytest plugin or by a Python shell."""

    mode: str  # "live" | "rehearsal"
    api: Side
    deployment: str | None = None  # docker | asg | local | None (not chosen)
    #: Deployments whose §1 checks apply; the rehearsal covers a worker process (or container) and an ASG.
    deployments: tuple[str, ...] = ()
    worker_env: dict[str, str] | None = field(default=None, repr=False)
    worker_env_source: str | None = None
    #: asg: the SSM parameter the instances' user data writes the worker's env file from (when no env file).
    worker_env_ssm: str | None = None
    #: asg: how the suite reads the instances' worker logs: ``"ssm"`` (one read-only Run Command per
    #: instance, opt-in) or ``None`` (log-based checks are unknown, with the command to run by hand).
    asg_logs: str | None = None
    #: asg: ``docker logs --since`` window of that command, in seconds.
    asg_logs_since: float = 7200.0
    worker_log: str | None = None  # the first (often only) source of each side
    api_log: str | None = None
    #: Every source of each side (several API instances, several workers); empty: just ``worker_log``/``api_log``.
    worker_logs: tuple[str, ...] = ()
    api_logs: tuple[str, ...] = ()
    worker_container: str = "academy-video-worker"
    api_container: str = "academy-api"
    worker_process: str = "video_worker"
    asg_name: str = "academy-video-worker-asg"
    worker_tag: str = "academy-video-worker"
    scaler_lambda: str = "academy-worker-queue-depth-metric"
    scaler_rule: str = "academy-worker-queue-depth-rate"
    alt_scaler_lambda: str = "academy-worker-autoscale"
    video_ids: tuple[int, ...] = ()
    video_table: str = "video_video"
    #: Redis key templates (``{id}``, ``{tenant}``): the real system's keys by default.
    lock_key: str = production.LOCK_KEY
    cancel_key: str = production.CANCEL_KEY
    progress_key: str = production.PROGRESS_KEY
    #: The API's route prefix (``/api/v1``), the tenant to send in ``X-Tenant-Code`` (else each video's own, from
    #: the database) and the bearer token (``RUNBOOK_API_TOKEN``; never printed).
    api_prefix: str = production.API_PREFIX
    api_tenant: str | None = None
    api_token: str | None = field(default=None, repr=False)
    #: A role to assume for the worker-side AWS checks when the worker's environment has no keys (an instance
    #: role); without it those checks are ``unknown`` rather than run with the suite's own credentials.
    worker_role_arn: str | None = None
    stuck_after: float = 1800.0
    #: docker: and cloudwatch: logs are read this many seconds back from now, newest first (``--log-since``).
    log_since: float = 6 * 3600.0
    #: 부록 B 0: an encode running this long while short jobs wait visible is "long".
    long_job_after: float = 600.0
    timeout: float = 3.0
    #: ``--log-timezone``: the zone of naive log timestamps; ``None``: each program's own (see config.log_zone).
    log_timezone: str | None = None
    lang: str = "ko"
    services: dict[str, str] = field(default_factory=dict)

    def log_specs(self, side: str) -> tuple[str, ...]:
        """Every log source of ``side`` (``"api"`` or ``"worker"``)."""
        many, one = (self.api_logs, self.api_log) if side == "api" else (self.worker_logs, self.worker_log)
        return many or ((one,) if one else ())
