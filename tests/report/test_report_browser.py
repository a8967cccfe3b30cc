"""The report as its readers see it: rendered by a real Chromium, on a phone and on a desktop screen.

Each case runs a hermetic rehearsal (healthy, or one injected fault), opens the self-contained HTML report
and asks the *rendered page* (computed styles, bounding boxes, the element actually painted at a point)
whether the first screen shows the verdict banner and the pipeline diagram with the broken part in the fail
colour. Screenshots are kept under ``reports/screenshots/`` (a CI artefact).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from report_browser import Chromium
from report_harness import SCREENSHOTS, rehearse

from runbook.diagram import COLORS

pytestmark = [pytest.mark.timeout(600)]


@dataclass(frozen=True)
class Case:
    name: str
    fault: str | None
    expected: str  # "healthy" or "layer/cause"
    lang: str = "ko"
    arrows: bool = False  # consequences drawn as arrows from the root to another part
    timeline_stop: str | None = None  # a video's timeline stops at this stage
    history: int = 0  # earlier runs written to a history file before this run


CASES = (
    Case("healthy", None, "healthy", history=0),
    Case("worker-stopped", "worker-stopped", "worker-process/worker-not-running"),
    Case("config-missing", "config-missing:R2_ENDPOINT", "worker-config/config-missing"),
    Case("stale-lock", "stale-lock", "stuck-video/stale-lock", timeline_stop="skipped", history=5),
    Case(
        "r2-keys-invalid",
        "r2-keys-invalid",
        "credentials/r2-credentials-invalid",
        lang="en",
        arrows=True,
        timeline_stop="failed",
    ),
)
VIEWPORTS = {"phone": (390, 844, True, 2.0), "desktop": (1366, 900, False, 1.0)}


def _rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


# One round trip: everything the assertions need, measured in the rendered page.
_FACTS = """(() => {
  const vis = el => { if (!el) return null; const s = getComputedStyle(el), r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height,
            display: s.display, visibility: s.visibility, opacity: parseFloat(s.opacity),
            background: s.backgroundColor, text: el.innerText || el.textContent || ''}; };
  const painted = el => { const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && el.contains(hit); };
  const part = g => { const shape = g.querySelector('rect, polyline');
    return {name: g.dataset.part, layer: g.dataset.layer, state: g.dataset.state, root: g.dataset.root,
            consequence: g.dataset.consequence, fill: getComputedStyle(shape).fill,
            stroke: getComputedStyle(shape).stroke, box: vis(g), painted: painted(shape)}; };
  const svg = document.getElementById('rb-diagram-svg');
  return {
    innerWidth, innerHeight, scrollWidth: document.documentElement.scrollWidth,
    lang: document.getElementById('rb-report').getAttribute('lang'),
    banner: vis(document.getElementById('rb-verdict')),
    bannerPainted: painted(document.getElementById('rb-verdict')),
    fix: vis(document.getElementById('rb-fix')),
    copy: vis(document.querySelector('.rb-copy')),
    diagram: vis(svg),
    nodes: [...svg.querySelectorAll('g.rb-node')].map(part),
    roots: [...svg.querySelectorAll('[data-root="true"]')].map(part),
    arrows: [...svg.querySelectorAll('.rb-conseq')].map(a => ({from: a.dataset.from, to: a.dataset.to,
             dash: getComputedStyle(a).strokeDasharray, box: vis(a)})),
    badge: vis(document.getElementById('rb-root-badge')),
    badgePart: document.getElementById('rb-root-badge')?.dataset.part,
    history: [...document.querySelectorAll('#rb-history .rb-run')].map(li => ({
             healthy: li.dataset.healthy, last: li.classList.contains('rb-run-last'),
             background: getComputedStyle(li).backgroundColor, box: vis(li)})),
    layers: [...document.querySelectorAll('details.rb-layer')].map(d => ({layer: d.dataset.layer,
             state: d.dataset.state, open: d.open})),
    resources: performance.getEntriesByType('resource').map(e => e.name),
  };
})()"""

_TIMELINE = """((stage) => {
  const tl = document.querySelector(`#rb-timelines .rb-tl[data-stage="${stage}"]`);
  if (!tl) return null;
  tl.scrollIntoView({block: 'center'});
  const stop = tl.querySelector('.rb-stop'), r = stop.getBoundingClientRect(), s = getComputedStyle(stop);
  return {video: tl.dataset.video, text: tl.innerText, stopText: stop.innerText, borderColor: s.borderTopColor,
          inView: r.top >= 0 && r.bottom <= innerHeight && r.width > 0,
          pending: tl.querySelectorAll('.rb-pending').length,
          completed: document.querySelectorAll('#rb-timelines .rb-tl[data-stage="completed"]').length};
})"""


def _within(box: dict[str, Any], facts: dict[str, Any]) -> bool:
    return (
        box["top"] >= 0
        and box["bottom"] <= facts["innerHeight"] + 0.5
        and box["left"] >= 0
        and (box["right"] <= facts["innerWidth"] + 0.5)
    )


def _visible(box: dict[str, Any] | None) -> bool:
    return (
        bool(box)
        and box["display"] != "none"
        and box["visibility"] == "visible"
        and box["opacity"] > 0.99
        and (box["width"] > 0 and box["height"] > 0)
    )


def _history_file(path: Path, runs: int) -> Path:
    lines = []
    for i in range(runs):
        healthy = i % 2 == 0
        lines.append(
            {
                "time": f"2024-05-01T0{i}:00:00+00:00",
                "mode": "rehearsal",
                "healthy": healthy,
                "root_cause": None if healthy else "queue/dlq-not-empty",
                "section": None if healthy else "§2",
                "failed": 0 if healthy else 1,
            }
        )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_first_screen_shows_verdict_and_diagram(browser: Chromium, tmp_path: Path, case: Case) -> None:
    extra = [f"--runbook-lang={case.lang}"]
    if case.history:
        extra.append(f"--runbook-history={_history_file(tmp_path / 'history.jsonl', case.history)}")
    run = rehearse(tmp_path / "run", case.fault, *extra)
    verdict = json.loads(run.verdict.read_text(encoding="utf-8"))
    root = verdict["root_cause"]
    got = "healthy" if verdict["healthy"] else f"{root['layer']}/{root['cause']}"
    assert got == case.expected, f"the rehearsal itself diagnosed {got}\n{run.output[-3000:]}"
    fail, ok = _rgb(COLORS["fail"]), _rgb(COLORS["ok"])

    for screen, (width, height, mobile, scale) in VIEWPORTS.items():
        browser.viewport(width, height, mobile=mobile, scale=scale)
        browser.open(run.html)
        browser.screenshot(SCREENSHOTS / f"{case.name}-{screen}.png")
        facts = browser.evaluate(_FACTS)
        where = f"{case.name} on a {screen} ({width}x{height})"

        # Readable on this screen: the page is laid out at the device's width, nothing scrolls sideways.
        assert facts["innerWidth"] == width, f"{where}: laid out {facts['innerWidth']} px wide"
        assert facts["scrollWidth"] <= width + 1, f"{where}: page is {facts['scrollWidth']} px wide"
        # Self-contained: nothing is fetched from anywhere.
        assert not [r for r in facts["resources"] if not r.startswith(("data:", "file:", "blob:"))]

        banner = facts["banner"]
        assert _visible(banner) and _within(banner, facts) and facts["bannerPainted"], f"{where}: banner {banner}"
        assert facts["lang"] == case.lang
        diagram = facts["diagram"]
        assert _visible(diagram) and diagram["top"] < height - 100, f"{where}: diagram starts at {diagram['top']}"
        assert len(facts["nodes"]) == 11

        if case.expected == "healthy":
            assert banner["background"] == ok
            assert ("정상" if case.lang == "ko" else "Healthy") in banner["text"]
            assert facts["roots"] == [] and facts["badge"] is None
            assert {n["state"] for n in facts["nodes"]} == {"ok"}
            assert {n["stroke"] for n in facts["nodes"]} == {ok}
            assert _within(diagram, facts) or screen == "phone"
            continue

        layer, cause = case.expected.split("/")
        assert banner["background"] == fail
        assert cause in banner["text"] and ("근본 원인" if case.lang == "ko" else "Root cause") in banner["text"]
        assert _visible(facts["fix"]) and facts["fix"]["text"].strip() == root["remediation"].strip()
        assert _visible(facts["copy"])
        if screen == "desktop":
            assert _within(facts["fix"], facts), f"{where}: remediation below the first screen"

        # The broken part: marked as root, in the fail colour, on the first screen, not hidden under anything.
        roots = facts["roots"]
        assert roots, f"{where}: no part of the diagram is marked as the root cause"
        first = next((r for r in roots if r["name"] == facts["badgePart"]), roots[0])  # the badge's part
        assert layer in first["layer"].split(), f"{where}: root part {first['name']} is not in layer {layer}"
        assert first["state"] == "fail"
        assert fail in (first["fill"], first["stroke"]), f"{where}: root part colours {first}"
        assert _within(first["box"], facts), f"{where}: root part off the first screen: {first['box']}"
        assert first["painted"], f"{where}: root part {first['name']} is covered"
        assert _visible(facts["badge"]) and _within(facts["badge"], facts)
        failed_nodes = [n for n in facts["nodes"] if n["state"] == "fail"]
        assert all(n["fill"] == fail for n in failed_nodes)
        assert any(layer in n["layer"].split() for n in failed_nodes)
        for arrow in facts["arrows"]:  # consequences: dashed, from the root to a part marked as consequence
            assert arrow["from"] == first["name"] and arrow["dash"] not in ("", "none")
            assert any(n["name"] == arrow["to"] and n["consequence"] == "true" for n in facts["nodes"])
        if case.arrows:
            assert facts["arrows"], f"{where}: consequences are not drawn"
        opened = {d["layer"] for d in facts["layers"] if d["open"]}
        assert layer in opened, "the root cause's layer is folded away"

    if case.history:
        strip = facts["history"]
        assert len(strip) == case.history + 1 and strip[-1]["last"]
        assert strip[-1]["healthy"] == str(verdict["healthy"]).lower()
        assert {s["background"] for s in strip} == {ok, fail}
        assert all(_visible(s["box"]) for s in strip)

    if case.timeline_stop:  # §5/§9: where a video stopped is visible in its timeline
        browser.viewport(390, 844, mobile=True, scale=2.0)
        browser.open(run.html)
        timeline = browser.evaluate(f"{_TIMELINE}({json.dumps(case.timeline_stop)})")
        browser.screenshot(SCREENSHOTS / f"{case.name}-timeline-phone.png")
        assert timeline is not None, f"no {case.timeline_stop} video in the timelines"
        assert timeline["inView"] and timeline["borderColor"] == fail
        assert timeline["pending"] >= 1, "the phases a stopped video never reached are not shown"
        assert ("멈춤" if case.lang == "ko" else "stopped here") in timeline["stopText"]
