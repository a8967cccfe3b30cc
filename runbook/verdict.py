"""The verdict: layer states, and the root cause as the deepest explanation the evidence supports.

A failed check is a *consequence* when another failed check's cause explains it (a worker that exited after
``config error: R2_ENDPOINT`` is not running *because* of the missing variable). The root cause is a failed
check that nothing else explains; among several, the most fundamental cause first (``DEPTH``), then the
runbook's order. Consequences are listed under the root cause, never promoted over it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runbook.model import LAYERS, CheckResult, LayerState

#: cause -> the causes it explains (their checks fail *because* of it).
EXPLAINS: dict[str, frozenset[str]] = {
    "config-missing": frozenset(
        {"config-error-logged", "worker-not-running", "no-message-received", "job-failed", "processing-exception"}
    ),
    "config-error-logged": frozenset({"worker-not-running", "no-message-received"}),
    "aws-credentials-invalid": frozenset(
        {"queue-access-denied", "no-message-received", "dlq-not-empty", "queue-backlog"}
    ),
    "queue-missing": frozenset({"no-message-received", "enqueue-failed", "enqueue-not-logged"}),
    "region-mismatch": frozenset({"queue-missing", "queue-name-mismatch", "no-message-received"}),
    "queue-name-mismatch": frozenset({"queue-missing", "no-message-received", "queue-backlog"}),
    "queue-access-denied": frozenset({"no-message-received"}),
    "enqueue-failed": frozenset({"no-message-received", "enqueue-not-logged"}),
    "enqueue-not-logged": frozenset({"no-message-received"}),
    "worker-not-running": frozenset({"no-message-received", "long-job-blocking", "queue-backlog"}),
    # issue 18: an instance that booted without a worker (its boot output, or its worker's config error while
    # the parameter is complete) has no consumer: what a stopped worker explains, it explains too.
    **{
        boot: frozenset({"worker-not-running", "no-message-received", "long-job-blocking", "queue-backlog"})
        for boot in ("docker-run-failed", "ecr-login-failed", "boot-script-failed")
    },
    "env-file-empty": frozenset(
        {"config-error-logged", "worker-not-running", "no-message-received", "long-job-blocking", "queue-backlog"}
    ),
    "no-inservice-instances": frozenset({"no-message-received", "worker-not-running", "long-job-blocking"}),
    "r2-credentials-invalid": frozenset({"job-failed", "processing-exception", "dlq-not-empty"}),
    "processing-exception": frozenset({"job-failed", "dlq-not-empty"}),
    "db-mismatch": frozenset(
        {"complete-not-found", "status-not-uploaded", "job-failed", "processing-exception", "redis-mismatch"}
    ),
    "complete-not-found": frozenset({"job-failed", "processing-exception"}),
    "stale-lock": frozenset({"no-message-received"}),
    "status-not-uploaded": frozenset({"no-message-received"}),
    "cancel-requested": frozenset({"no-message-received"}),
    "redis-unreachable": frozenset({"redis-mismatch"}),
    "asg-max-too-low": frozenset({"long-job-blocking", "scaler-cap-too-low", "scaler-not-following"}),
    "scaler-lambda-missing": frozenset({"long-job-blocking", "scaler-rule-missing", "scaler-not-following"}),
    "scaler-rule-missing": frozenset({"long-job-blocking", "scaler-not-following"}),
    "scaler-rule-disabled": frozenset({"long-job-blocking", "scaler-not-following"}),
    "scaler-cap-too-low": frozenset({"long-job-blocking", "scaler-not-following"}),
    # 부록 B 1: desired not following the queue is what a missing/disabled scaler looks like from the ASG;
    # while it lags, a long job holds the only worker (B 0).
    "scaler-not-following": frozenset({"long-job-blocking"}),
    "long-job-blocking": frozenset({"no-message-received", "queue-backlog", "canary-slow"}),
    "visibility-too-short": frozenset({"job-failed", "dlq-not-empty"}),
    "job-failed": frozenset({"dlq-not-empty", "queue-backlog", "stuck-videos"}),
    # canary signals (issue 7): a backlog keeps videos waiting and the canary slow; a video that never
    # reached the worker is one of the stuck ones.
    "queue-backlog": frozenset({"stuck-videos", "canary-slow"}),
    "no-message-received": frozenset({"stuck-videos"}),
    # A message in the DLQ is a video that was never encoded: one of the stuck ones.
    "dlq-not-empty": frozenset({"stuck-videos"}),
}

#: fact -> the causes whose premise it contradicts (issue 16, "evidence refutes"). EXPLAINS orders causes that
#: both hold; this says when one does not hold at all. A check that has the fact about a video does not name
#: the cause for that video: its premise is false.
REFUTES: dict[str, frozenset[str]] = {
    # §6 and §5's premise is "the message never reached the queue / the worker": a worker that logged
    # SQS_MESSAGE_RECEIVED for the video received it, so the API sent it, whatever one API instance's log says.
    "worker-received": frozenset({"enqueue-not-logged", "no-message-received"}),
}

#: fact -> the causes whose evidence it voids: the cause may hold, but what was read cannot show it, so the
#: check is ``unknown`` (with what to look at), never failed. These causes rest on a line's *absence*, and a
#: log proves an absence only inside the time window it covers (``runbook.logs.coverage``).
VOIDS: dict[str, frozenset[str]] = {
    # The upload happened outside what the API log(s) cover: rotated, another instance, a --log-since window.
    "api-log-misses-upload": frozenset({"enqueue-not-logged"}),
    # The enqueue happened before the worker log begins (or after it ends): its receipt may be outside.
    "worker-log-misses-enqueue": frozenset({"no-message-received"}),
}


def refutation(cause: str, facts: Iterable[str]) -> tuple[str, str] | None:
    """How ``facts`` (names of :data:`REFUTES` / :data:`VOIDS`) bear on ``cause``.

    ``("refuted", fact)``: the cause's premise is false, the check passes for it. ``("unknown", fact)``: the
    evidence for the cause cannot stand, the check cannot judge. ``None``: nothing stands in its way. A refuting
    fact outweighs a voiding one (a receipt settles what a rotated log leaves open).
    """
    held = list(facts)
    for fact in held:
        if cause in REFUTES.get(fact, frozenset()):
            return "refuted", fact
    for fact in held:
        if cause in VOIDS.get(fact, frozenset()):
            return "unknown", fact
    return None


#: Lower is more fundamental; used only between causes that do not explain each other.
_ORDER: tuple[str, ...] = (
    "config-missing",
    "config-error-logged",
    "aws-credentials-invalid",
    "region-mismatch",
    "queue-name-mismatch",
    "queue-missing",
    "queue-access-denied",
    "db-mismatch",
    "r2-credentials-invalid",
    "env-file-empty",
    "ecr-login-failed",
    "docker-run-failed",
    "boot-script-failed",
    "worker-not-running",
    "no-inservice-instances",
    "enqueue-failed",
    "enqueue-not-logged",
    "stale-lock",
    "status-not-uploaded",
    "cancel-requested",
    "complete-not-found",
    "processing-exception",
    "asg-max-too-low",
    "scaler-lambda-missing",
    "scaler-rule-missing",
    "scaler-rule-disabled",
    "scaler-cap-too-low",
    "scaler-not-following",
    "visibility-too-short",
    "long-job-blocking",
    "redis-unreachable",
    "redis-mismatch",
    "job-failed",
    "queue-backlog",
    "canary-slow",
    "no-message-received",
    "stuck-videos",
    "dlq-not-empty",
)
#: Root cause of a run in which nothing failed but some covered layer could not be judged at all.
NOT_VERIFIED = "not-verified"

DEPTH: dict[str, int] = {cause: i for i, cause in enumerate(_ORDER)}


def _explained_by(cause: str) -> set[str]:
    """Every cause that ``cause`` explains, transitively."""
    seen: set[str] = set()
    todo = [cause]
    while todo:
        for nxt in EXPLAINS.get(todo.pop(), frozenset()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@dataclass(frozen=True)
class Verdict:
    mode: str
    healthy: bool
    root_cause: CheckResult | None
    consequences: tuple[CheckResult, ...]  # failed because of the root cause
    confirming: tuple[CheckResult, ...]  # other checks that found the very same cause
    others: tuple[CheckResult, ...]  # failed, not explained by the root cause
    layers: dict[str, LayerState]
    checks: tuple[CheckResult, ...]


def layer_states(results: Iterable[CheckResult], covered: Sequence[str]) -> dict[str, LayerState]:
    """``fail`` if any check failed; ``ok`` only if something passed and nothing failed; a skip is unknown."""
    by_layer: dict[str, list[CheckResult]] = {layer: [] for layer in covered}
    for r in results:
        by_layer.setdefault(r.layer, []).append(r)
    states: dict[str, LayerState] = {}
    for layer, rows in by_layer.items():
        outcomes = {r.outcome for r in rows}
        if "failed" in outcomes or "error" in outcomes:
            states[layer] = "fail"
        elif "passed" in outcomes and "skipped" in outcomes:
            states[layer] = "warn"
        elif "passed" in outcomes:
            states[layer] = "ok"
        else:
            states[layer] = "unknown"
    return {layer: states[layer] for layer in [*LAYERS, *sorted(set(states) - set(LAYERS))] if layer in states}


def decide(mode: str, results: Sequence[CheckResult], covered: Sequence[str] = tuple(LAYERS)) -> Verdict:
    """Choose the root cause and compute the layer states for one run."""
    failed = [r for r in results if r.outcome in ("failed", "error")]
    causes = {r.cause for r in failed if r.cause}
    explained: set[str] = set()
    for cause in causes:
        explained |= _explained_by(cause) - {cause}
    candidates = [r for r in failed if r.cause and r.cause not in explained] or failed
    root = min(candidates, key=lambda r: DEPTH.get(r.cause or "", len(DEPTH))) if candidates else None
    consequences: list[CheckResult] = []
    confirming: list[CheckResult] = []
    others: list[CheckResult] = []
    if root is not None:
        downstream = _explained_by(root.cause or "")
        for r in failed:
            if r is root:
                continue
            if r.cause == root.cause:
                confirming.append(r)
            else:
                (consequences if r.cause in downstream else others).append(r)
    layers = layer_states(results, covered)
    # A layer judged by nothing at all is not healthy in a run that was meant to judge it.
    healthy = not failed and bool(results) and all(state in ("ok", "warn") for state in layers.values())
    if not healthy and root is None:
        root = _not_verified(results, layers)
    return Verdict(
        mode=mode,
        healthy=healthy,
        root_cause=None if healthy else root,
        consequences=tuple(consequences),
        confirming=tuple(confirming),
        others=tuple(others),
        layers=layers,
        checks=tuple(results),
    )


def _not_verified(results: Sequence[CheckResult], layers: dict[str, LayerState]) -> CheckResult:
    """Nothing failed, yet nothing proved health: the root cause is what could not be verified.

    That is the first layer judged by nothing at all, unless the same reason (an SQS that times out, say) also
    left an earlier layer of the runbook half-judged: then that earlier layer, where on-call starts reading
    (§2 queue, not 부록 B visibility, when AWS cannot be reached)."""
    unknown = [layer for layer, state in layers.items() if state == "unknown"] or list(layers) or ["worker-process"]
    skipped = [r for r in results if r.layer == unknown[0] and r.outcome == "skipped"]
    first = skipped[0] if skipped else None
    if first is not None:
        order = list(layers)
        same = [r for r in results if r.outcome == "skipped" and r.message == first.message and r.layer in order]
        first = min(same, key=lambda r: order.index(r.layer))  # ``same`` holds ``first`` itself
    layer = first.layer if first is not None else unknown[0]
    return CheckResult(
        nodeid=first.nodeid if first else "",
        layer=layer,
        section=LAYERS.get(layer, ("", ()))[0],
        outcome="skipped",
        cause=NOT_VERIFIED,
        message=first.message if first else "",
        remediation=first.remediation if first else "",
    )


def to_json(v: Verdict, extra: dict[str, object] | None = None) -> dict[str, object]:
    """``verdict.json`` exactly as CONTRACT.md shows it (plus ``consequences``, ``others`` and ``extra``)."""
    root = v.root_cause
    doc: dict[str, object] = {
        "mode": v.mode,
        "healthy": v.healthy,
        "root_cause": None
        if root is None
        else {
            "layer": root.layer,
            "cause": root.cause,
            "section": root.section,
            "check": root.nodeid,
            "message": root.message,
            "remediation": root.remediation,
        },
        "layers": dict(v.layers),
        "checks": [r.as_json() for r in v.checks],
        "consequences": [r.nodeid for r in v.consequences],
        "confirming": [r.nodeid for r in v.confirming],
        "others": [r.nodeid for r in v.others],
    }
    if extra:
        doc.update(extra)
    return doc
