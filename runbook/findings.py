"""How a check states its judgement: ``fail(cause, **facts)`` or ``unknown(reason, **facts)``.

Both carry facts, not sentences: the report renders them in the operator's language (``runbook.texts``).
``CheckFailed`` is an ``AssertionError`` so pytest counts it as a plain failure.
"""

from __future__ import annotations

from typing import NoReturn

from runbook.model import CAUSE_LAYER


class CheckFailed(AssertionError):
    """A check found its fault: ``cause`` is a CONTRACT cause id."""

    def __init__(self, cause: str, facts: dict[str, object]) -> None:
        if cause not in CAUSE_LAYER:
            raise ValueError(f"unknown cause {cause!r}: add it to CONTRACT and runbook.model first")
        super().__init__(f"{cause}: {facts}")
        self.cause = cause
        self.facts = facts


class Unknown(Exception):
    """A check could not judge (setting missing, dependency unreachable): reported as ``unknown``."""

    def __init__(self, reason: str, facts: dict[str, object]) -> None:
        super().__init__(f"{reason}: {facts}")
        self.reason = reason
        self.facts = facts


def fail(cause: str, **facts: object) -> NoReturn:
    raise CheckFailed(cause, facts)


def unknown(reason: str, **facts: object) -> NoReturn:
    raise Unknown(reason, facts)
