"""The standard flow and its bounded wait: what a rehearsal does before the checks look.

``Scenario(stack).run()`` (also ``stack.scenario.run()``): run the fault's flow (default: a 3 s clip uploaded
as video 111, row created through the API, ``upload/complete``), then poll until the expected end state is
there: every video READY (healthy), or the fault's visible symptom. It never sleeps a fixed time; on timeout
it raises (``strict``) or returns a result with ``reached=False``. The stack is left running for the checks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from reference.stack.clients import StackClients
from reference.stack.processes import wait_for


@dataclass
class ScenarioResult:
    faults: list[str]
    videos: list[int]
    responses: dict[Any, tuple[int, dict[str, Any]]]
    reached: bool
    elapsed: float
    error: str | None = None
    rows: dict[int, dict[str, Any] | None] = field(default_factory=dict)


class Scenario:
    def __init__(self, stack: StackClients) -> None:
        self.stack = stack
        self.videos: list[int] = []
        self.responses: dict[Any, tuple[int, dict[str, Any]]] = {}
        self.result: ScenarioResult | None = None

    # --- steps the flows use -------------------------------------------------------------------

    def upload(self, video_id: int, seconds: float = 3) -> dict[str, Any]:
        """``upload/init`` (row PENDING) -> clip into the bucket."""
        row = self.stack.upload_video(video_id, self.stack.make_clip(seconds))
        if video_id not in self.videos:
            self.videos.append(video_id)
        return row

    def complete(self, video_id: int) -> tuple[int, dict[str, Any]]:
        return self.record(video_id, self.stack.upload_complete(video_id))

    def record(
        self, video_id: int, response: tuple[int, dict[str, Any]], key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        self.responses[video_id if key is None else (video_id, key)] = response
        return response

    def standard_flow(self) -> None:
        self.upload(111)
        self.complete(111)

    # --- the run -----------------------------------------------------------------------------------

    def run(self, timeout: float = 60.0, strict: bool = True) -> ScenarioResult:
        """Run the flow once, wait (bounded) for the expected end state, return what happened."""
        if self.result is not None:
            return self.result
        faults = self.stack.active_faults
        started = time.monotonic()
        flow = next((f.flow for f in faults if f.flow is not None), None)
        error = None
        try:
            (flow or (lambda sc: sc.standard_flow()))(self)
            wait_for(
                lambda: all(f.symptom(self.stack, self) for f in faults),
                timeout,
                "expected end state: " + ", ".join(f"{f.id} (row {f.row})" for f in faults),
            )
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if strict:
                self.result = self._result(faults, started, error)
                raise
        self.result = self._result(faults, started, error)
        return self.result

    def _result(self, faults: list[Any], started: float, error: str | None) -> ScenarioResult:
        rows = {}
        for vid in self.videos:
            try:
                rows[vid] = self.stack.video_row(vid)
            except Exception:
                rows[vid] = None
        return ScenarioResult(
            [f.id for f in faults],
            list(self.videos),
            dict(self.responses),
            error is None,
            round(time.monotonic() - started, 3),
            error,
            rows,
        )
