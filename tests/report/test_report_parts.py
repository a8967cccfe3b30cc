"""The report's parts without a browser: diagram states, history file, timelines, job summary and webhook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from runbook import diagram, history, summary
from runbook.model import LAYERS, CheckResult
from runbook.render import html_block, timeline_digest
from runbook.secrets import register
from runbook.verdict import decide, to_json

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def _check(layer: str, outcome: str = "passed", cause: str | None = None, n: int = 0) -> CheckResult:
    return CheckResult(
        nodeid=f"checks/test_{layer}.py::test_{n}[rehearsal]",
        layer=layer,
        section=LAYERS[layer][0],
        outcome=outcome,  # type: ignore[arg-type]
        cause=cause,
        message=f"{cause or 'fine'} evidence",
        remediation=f"fix {cause}" if cause else "",
    )


def _healthy() -> list[CheckResult]:
    return [_check(layer, n=i) for i, layer in enumerate(LAYERS)]


def _with(*failed: tuple[str, str]) -> list[CheckResult]:
    return _healthy() + [_check(layer, "failed", cause, n=100 + i) for i, (layer, cause) in enumerate(failed)]


def _parts(svg: str) -> dict[str, dict[str, str]]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return {
        g.attrib["data-part"]: g.attrib
        for g in root.iter(f"{SVG}g")
        if "data-part" in g.attrib and g.attrib.get("id", "").startswith("rb-part-")
    }


def test_healthy_diagram_is_all_ok_and_marks_nothing() -> None:
    parts = _parts(diagram.svg(decide("rehearsal", _healthy())))
    assert set(parts) == set(diagram.NODES) | set(diagram.EDGES)
    assert {p["data-state"] for p in parts.values()} == {"ok"}
    assert all(p["data-root"] == "false" for p in parts.values())


def test_every_cause_points_at_a_part_of_its_own_layer() -> None:
    for layer, (_, causes) in LAYERS.items():
        for cause in causes:
            parts = diagram.parts_of(_check(layer, "failed", cause))
            assert parts, cause
            first = parts[0]
            owner = diagram.NODES[first].layers if first in diagram.NODES else diagram.EDGES[first].layers
            assert layer in owner, f"{cause}: {first} does not belong to {layer}"


def test_the_cause_not_the_whole_layer_is_coloured() -> None:
    parts = _parts(diagram.svg(decide("rehearsal", _with(("queue", "dlq-not-empty")))))
    assert parts["dlq"]["data-state"] == "fail" and parts["dlq"]["data-root"] == "true"
    assert parts["sqs"]["data-state"] == "ok", "the queue itself answered: only the DLQ is red"


def test_a_layer_that_failed_elsewhere_says_nothing_about_a_part() -> None:
    results = [c for c in _healthy() if c.layer != "stuck-video"]
    results.append(_check("stuck-video", "failed", "stale-lock", n=100))
    parts = _parts(diagram.svg(decide("rehearsal", results)))
    assert parts["redis"]["data-state"] == "fail" and parts["redis"]["data-root"] == "true"
    assert parts["db"]["data-state"] == "ok", "the lock is in Redis; the database answered"


def test_credentials_point_at_the_side_that_holds_them() -> None:
    for side, edge in (("api", "enqueue"), ("worker", "poll")):
        check = CheckResult(
            f"checks/test_s4.py::test_aws_credentials[live-{side}]",
            "credentials",
            "§4",
            "failed",
            "aws-credentials-invalid",
        )
        parts = _parts(diagram.svg(decide("live", [*_healthy(), check])))
        assert parts[edge]["data-root"] == "true" and parts[edge]["data-state"] == "fail", side


def test_root_badge_and_consequence_arrows() -> None:
    v = decide("rehearsal", _with(("credentials", "r2-credentials-invalid"), ("processing", "processing-exception")))
    assert v.root_cause is not None and v.root_cause.cause == "r2-credentials-invalid"
    svg = diagram.svg(v, "en")
    parts = _parts(svg)
    assert parts["r2"]["data-root"] == "true" and parts["upload"]["data-root"] == "true"
    assert parts["ffmpeg"]["data-consequence"] == "true"
    tree = ET.fromstring(svg)
    arrows = [p.attrib for p in tree.iter(f"{SVG}path") if p.attrib.get("class") == "rb-conseq"]
    assert [(a["data-from"], a["data-to"]) for a in arrows] == [("r2", "ffmpeg")]
    badge = next(g for g in tree.iter(f"{SVG}g") if g.attrib.get("id") == "rb-root-badge")
    assert badge.attrib["data-part"] == "r2" and "root cause" in "".join(badge.itertext())


def test_uncovered_layers_are_unknown_not_ok() -> None:
    results = [_check("queue"), _check("worker-process")]
    parts = _parts(diagram.svg(decide("live", results, covered=("queue", "worker-process", "autoscaling"))))
    assert parts["lambda"]["data-state"] == "unknown"
    assert parts["sqs"]["data-state"] == "ok"


def test_history_appends_reads_and_skips_garbage(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history.jsonl"
    now = datetime(2024, 5, 1, tzinfo=UTC)
    for i in range(40):
        results = _healthy() if i % 3 else _with(("progress", "redis-unreachable"))
        history.append(path, history.Run.of(decide("live", results), now + timedelta(minutes=15 * i)))
    with path.open("a", encoding="utf-8") as fh:
        fh.write("not json\n{}\n")
    runs = history.read(path, limit=30)
    assert len(runs) == 30 and runs[-1].time == "2024-05-01T09:45:00+00:00"
    failed = [r for r in runs if not r.healthy]
    assert failed and all(r.root_cause == "progress/redis-unreachable" and r.section == "§7" for r in failed)
    assert history.read(tmp_path / "missing.jsonl") == []
    strip = history.strip_html(runs, "ko")
    assert strip.count('class="rb-run') == 30 and strip.count("rb-run-last") == 1


def test_timeline_digest_orders_stopped_videos_first() -> None:
    t0 = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    done = SimpleNamespace(
        stage="completed",
        skip_reason=None,
        error=None,
        received=1,
        dropped_events=0,
        last_ts=t0 + timedelta(seconds=9),
        events=[
            ("received", t0),
            ("lock_acquired", t0 + timedelta(seconds=1)),
            ("process_completed", t0 + timedelta(seconds=8)),
            ("job_completed", t0 + timedelta(seconds=9)),
        ],
    )
    stuck = SimpleNamespace(
        stage="skipped",
        skip_reason="lock",
        error=None,
        received=1,
        dropped_events=0,
        last_ts=t0,
        events=[("received", t0), ("skip_lock", t0)],
    )
    rows = timeline_digest({111: done, 222: stuck})
    assert [r["video_id"] for r in rows] == [222, 111]
    json.dumps(rows)  # serialisable as it is
    html = html_block(decide("rehearsal", _healthy()), "ko", timelines=rows)
    assert 'data-video="222" data-stage="skipped"' in html and "rb-stop" in html


def test_html_block_carries_no_registered_secret() -> None:
    secret = "s3cr3t-value-for-the-report-test"
    register([secret])
    bad = CheckResult(
        "checks/x.py::t",
        "credentials",
        "§4",
        "failed",
        "r2-credentials-invalid",
        f"key {secret} refused",
        f"aws s3 ls --secret {secret}",
    )
    html = html_block(decide("rehearsal", [*_healthy(), bad]), "en")
    assert secret not in html and "***" in html


def _verdict_file(tmp_path: Path, results: list[CheckResult]) -> Path:
    path = tmp_path / "verdict.json"
    path.write_text(json.dumps(to_json(decide("live", results), {"lang": "ko"}), ensure_ascii=False), "utf-8")
    return path


def test_summary_markdown_and_webhook(tmp_path: Path) -> None:
    path = _verdict_file(tmp_path, _with(("stuck-video", "stale-lock")))
    doc = summary.load(path)
    md = summary.markdown(doc, "ko", "https://ci.example/run/1")
    assert "stuck-video/stale-lock §9" in md and "```bash\nfix stale-lock\n```" in md and "| §9 |" in md
    hook = summary.webhook(doc, "en")
    assert "stale-lock" in hook["text"] and "fix stale-lock" in hook["text"]
    assert summary.headline(summary.load(_verdict_file(tmp_path, _healthy())), "en").startswith("✔ Healthy")
    assert "no verdict" in summary.webhook(summary.load(tmp_path / "none.json"), "en")["text"]


def test_summary_cli_masks_secrets_of_its_environment(tmp_path: Path) -> None:
    leaked = CheckResult(
        "checks/x.py::t",
        "progress",
        "§7",
        "failed",
        "redis-unreachable",
        "password hunter2-is-long refused",
        "redis-cli -a hunter2-is-long PING",
    )
    path = _verdict_file(tmp_path, [*_healthy(), leaked])
    env = {**os.environ, "REDIS_PASSWORD": "hunter2-is-long"}
    for fmt in ("markdown", "webhook"):
        proc = subprocess.run(
            [sys.executable, "-m", "runbook.summary", str(path), "--format", fmt],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0 and "redis-unreachable" in proc.stdout
        assert "hunter2-is-long" not in proc.stdout
    json.loads(proc.stdout)  # the webhook payload is JSON
