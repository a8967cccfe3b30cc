"""Canary signals: queue health as figures, not only pass/fail.

Each signal is a measured value beside its threshold (``--max-oldest-age``, ``--max-visible``, ...), the state
that comparison gives (``ok``, ``warn`` when within 20 % of the threshold, ``fail`` over it, ``unknown`` when
there was nothing to measure) and where the figure came from. The checks that own a signal (§2 for the queue's,
§9 for the stuck-video count, the canary for its enqueue-to-READY time) record it and fail when it is over its
threshold; ``verdict.json`` (``signals``), the report's figures block and the terminal show all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

SignalState = Literal["ok", "warn", "fail", "unknown"]

#: Share of the threshold from which a signal is ``warn`` (approaching it) rather than ``ok``.
WARN_SHARE = 0.8

#: Signal name -> (unit, the option that sets its threshold), in the order reports show them.
SIGNALS: dict[str, tuple[str, str]] = {
    "oldest_message_age": ("s", "--max-oldest-age"),
    "visible": ("messages", "--max-visible"),
    "in_flight": ("messages", "--max-in-flight"),
    "dlq_depth": ("messages", "--max-dlq"),
    "stuck_videos": ("videos", "--max-stuck"),
    "canary_seconds": ("s", "--canary-slow-after"),
}


@dataclass(frozen=True)
class Thresholds:
    """The run's thresholds (seconds or counts); a value *over* its threshold fails the signal's check."""

    oldest_message_age: float = 1800.0
    visible: float = 20
    in_flight: float = 20
    dlq_depth: float = 0
    stuck_videos: float = 0
    canary_seconds: float = 300.0

    def of(self, name: str) -> float:
        return float(getattr(self, name))


@dataclass(frozen=True)
class Signal:
    """One figure: ``value`` (``None`` when unknown) against ``threshold``, its state and its source."""

    name: str
    value: float | None
    threshold: float
    state: SignalState
    source: str
    unit: str
    message: str = ""

    def as_json(self) -> dict[str, object]:
        doc = asdict(self)
        doc.pop("name")
        return doc

    @classmethod
    def from_json(cls, name: str, doc: Mapping[str, object]) -> Signal:
        value = doc.get("value")
        state = str(doc.get("state", "unknown"))
        return cls(
            name=name,
            value=float(value) if isinstance(value, (int, float)) else None,
            threshold=float(doc.get("threshold", 0) or 0),  # type: ignore[arg-type]
            state=state if state in ("ok", "warn", "fail", "unknown") else "unknown",  # type: ignore[arg-type]
            source=str(doc.get("source", "")),
            unit=str(doc.get("unit", "")),
            message=str(doc.get("message", "")),
        )


def state_of(value: float | None, threshold: float) -> SignalState:
    """``fail`` over the threshold, ``warn`` from 80 % of it (a zero threshold has no warn band)."""
    if value is None:
        return "unknown"
    if value > threshold:
        return "fail"
    if threshold > 0 and value >= WARN_SHARE * threshold:
        return "warn"
    return "ok"


def measure(name: str, value: float | None, thresholds: Thresholds, source: str, message: str = "") -> Signal:
    """The signal ``name`` with ``value`` judged against its threshold."""
    unit = SIGNALS[name][0]
    threshold = thresholds.of(name)
    return Signal(name, value, threshold, state_of(value, threshold), source, unit, message)


def figure(signal: Signal) -> str:
    """``412s > 300s`` / ``3 messages ≤ 20`` / ``? (no datapoints)``: the value beside its threshold."""

    def fmt(x: float) -> str:
        number = f"{x:.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:.1f}"
        return f"{number}s" if signal.unit == "s" else number

    if signal.value is None:
        return f"? / {fmt(signal.threshold)}"
    relation = ">" if signal.state == "fail" else "≤"
    return f"{fmt(signal.value)} {relation} {fmt(signal.threshold)}"
