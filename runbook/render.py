"""The verdict for people: the HTML block that opens the report, and the terminal block.

The HTML block is one fragment injected into pytest-html's (self-contained) page: the verdict banner with the
remediation command ready to copy and the pipeline diagram on the first screen, then the history strip, the
checks grouped by layer, the per-video timelines of §5/§9 and the backends used. No external asset, no
secret (every text passes through :func:`runbook.secrets.scrub`), readable on a phone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

from runbook import diagram
from runbook.history import Run, strip_html
from runbook.model import LAYERS, CheckResult
from runbook.render_fleet import fleet_table
from runbook.secrets import scrub
from runbook.signals import Signal, figure
from runbook.texts import LABELS
from runbook.verdict import Verdict

_COLORS = diagram.COLORS
_STATE = {"passed": "ok", "failed": "fail", "error": "fail", "skipped": "unknown"}

_CSS = """
body{display:flex;flex-direction:column;max-width:1180px;margin:auto;padding:0 10px;min-width:0;
  -webkit-text-size-adjust:100%}
#title{order:-3;font-size:15px;margin:8px 0 4px}.summary{order:-2}.summary__data>h2{display:none}
#environment,#results-table{display:block;overflow-x:auto;max-width:100%}
.summary{display:block}.summary__data{flex:none;width:auto}.summary__spacer{display:none}
.controls,.filters,.collapse{flex-wrap:wrap}
.rb{color:#1f2328;font-size:14px;line-height:1.45;font-family:system-ui,-apple-system,"Noto Sans CJK KR",
  "Apple SD Gothic Neo","Malgun Gothic",sans-serif}
.rb *{box-sizing:border-box}.rb{word-break:keep-all;overflow-wrap:anywhere}
.rb code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.rb-top{display:grid;grid-template-columns:minmax(0,1fr);grid-template-areas:"b" "d" "x";gap:10px;margin:4px 0 8px}
.rb-verdict{grid-area:b}.rb-diagram{grid-area:d}.rb-extras{grid-area:x;min-width:0}
@media (min-width:860px){.rb-top{grid-template-columns:minmax(0,1.1fr) minmax(0,1fr);
  grid-template-areas:"b d" "x d";grid-template-rows:auto 1fr;align-items:start}}
.rb-verdict{border-radius:10px;padding:10px 14px;color:#fff}
.rb-verdict h2{margin:2px 0 6px;color:#fff;font-size:19px;line-height:1.3;overflow-wrap:anywhere}
.rb-ok{background:#1a7f37}.rb-fail{background:#cf222e}
.rb-kicker{font-size:12px;opacity:.92;letter-spacing:.02em}
.rb-msg{margin:0 0 8px;color:#fff;overflow-wrap:anywhere}
.rb-fixhead{display:flex;align-items:center;justify-content:space-between;gap:8px;font-weight:600}
.rb-copy{font:inherit;font-size:13px;padding:3px 12px;border-radius:6px;border:1px solid #fff;background:#fff;
  color:#82071e;cursor:pointer}
.rb-cmd{display:block;background:#161b22;color:#e6edf3;padding:8px 10px;border-radius:6px;white-space:pre-wrap;
  overflow-wrap:anywhere;margin:6px 0;user-select:all;font-size:13px}
.rb-more{margin:4px 0 0;color:#fff;font-size:13px}.rb-more a{color:#fff}
.rb-diagram{margin:0;border:1px solid #d0d7de;border-radius:10px;padding:6px;background:#fff}
.rb-diagram svg{display:block;width:100%;height:auto;max-height:78vh}
.rb-legend{display:flex;flex-wrap:wrap;gap:4px 8px;align-items:center;font-size:12px;color:#57606a;margin-top:4px}
.rb-key{border:1px solid;border-radius:10px;padding:0 8px}
.rb-layers{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0;padding:0}
.rb-layers li{list-style:none}.rb-layers a{display:block;padding:3px 9px;border-radius:12px;color:#fff;
  font-size:13px;text-decoration:none}
.rb h3{font-size:16px;margin:16px 0 6px;color:#1f2328}
.rb-layer{border:1px solid #d0d7de;border-radius:8px;margin:6px 0;background:#fff}
.rb-layer>summary{padding:8px 10px;cursor:pointer;font-weight:600;overflow-wrap:anywhere}
.rb-dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:6px;vertical-align:-.05em}
.rb-check{border-top:1px solid #eaeef2;padding:6px 10px}
.rb-check[data-outcome=failed],.rb-check[data-outcome=error]{background:#ffebe9}
.rb-check .rb-oc{font-weight:700;margin-right:6px}.rb-check .rb-msgline{overflow-wrap:anywhere}
.rb-check .rb-node{display:block;color:#6e7781;font-size:12px;overflow-wrap:anywhere}
.rb-check code.rb-cmd{font-size:12px}
.rb-list{margin:4px 0 8px;padding-left:20px}.rb-list li{overflow-wrap:anywhere}
.rb-history{margin:6px 0}.rb-strip{display:flex;flex-wrap:wrap;gap:3px;padding:0;margin:4px 0}
.rb-run{list-style:none;width:16px;height:16px;border-radius:3px}.rb-run span{display:none}
.rb-run-last{outline:2px solid #1f2328;outline-offset:1px}.rb-history-sum{font-size:13px;color:#57606a}
.rb-tl{border:1px solid #d0d7de;border-radius:8px;padding:6px 10px;margin:6px 0;background:#fff}
.rb-tl-head{font-weight:600;overflow-wrap:anywhere}
.rb-bar{display:flex;height:10px;border-radius:5px;overflow:hidden;background:#eaeef2;margin:6px 0}
.rb-bar span{display:block;min-width:3px}
.rb-steps{display:flex;flex-wrap:wrap;gap:4px;padding:0;margin:0}
.rb-steps li{list-style:none;border:1px solid #d0d7de;border-radius:6px;padding:2px 8px;font-size:12px}
.rb-steps li b{display:block;font-size:12px}.rb-steps .rb-pending{border-style:dashed;color:#8c959f}
.rb-steps .rb-stop{border:2px solid #cf222e;background:#ffebe9}
.rb-services{font-size:12px;color:#57606a}
.rb-vt{margin:6px 0}.rb-vt>summary{cursor:pointer;font-size:13px;font-weight:600}
.rb-vt-wrap{overflow-x:auto;max-height:70vh}.rb-vt table{border-collapse:collapse;font-size:12px;width:100%}
.rb-vt th,.rb-vt td{border:1px solid #d0d7de;padding:2px 5px;text-align:left;vertical-align:top}
.rb-vt th{background:#f6f8fa;position:sticky;top:0}.rb-vt tr[data-cause=""] td{color:#57606a}
.rb-vt td code{font-size:11px;white-space:pre-wrap;overflow-wrap:anywhere}
.rb-signals{margin:0 0 8px}.rb-signals h3{margin:4px 0}
.rb-figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:6px;padding:0;margin:0}
.rb-fig{list-style:none;border:1px solid #d0d7de;border-left:5px solid;border-radius:6px;padding:4px 8px;
  background:#fff;min-width:0}
.rb-fig b{display:block;font-size:18px;line-height:1.2;overflow-wrap:anywhere}
.rb-fig span{display:block;font-size:12px;color:#57606a;overflow-wrap:anywhere}
"""

_PHASE = {
    "received": "received",
    "lock_acquired": "processing",
    "process_completed": "encoded",
    "job_completed": "completed",
    "job_failed": "failed",
    "processing_failed": "failed",
    "row_exists": "failed",
    "skip_lock": "skipped",
    "skip_status": "skipped",
    "skip_cancel": "skipped",
}
_FLOW = ("received", "processing", "encoded", "completed")
_PHASE_COLOR = {
    "received": "#0969da",
    "processing": "#8250df",
    "encoded": "#1a7f37",
    "completed": "#1a7f37",
    "failed": "#cf222e",
    "skipped": "#9a6700",
}


def timeline_digest(timelines: Mapping[int, object], limit: int = 30) -> list[dict[str, object]]:
    """A JSON-ready digest of a worker log's per-video timelines (``LogSummary.timelines``).

    Videos that did not complete come first, then the most recent; ``limit`` videos at most.
    """
    rows: list[dict[str, object]] = []
    for vid, t in timelines.items():
        events = [
            (str(kind), ts.isoformat() if isinstance(ts, datetime) else None) for kind, ts in getattr(t, "events", ())
        ]
        skip = getattr(t, "skip_reason", None)
        error = getattr(t, "error", None)
        last = getattr(t, "last_ts", None)
        rows.append(
            {
                "video_id": int(vid),
                "stage": str(getattr(t, "stage", "")),
                "skip_reason": str(skip) if skip else None,
                "error": scrub(str(error))[:300] if error else None,
                "received": int(getattr(t, "received", 0)),
                "dropped_events": int(getattr(t, "dropped_events", 0)),
                "last": last.isoformat() if isinstance(last, datetime) else "",
                "events": [list(e) for e in events],
            }
        )
    rows.sort(key=lambda r: str(r["last"]), reverse=True)
    rows = rows[:limit]
    rows.sort(key=lambda r: (r["stage"] == "completed", int(str(r["video_id"]))))
    return rows


def _ts(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _secs(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def _timeline(row: Mapping[str, object], lang: str) -> str:
    labels = LABELS[lang]
    stage = str(row.get("stage", ""))
    raw = row.get("events") or []
    events = (
        [(str(e[0]), _ts(e[1])) for e in raw if isinstance(e, (list, tuple)) and len(e) == 2]
        if isinstance(raw, (list, tuple))
        else []
    )
    start = next((ts for _, ts in events if ts), None)
    end = next((ts for _, ts in reversed(events) if ts), None)
    total = (end - start).total_seconds() if start and end else None
    state = "ok" if stage == "completed" else ("fail" if stage in ("failed", "skipped") else "warn")
    what = labels.get(f"phase_{stage}", stage)
    if stage == "skipped" and row.get("skip_reason"):
        what += f" ({labels.get('skip_' + str(row['skip_reason']), str(row['skip_reason']))})"
    head = [f"video_id={row.get('video_id')}", f"{diagram.ICONS[state]} {what}"]
    if total is not None:
        head.append(f"{labels['total']} {_secs(total)}")
    head.append(f"{labels['attempts']} ×{row.get('received', 0)}")
    steps, bar = [], []
    prev: datetime | None = None
    last_phase = ""
    stop_cls = ' class="rb-stop"'
    for i, (kind, ts) in enumerate(events):
        phase = _PHASE.get(kind, kind)
        delta = f" +{_secs((ts - prev).total_seconds())}" if ts and prev else ""
        stop = i == len(events) - 1 and stage != "completed"
        clock = ts.strftime("%H:%M:%S.%f")[:-3] if ts else "—"
        steps.append(
            f'<li data-phase="{escape(phase)}"{stop_cls if stop else ""}>'
            f"<b>{escape(labels.get('phase_' + phase, phase))}</b>{clock}{escape(delta)}"
            f"{' ■ ' + escape(labels['stopped_here']) if stop else ''}</li>"
        )
        if ts and prev and total:
            width = max(1.0, 100 * (ts - prev).total_seconds() / total)
            bar.append(
                f'<span style="flex:{width:.2f};background:{_PHASE_COLOR.get(last_phase, "#8c959f")}" '
                f'title="{escape(last_phase)}"></span>'
            )
        prev, last_phase = ts or prev, phase
    if stage != "completed":
        reached = {(_PHASE.get(k, k)) for k, _ in events}
        for phase in _FLOW:
            if phase not in reached:
                steps.append(
                    f'<li class="rb-pending" data-phase="{phase}"><b>{escape(labels["phase_" + phase])}</b>—</li>'
                )
    error = f'<div class="rb-msgline">{escape(str(row["error"]))}</div>' if row.get("error") else ""
    bar_html = f'<div class="rb-bar">{"".join(bar)}</div>' if bar else ""
    return (
        f'<div class="rb-tl" data-video="{row.get("video_id")}" data-stage="{escape(stage)}">'
        f'<div class="rb-tl-head" style="color:{_COLORS[state]}">{escape(" · ".join(head))}</div>'
        f'{bar_html}<ol class="rb-steps">{"".join(steps)}</ol>{error}</div>'
    )


def healthy_title(v: Verdict, lang: str) -> str:
    """ "Every layer verified" only when it is true; a ``warn`` layer had a check that could not judge."""
    partial = [layer for layer, state in v.layers.items() if state == "warn"]
    if not partial:
        return LABELS[lang]["healthy"]
    return LABELS[lang]["healthy_partial"].format(layers=", ".join(partial))


def _banner(v: Verdict, lang: str, checked_at: str) -> str:
    labels = LABELS[lang]
    if v.healthy:
        counts = f"{len(v.checks)} {labels['checks']}: {_counts(v.checks, lang)}"
        return (
            f'<div class="rb-verdict rb-ok" id="rb-verdict" data-healthy="true">'
            f'<div class="rb-kicker">{escape(v.mode)} · {escape(checked_at)}</div>'
            f'<h2>✔ {escape(healthy_title(v, lang))}</h2><p class="rb-msg">{escape(counts)}</p></div>'
        )
    root = v.root_cause
    assert root is not None  # decide() always names a root cause when unhealthy
    parts = [
        f'<div class="rb-verdict rb-fail" id="rb-verdict" data-healthy="false" data-root-layer="{escape(root.layer)}" '
        f'data-root-cause="{escape(root.cause or "")}">',
        f'<div class="rb-kicker">✘ {escape(labels["unhealthy"])} · {escape(labels["root_cause"])} · '
        f"{escape(root.section)} · {escape(v.mode)} · {escape(checked_at)}</div>",
        f'<h2 id="rb-root">{escape(root.layer)} / {escape(root.cause or labels["error"])}</h2>',
        f'<p class="rb-msg">{escape(scrub(root.message))}</p>',
    ]
    if root.remediation:
        js = (
            "var t=document.getElementById('rb-fix').innerText,b=this;"
            "function done(){b.textContent=b.dataset.done}"
            "if(navigator.clipboard){navigator.clipboard.writeText(t).then(done,function(){})}"
            "else{var r=document.createRange();r.selectNodeContents(document.getElementById('rb-fix'));"
            "var s=getSelection();s.removeAllRanges();s.addRange(r);document.execCommand('copy');done()}"
        )
        parts.append(
            f'<div class="rb-fixhead"><span>{escape(labels["remediation"])}</span>'
            f'<button type="button" class="rb-copy" data-done="✔ {escape(labels["copied"])}" '
            f'onclick="{escape(js)}">{escape(labels["copy"])}</button></div>'
            f'<code class="rb-cmd" id="rb-fix">{escape(scrub(root.remediation))}</code>'
        )
    more = []
    if v.consequences:
        more.append(f'<a href="#rb-related">{escape(labels["consequences"])} {len(v.consequences)}</a>')
    if v.confirming:
        more.append(f'<a href="#rb-related">{escape(labels["confirming"])} {len(v.confirming)}</a>')
    if v.others:
        more.append(f'<a href="#rb-related">{escape(labels["others"])} {len(v.others)}</a>')
    if more:
        parts.append(f'<p class="rb-more">{" · ".join(more)}</p>')
    parts.append("</div>")
    return "".join(parts)


def _counts(checks: Sequence[CheckResult], lang: str) -> str:
    labels = LABELS[lang]
    n = {o: sum(1 for c in checks if c.outcome == o) for o in ("passed", "failed", "error", "skipped")}
    shown = [f"{labels[o]} {k}" for o, k in n.items() if k]
    return ", ".join(shown)


def _related(v: Verdict, lang: str) -> str:
    labels = LABELS[lang]
    out = []
    for key, rows in (("consequences", v.consequences), ("confirming", v.confirming), ("others", v.others)):
        if rows:
            items = "".join(
                f'<li><a href="#layer-{escape(c.layer)}">{escape(c.layer)}/{escape(c.cause or "")}</a>: '
                f"{escape(scrub(c.message))}</li>"
                for c in rows
            )
            out.append(f'<div><b>{escape(labels[key])}</b><ul class="rb-list">{items}</ul></div>')
    return f'<section id="rb-related">{"".join(out)}</section>' if out else ""


def _check(r: CheckResult, lang: str) -> str:
    labels = LABELS[lang]
    state = _STATE[r.outcome]
    cause = f" · <b>{escape(r.cause)}</b>" if r.cause else ""
    fix = f'<code class="rb-cmd">{escape(scrub(r.remediation))}</code>' if r.remediation else ""
    message = f'<div class="rb-msgline">{escape(scrub(r.message))}</div>' if r.message else ""
    table = r.evidence.get("table")
    rows = ""
    if isinstance(table, Mapping):
        rows = fleet_table(table, lang) if table.get("kind") == "fleet" else video_table(table, lang)
    return (
        f'<div class="rb-check" data-outcome="{r.outcome}"><span class="rb-oc" style="color:{_COLORS[state]}">'
        f"{diagram.ICONS[state]} {escape(labels[r.outcome])}</span>{escape(r.section)}{cause}{message}{fix}{rows}"
        f'<span class="rb-node">{escape(r.nodeid)}</span></div>'
    )


_VT_COLUMNS = ("video_id", "status", "lock", "cancel", "message", "enqueue", "phase", "cause", "command")
_VT_LABELS = ("vt_id", "vt_status", "vt_lock", "vt_cancel", "vt_message", "vt_enqueue", "vt_phase", "vt_cause",
              "vt_command")  # fmt: skip


def video_table(table: Mapping[str, object], lang: str) -> str:
    """A check's per-video rows (§9: id, DB status, lock TTL, cancel, message state, enqueue, phase, cause,
    command) as a collapsible table; ``table`` is ``{"total": n, "rows": [...]}``, rows already capped."""
    labels = LABELS[lang]
    rows = [row for row in table.get("rows") or () if isinstance(row, Mapping)]  # type: ignore[attr-defined]
    if not rows:
        return ""
    total = table.get("total", len(rows))
    head = "".join(f"<th>{escape(labels.get(key, key))}</th>" for key in _VT_LABELS)
    body = []
    for row in rows:
        cells = []
        for column in _VT_COLUMNS:
            value = escape(scrub(str(row.get(column, ""))))
            cells.append(f"<td><code>{value}</code></td>" if column == "command" and value else f"<td>{value}</td>")
        video, cause = escape(str(row.get("video_id"))), escape(str(row.get("cause", "")))
        body.append(f'<tr data-video="{video}" data-cause="{cause}">{"".join(cells)}</tr>')
    title = labels["videos_table"].format(shown=len(rows), total=total)
    return (
        f'<details class="rb-vt" open><summary>{escape(title)}</summary><div class="rb-vt-wrap"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div></details>"
    )


def _layers(v: Verdict, lang: str) -> str:
    labels = LABELS[lang]
    order = {"failed": 0, "error": 0, "skipped": 1, "passed": 2}
    chips, sections = [], []
    for layer, state in v.layers.items():
        section = LAYERS.get(layer, ("", ()))[0]
        chips.append(
            f'<li data-layer="{escape(layer)}" data-state="{state}"><a href="#layer-{escape(layer)}" '
            f'style="background:{_COLORS[state]}">{diagram.ICONS[state]} {escape(section)} {escape(layer)}: '
            f"{escape(labels[state])}</a></li>"
        )
        rows = sorted((r for r in v.checks if r.layer == layer), key=lambda r: order[r.outcome])
        if not rows:
            continue
        sections.append(
            f'<details class="rb-layer" id="layer-{escape(layer)}" data-layer="{escape(layer)}" data-state="{state}"'
            f'{" open" if state != "ok" else ""}><summary><span class="rb-dot" style="background:{_COLORS[state]}">'
            f"</span>{escape(section)} {escape(layer)} — {diagram.ICONS[state]} {escape(labels[state])} "
            f"<small>({escape(_counts(rows, lang))})</small></summary>"
            f"{''.join(_check(r, lang) for r in rows)}</details>"
        )
    return (
        f'<ul class="rb-layers" aria-label="{escape(labels["layers"])}">{"".join(chips)}</ul>'
        f"<h3>{escape(labels['layers'])}</h3>{''.join(sections)}"
    )


def _short_source(sig: Signal) -> str:
    """What the figure card shows under the value (the full source is its tooltip): why, when unknown."""
    if sig.state == "unknown" and sig.message:
        return sig.message
    return sig.source.split(" (", 1)[0]


def signals_html(signals: Mapping[str, Signal], lang: str) -> str:
    """The figures block: each signal's value against its threshold, coloured by its state."""
    if not signals:
        return ""
    labels = LABELS[lang]
    items = []
    for name, sig in signals.items():
        title = scrub(sig.message or sig.source)
        items.append(
            f'<li class="rb-fig" data-signal="{escape(name)}" data-state="{sig.state}" '
            f'style="border-left-color:{_COLORS[sig.state]}" title="{escape(title)}">'
            f"<span>{escape(labels.get('signal_' + name, name))}</span>"
            f"<b>{diagram.ICONS[sig.state]} {escape(figure(sig))}</b>"
            f"<span>{escape(scrub(_short_source(sig)) or labels[sig.state])}</span></li>"
        )
    return (
        f'<section class="rb-signals" id="rb-signals"><h3>{escape(labels["signals"])}</h3>'
        f'<ul class="rb-figs">{"".join(items)}</ul></section>'
    )


def html_block(
    v: Verdict,
    lang: str = "ko",
    services: Mapping[str, str] | None = None,
    *,
    timelines: Sequence[Mapping[str, object]] | None = None,
    history: Sequence[Run] | None = None,
    checked_at: str = "",
    signals: Mapping[str, Signal] | None = None,
    log_windows: Sequence[str] = (),
) -> str:
    """The report's first screen (verdict + diagram) and everything under it, as one HTML fragment."""
    labels = LABELS[lang]
    parts = [
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_CSS}</style>",
        f'<div class="rb" id="rb-report" lang="{escape(lang)}">',
        '<div class="rb-top">',
        _banner(v, lang, checked_at),
        f'<figure class="rb-diagram" id="rb-diagram">{diagram.svg(v, lang)}{diagram.legend(lang)}</figure>',
        f'<div class="rb-extras">{signals_html(signals or {}, lang)}{strip_html(history or (), lang)}'
        f"{_related(v, lang)}</div>",
        "</div>",
        _layers(v, lang),
    ]
    if timelines is not None:
        rows = "".join(_timeline(row, lang) for row in timelines) or f"<p>{escape(labels['timelines_none'])}</p>"
        parts.append(f'<section id="rb-timelines"><h3>{escape(labels["timelines"])}</h3>{rows}</section>')
    if log_windows:
        items = "".join(f"<li>{escape(scrub(line))}</li>" for line in log_windows)
        parts.append(
            f'<section class="rb-services" id="rb-log-windows"><h3>{escape(labels["log_windows"])}</h3>'
            f'<ul class="rb-list">{items}</ul></section>'
        )
    if services:
        items = "".join(f"<li>{escape(k)}: {escape(scrub(val))}</li>" for k, val in services.items())
        parts.append(
            f'<details class="rb-services"><summary>{escape(labels["services"])}</summary>'
            f'<ul class="rb-list">{items}</ul></details>'
        )
    parts.append("</div>")
    return "".join(parts)


def terminal_block(
    v: Verdict, lang: str = "ko", *, signals: Mapping[str, Signal] | None = None, log_windows: Sequence[str] = ()
) -> list[str]:
    """Lines for the end of the terminal output."""
    labels = LABELS[lang]
    lines = []
    if v.healthy:
        lines.append(f"VERDICT ({v.mode}): {healthy_title(v, lang)}")
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
    if signals:
        shown = [f"{labels.get('signal_' + n, n)} {figure(s)} [{s.state}]" for n, s in signals.items()]
        lines.append(f"  {labels['signals']}: " + " · ".join(shown))
    lines.extend(f"  {labels['log_windows']}: {scrub(window)}" for window in log_windows)
    return lines
