"""The verdict for people: an HTML block for the first screen of the report, and a terminal block."""

from __future__ import annotations

from html import escape

from runbook.model import LAYERS, CheckResult
from runbook.secrets import scrub
from runbook.texts import LABELS
from runbook.verdict import Verdict

_COLORS = {"ok": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "unknown": "#6e7781"}

_CSS = """
body{display:flex;flex-direction:column;max-width:1100px;margin:auto;padding:0 8px}
#title{order:-3}.summary{order:-2}
.rb-verdict{border-radius:8px;padding:12px 16px;margin:8px 0;color:#fff;font-size:1.05em}
.rb-verdict h2{margin:0 0 6px 0;color:#fff}
.rb-ok{background:#1a7f37}.rb-fail{background:#cf222e}
.rb-cmd{display:block;background:#161b22;color:#e6edf3;padding:8px;border-radius:6px;white-space:pre-wrap;
  word-break:break-all;font-family:monospace;margin:6px 0;user-select:all}
.rb-layers{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0;padding:0}
.rb-layers li{list-style:none;padding:4px 8px;border-radius:12px;color:#fff;font-size:.9em}
.rb-checks{border-collapse:collapse;width:100%;font-size:.9em}
.rb-checks td,.rb-checks th{border-bottom:1px solid #d0d7de;padding:4px;vertical-align:top;text-align:left}
.rb-checks code{word-break:break-all}
@media (max-width:700px){.rb-checks .rb-node{display:none}}
"""


def _layer_chips(v: Verdict, lang: str) -> str:
    labels = LABELS[lang]
    chips = []
    for layer, state in v.layers.items():
        section = LAYERS.get(layer, ("", ()))[0]
        chips.append(
            f'<li data-layer="{escape(layer)}" data-state="{state}" style="background:{_COLORS[state]}">'
            f"{escape(section)} {escape(layer)}: {escape(labels[state])}</li>"
        )
    return f'<ul class="rb-layers">{"".join(chips)}</ul>'


def _row(r: CheckResult) -> str:
    state = {"passed": "ok", "failed": "fail", "error": "fail", "skipped": "unknown"}[r.outcome]
    return (
        f'<tr data-outcome="{r.outcome}"><td style="color:{_COLORS[state]}">{escape(r.outcome)}</td>'
        f"<td>{escape(r.section)}</td><td>{escape(r.cause or '')}</td>"
        f"<td>{escape(scrub(r.message))}</td><td><code>{escape(scrub(r.remediation))}</code></td>"
        f'<td class="rb-node"><code>{escape(r.nodeid)}</code></td></tr>'
    )


def html_block(v: Verdict, lang: str = "ko", services: dict[str, str] | None = None) -> str:
    """The verdict banner, layer chips, backends and the checks grouped by layer, as one HTML fragment."""
    labels = LABELS[lang]
    parts = [f"<style>{_CSS}</style>"]
    if v.healthy:
        parts.append(f'<div class="rb-verdict rb-ok" id="rb-verdict"><h2>✔ {escape(labels["healthy"])}</h2>')
    else:
        root = v.root_cause
        assert root is not None  # decide() always names a root cause when unhealthy
        parts.append(
            '<div class="rb-verdict rb-fail" id="rb-verdict">'
            f"<h2>✘ {escape(labels['unhealthy'])}: {escape(root.layer)} / {escape(root.cause or '')} "
            f"({escape(root.section)})</h2><div>{escape(scrub(root.message))}</div>"
        )
        if root.remediation:
            parts.append(
                f"<div>{escape(labels['remediation'])}:</div>"
                f'<code class="rb-cmd" id="rb-fix">{escape(scrub(root.remediation))}</code>'
            )
        if v.consequences:
            items = "".join(
                f"<li>{escape(c.layer)}/{escape(c.cause or '')}: {escape(scrub(c.message))}</li>" for c in v.consequences
            )
            parts.append(f"<div>{escape(labels['consequences'])}:</div><ul>{items}</ul>")
        if v.confirming:
            parts.append(f"<div>{escape(labels['confirming'])}: {len(v.confirming)}</div>")
        if v.others:
            items = "".join(f"<li>{escape(c.layer)}/{escape(c.cause or '')}: {escape(scrub(c.message))}</li>" for c in v.others)
            parts.append(f"<div>{escape(labels['others'])}:</div><ul>{items}</ul>")
    parts.append("</div>")
    parts.append(f"<p>{escape(labels['mode'])}: <b>{escape(v.mode)}</b></p>")
    parts.append(_layer_chips(v, lang))
    if services:
        rows = "".join(f"<li>{escape(k)}: {escape(scrub(val))}</li>" for k, val in services.items())
        parts.append(f"<details open><summary>{escape(labels['services'])}</summary><ul>{rows}</ul></details>")
    for layer in v.layers:
        rows_ = [r for r in v.checks if r.layer == layer]
        if not rows_:
            continue
        section = LAYERS.get(layer, ("", ()))[0]
        parts.append(
            f'<h3 id="layer-{escape(layer)}">{escape(section)} {escape(layer)}</h3>'
            f'<table class="rb-checks"><tbody>{"".join(_row(r) for r in rows_)}</tbody></table>'
        )
    return "".join(parts)


def terminal_block(v: Verdict, lang: str = "ko") -> list[str]:
    """Lines for the end of the terminal output."""
    labels = LABELS[lang]
    lines = []
    if v.healthy:
        lines.append(f"VERDICT ({v.mode}): {labels['healthy']}")
    else:
        root = v.root_cause
        assert root is not None
        lines.append(f"VERDICT ({v.mode}): {labels['unhealthy']} — {root.layer}/{root.cause} {root.section}")
        lines.append(f"  {scrub(root.message)}")
        if root.remediation:
            lines.append(f"  {labels['remediation']}: {scrub(root.remediation)}")
        for c in v.consequences:
            lines.append(f"  {labels['consequences']}: {c.layer}/{c.cause}")
        if v.confirming:
            lines.append(f"  {labels['confirming']}: {len(v.confirming)}")
        for c in v.others:
            lines.append(f"  {labels['others']}: {c.layer}/{c.cause}: {scrub(c.message)}")
    lines.append("  " + "  ".join(f"{layer}={state}" for layer, state in v.layers.items()))
    return lines
