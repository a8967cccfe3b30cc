"""What a fault of the matrix is: its id, row, expected cause, and the hooks that inject it.

Kept apart from the matrix itself (``faults``) so that the scenario can name the healthy row without importing
the matrix, and the matrix never imports the stack: imports run one way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from reference.stack.clients import StackClients

#: A running stack (``reference.stack.Stack``, seen through its :class:`~reference.stack.clients.StackClients`).
Hook = Callable[[StackClients], Any]


class ScenarioLike(Protocol):
    """What a fault's flow does with the scenario (``reference.stack.scenario.Scenario``)."""

    stack: StackClients
    videos: list[int]
    responses: dict[Any, tuple[int, dict[str, Any]]]

    def upload(self, video_id: int, seconds: float = 3) -> dict[str, Any]: ...

    def complete(self, video_id: int) -> tuple[int, dict[str, Any]]: ...

    def record(
        self, video_id: int, response: tuple[int, dict[str, Any]], key: str | None = None
    ) -> tuple[int, dict[str, Any]]: ...


__all__ = ["Fault", "Hook", "ScenarioLike"]


def _noop(_stack: StackClients) -> None:
    return None


@dataclass(frozen=True)
class Fault:
    """Each :class:`Fault` has a stable ``id``, its matrix ``row`` and the ``cause`` the verdict must name. Hooks:
    ``configure(stack)`` edits ``stack.plan`` before anything starts; ``prepare(stack)`` runs once AWS, R2, Redis
    and the database are up but before the API and the worker; ``inject(stack)`` once everything runs;
    ``flow(scenario)`` replaces the standard flow (upload video 111, complete); ``symptom(stack, scenario)`` is
    truthy once the fault's visible effect is there (what the scenario waits for)."""

    id: str
    row: int
    cause: str  # "<layer>/<cause>" from the CONTRACT, or "healthy"
    title: str
    symptom: Callable[..., Any]
    configure: Hook = _noop
    prepare: Hook = _noop
    inject: Hook = _noop
    flow: Callable[..., Any] | None = None

    @property
    def layer(self) -> str:
        return self.cause.split("/", 1)[0]
