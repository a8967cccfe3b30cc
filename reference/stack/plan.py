"""How a stack deviates from a healthy one: the :class:`Plan` that faults edit before anything starts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Plan:
    """How this stack deviates from a healthy one; faults edit it before anything starts."""

    worker_env: dict[str, str | None] = field(default_factory=dict)  # overrides; None drops the variable
    api_env: dict[str, str | None] = field(default_factory=dict)
    worker_switches: dict[str, str] = field(default_factory=dict)  # stand-in knobs, not exported
    api_switches: dict[str, str] = field(default_factory=dict)
    start_worker: bool = True
    stop_worker_after_start: bool = False
    ffmpeg: str = "ok"  # ok | failing | missing
    asg_min: int = 0
    asg_max: int = 3
    asg_desired: int = 1
    extra_queues: list[tuple[str, str]] = field(default_factory=list)
    worker_other_db: str | None = None
    #: ASG instances booted like the real user data, one worker each (0: the stack's one worker instead)
    fleet_size: int = 0
    boot_faults: dict[int, str] = field(default_factory=dict)  # instance index -> reference.stack.fleet fault


def overlay(base: dict[str, str], overrides: dict[str, str | None]) -> dict[str, str]:
    out = dict(base)
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out
