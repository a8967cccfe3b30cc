"""The verdict engine: root cause = the deepest failed cause nothing else explains; consequences listed."""

from __future__ import annotations

from runbook.model import CAUSE_LAYER, LAYERS, CheckResult
from runbook.verdict import DEPTH, EXPLAINS, NOT_VERIFIED, decide, to_json


def r(cause: str | None, outcome: str = "failed", layer: str | None = None) -> CheckResult:
    layer = layer or (CAUSE_LAYER[cause] if cause else "queue")
    return CheckResult(
        nodeid=f"checks/x.py::{cause or layer}",
        layer=layer,
        section=LAYERS[layer][0],
        outcome=outcome,
        cause=cause if outcome == "failed" else None,
        message="m",
        remediation="fix",
    )


def ok(layer: str) -> CheckResult:
    return r(None, "passed", layer)


def test_every_cause_has_a_depth_and_explains_only_known_causes() -> None:
    assert set(DEPTH) == set(CAUSE_LAYER)
    for cause, explained in EXPLAINS.items():
        assert cause in CAUSE_LAYER
        assert explained <= set(CAUSE_LAYER)


def test_healthy_when_every_layer_ok() -> None:
    v = decide("rehearsal", [ok(layer) for layer in LAYERS])
    assert v.healthy and v.root_cause is None
    assert set(v.layers.values()) == {"ok"}


def test_config_missing_is_root_and_worker_down_its_consequence() -> None:
    results = [r("worker-not-running"), r("config-error-logged"), r("config-missing"), ok("queue")]
    v = decide("live", results)
    assert not v.healthy
    assert v.root_cause is not None and v.root_cause.cause == "config-missing"
    assert {c.cause for c in v.consequences} == {"worker-not-running", "config-error-logged"}
    assert v.others == ()


def test_unrelated_failures_are_others_not_consequences() -> None:
    v = decide("live", [r("stale-lock"), r("r2-credentials-invalid")])
    assert v.root_cause is not None and v.root_cause.cause == "r2-credentials-invalid"
    assert [c.cause for c in v.others] == ["stale-lock"]


def test_a_skip_is_never_ok_and_all_unknown_is_not_healthy() -> None:
    v = decide("live", [r(None, "skipped", "queue"), r(None, "skipped", "progress")], covered=("queue", "progress"))
    assert not v.healthy
    assert v.layers == {"queue": "unknown", "progress": "unknown"}
    assert v.root_cause is not None and v.root_cause.cause == NOT_VERIFIED


def _skip(layer: str, message: str) -> CheckResult:
    return CheckResult(f"checks/x.py::{layer}-{message}", layer, LAYERS[layer][0], "skipped", None, message, "")


def test_not_verified_names_the_earliest_layer_the_same_reason_left_unjudged() -> None:
    # AWS unreachable: §2's queue checks skip (one log check passes), 부록 B's visibility checks all skip.
    timeout = "sqs 확인 불가: sqs: timeout after 3.0s"
    results = [ok("queue"), _skip("visibility", timeout), _skip("queue", timeout), ok("progress")]
    v = decide("live", results, covered=("queue", "progress", "visibility"))
    assert v.layers == {"queue": "warn", "progress": "ok", "visibility": "unknown"}
    assert v.root_cause is not None and v.root_cause.cause == NOT_VERIFIED
    assert (v.root_cause.layer, v.root_cause.section, v.root_cause.message) == ("queue", "§2", timeout)


def test_not_verified_keeps_the_unjudged_layer_when_earlier_skips_have_other_reasons() -> None:
    results = [ok("queue"), _skip("queue", "설정 없음: --api-log"), _skip("visibility", "sqs 확인 불가: timeout")]
    v = decide("live", results, covered=("queue", "visibility"))
    assert v.root_cause is not None
    assert (v.root_cause.layer, v.root_cause.message) == ("visibility", "sqs 확인 불가: timeout")


def test_layer_states() -> None:
    v = decide("live", [ok("queue"), r(None, "skipped", "queue"), r("redis-unreachable"), ok("progress")])
    assert v.layers["queue"] == "warn"
    assert v.layers["progress"] == "fail"


def test_json_matches_contract_shape() -> None:
    doc = to_json(decide("live", [r("queue-name-mismatch"), ok("worker-process")]))
    assert set(doc) >= {"mode", "healthy", "root_cause", "layers", "checks"}
    root = doc["root_cause"]
    assert isinstance(root, dict)
    assert set(root) == {"layer", "cause", "section", "check", "message", "remediation"}
    assert root["layer"] == "queue" and root["section"] == "§2"
    for check in doc["checks"]:  # type: ignore[union-attr]
        assert set(check) == {"nodeid", "layer", "cause", "section", "outcome", "message", "remediation"}


def test_refutation_tables_name_known_causes_only() -> None:
    from runbook.verdict import REFUTES, VOIDS

    for table in (REFUTES, VOIDS):
        for fact, causes in table.items():
            assert fact and causes <= set(CAUSE_LAYER), fact


def test_a_receipt_refutes_never_enqueued_and_outweighs_a_rotated_log() -> None:
    from runbook.verdict import refutation

    assert refutation("enqueue-not-logged", []) is None
    assert refutation("enqueue-not-logged", ["worker-received"]) == ("refuted", "worker-received")
    # The API log may have rotated, but the worker's receipt settles it: refuted, not merely unknown.
    both = ["api-log-misses-upload", "worker-received"]
    assert refutation("enqueue-not-logged", both) == ("refuted", "worker-received")
    assert refutation("no-message-received", ["worker-received"]) == ("refuted", "worker-received")


def test_an_absence_outside_the_log_window_is_unknown_not_a_fault() -> None:
    from runbook.verdict import refutation

    assert refutation("enqueue-not-logged", ["api-log-misses-upload"]) == ("unknown", "api-log-misses-upload")
    assert refutation("no-message-received", ["worker-log-misses-enqueue"]) == (
        "unknown",
        "worker-log-misses-enqueue",
    )
    # A fact voids only the causes whose evidence is that log's silence.
    assert refutation("stale-lock", ["api-log-misses-upload", "worker-log-misses-enqueue"]) is None
    assert refutation("enqueue-not-logged", ["worker-log-misses-enqueue"]) is None
