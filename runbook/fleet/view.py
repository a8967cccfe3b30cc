"""The fleet as the evidence holds it: the group's instances, each one's boot report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runbook.fleet.boot import BootReport
from runbook.probes.fleet import FleetInstance


@dataclass(frozen=True)
class Fleet:
    """``instances``: every instance of the group; ``boots``/``boot_errors``: per InService instance, its boot
    report or why its console could not be read."""

    group: str
    instances: tuple[FleetInstance, ...]
    boots: Mapping[str, BootReport]
    boot_errors: Mapping[str, str]

    @property
    def in_service(self) -> tuple[FleetInstance, ...]:
        return tuple(i for i in self.instances if i.lifecycle_state == "InService")
