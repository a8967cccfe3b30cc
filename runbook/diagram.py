"""The pipeline as a picture: an inline SVG whose parts are coloured by the state of their runbook layer.

Parts are the nodes (API, SQS, DLQ, worker, ffmpeg, R2, Redis, database, EventBridge, Lambda, ASG) and the
edges that a layer owns (enqueue, poll, HLS upload, the scaler's arrows). A failed check colours the parts
its *cause* points at (``dlq-not-empty`` is the DLQ, not the whole queue layer); every other part shows its
layers' state computed from the remaining checks. The root cause's parts get a thick border and a badge; each
consequence is a dashed arrow from the root to the part it broke.

The SVG is self-contained (no fonts, images or scripts) and scales with its ``viewBox``; parts carry
``id="rb-part-<name>"``, ``data-layer`` (space separated), ``data-state``, ``data-root`` and
``data-consequence`` so that a browser test can query the rendered page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from runbook.model import LAYERS, CheckResult, LayerState
from runbook.texts import LABELS
from runbook.verdict import Verdict, layer_states

#: State colours: (stroke/solid, tint fill, text on tint). ``fail`` is drawn solid so it stands out.
COLORS: dict[str, str] = {"ok": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "unknown": "#6e7781"}
_TINT: dict[str, str] = {"ok": "#dafbe1", "warn": "#fff8c5", "fail": "#cf222e", "unknown": "#eaeef2"}
_INK: dict[str, str] = {"ok": "#0d3d1b", "warn": "#4d3300", "fail": "#ffffff", "unknown": "#32383f"}
ICONS: dict[str, str] = {"ok": "✔", "warn": "!", "fail": "✘", "unknown": "?"}
_NEUTRAL = "#8c959f"

_W, _H = 104, 50  # node box
_COLS = (8, 158, 308)  # x of columns A, B, C
_ROWS = (30, 126, 222, 318)  # y of rows 0..3
VIEWBOX = (0, 0, 420, 392)


@dataclass(frozen=True)
class Node:
    name: str
    label: str
    col: int
    row: int
    layers: tuple[str, ...]

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (_COLS[self.col], _ROWS[self.row], _W, _H)

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)


@dataclass(frozen=True)
class Edge:
    name: str
    points: tuple[tuple[float, float], ...]
    layers: tuple[str, ...]  # empty: a plain connection, always drawn neutral
    label: str = ""

    @property
    def center(self) -> tuple[float, float]:
        (x1, y1), (x2, y2) = self.points[0], self.points[-1]
        return ((x1 + x2) / 2, (y1 + y2) / 2)


NODES: dict[str, Node] = {
    n.name: n
    for n in (
        Node("eventbridge", "EventBridge", 0, 0, ("autoscaling",)),
        Node("lambda", "Lambda", 1, 0, ("autoscaling",)),
        Node("asg", "ASG", 2, 0, ("autoscaling", "worker-process")),
        Node("api", "API", 0, 1, ("api-enqueue",)),
        Node("sqs", "SQS", 1, 1, ("queue", "visibility")),
        Node("worker", "Worker", 2, 1, ("worker-process", "worker-config", "processing", "visibility")),
        Node("dlq", "DLQ", 1, 2, ("queue",)),
        Node("ffmpeg", "ffmpeg", 2, 2, ("processing",)),
        Node("redis", "Redis", 0, 3, ("progress", "stuck-video")),
        Node("db", "DB", 1, 3, ("worker-config", "processing", "stuck-video")),
        Node("r2", "R2", 2, 3, ("credentials",)),
    )
}

EDGES: dict[str, Edge] = {
    e.name: e
    for e in (
        Edge("rule", ((112, 55), (158, 55)), ("autoscaling",), "1m"),
        Edge("scale", ((262, 55), (308, 55)), ("autoscaling",), "desired"),
        Edge("depth", ((210, 126), (210, 80)), ("autoscaling",), "depth"),
        Edge("launch", ((360, 80), (360, 126)), ("autoscaling",), "launch"),
        Edge("enqueue", ((112, 151), (158, 151)), ("api-enqueue", "credentials"), "enqueue"),
        Edge("poll", ((262, 151), (308, 151)), ("credentials",), "poll"),
        Edge("redrive", ((210, 176), (210, 222)), (), ""),
        Edge("encode", ((360, 176), (360, 222)), (), ""),
        Edge("upload", ((360, 272), (360, 318)), ("credentials",), "HLS"),
        Edge("api-redis", ((40, 176), (40, 318)), (), "progress"),
        Edge("api-db", ((80, 176), (80, 295), (190, 295), (190, 318)), (), ""),
        Edge("worker-db", ((308, 166), (285, 166), (285, 300), (230, 300), (230, 318)), (), ""),
        Edge("worker-redis", ((285, 300), (285, 380), (135, 380), (135, 343), (112, 343)), (), "lock"),
    )
}

#: cause -> the parts it points at (first one carries the root badge). Unlisted causes use ``LAYER_PARTS``.
CAUSE_PARTS: dict[str, tuple[str, ...]] = {
    "worker-not-running": ("worker",),
    "no-inservice-instances": ("asg", "worker"),
    "queue-missing": ("sqs",),
    "queue-name-mismatch": ("sqs", "poll"),
    "region-mismatch": ("sqs", "poll"),
    "queue-access-denied": ("sqs",),
    "dlq-not-empty": ("dlq",),
    "config-missing": ("worker",),
    "config-error-logged": ("worker",),
    "db-mismatch": ("db",),
    "aws-credentials-invalid": ("poll",),
    "r2-credentials-invalid": ("r2", "upload"),
    "no-message-received": ("worker",),
    "job-failed": ("worker",),
    "processing-exception": ("ffmpeg",),
    "complete-not-found": ("db",),
    "enqueue-not-logged": ("api", "enqueue"),
    "enqueue-failed": ("api", "enqueue"),
    "redis-unreachable": ("redis",),
    "redis-mismatch": ("redis",),
    "stale-lock": ("redis",),
    "status-not-uploaded": ("db",),
    "cancel-requested": ("redis",),
    "asg-max-too-low": ("asg",),
    "scaler-lambda-missing": ("lambda",),
    "scaler-rule-missing": ("eventbridge", "rule"),
    "scaler-rule-disabled": ("eventbridge", "rule"),
    "scaler-cap-too-low": ("lambda",),
    "long-job-blocking": ("worker",),
    "visibility-too-short": ("sqs",),
}

LAYER_PARTS: dict[str, tuple[str, ...]] = {
    "worker-process": ("worker",),
    "queue": ("sqs",),
    "worker-config": ("worker",),
    "credentials": ("poll", "upload"),
    "processing": ("worker",),
    "api-enqueue": ("api",),
    "progress": ("redis",),
    "stuck-video": ("redis", "db"),
    "autoscaling": ("lambda",),
    "visibility": ("sqs",),
}


#: cause -> its parts when the check judged the API's side (``test_x[live-api]``), not the worker's.
API_SIDE_PARTS: dict[str, tuple[str, ...]] = {"aws-credentials-invalid": ("enqueue",)}
_API_SIDE = re.compile(r"[\[-]api[\]-]")


def parts_of(check: CheckResult) -> tuple[str, ...]:
    """The diagram parts a check's cause points at."""
    cause = check.cause or ""
    if cause in API_SIDE_PARTS and _API_SIDE.search(check.nodeid):
        return API_SIDE_PARTS[cause]
    return CAUSE_PARTS.get(cause) or LAYER_PARTS.get(check.layer, ())


def _part_layers(name: str) -> tuple[str, ...]:
    return NODES[name].layers if name in NODES else EDGES[name].layers


def part_states(v: Verdict) -> dict[str, LayerState]:
    """Each part's state: ``fail`` when a failed check points at it, else its layers' remaining checks.

    A layer whose every check failed *elsewhere* (``stale-lock`` is Redis, not the database) says nothing
    about this part and is left out; a layer that ran no check at all counts as ``unknown``.
    """
    failed_here: set[str] = set()
    for check in v.checks:
        if check.outcome in ("failed", "error"):
            failed_here.update(parts_of(check))
    states: dict[str, LayerState] = {}
    for name in [*NODES, *EDGES]:
        layers = _part_layers(name)
        if name in failed_here:
            states[name] = "fail"
            continue
        if not layers:
            states[name] = "ok"
            continue
        values: list[LayerState] = []
        for layer in layers:
            if layer not in v.layers:
                continue
            checks = [c for c in v.checks if c.layer == layer]
            remaining = [c for c in checks if c.outcome not in ("failed", "error")]
            if checks and not remaining:
                continue
            values.append(layer_states(remaining, (layer,))[layer])
        states[name] = _combine(values)
    return states


def _combine(values: Sequence[LayerState]) -> LayerState:
    if not values:
        return "unknown"
    if "fail" in values:
        return "fail"
    if all(s == "ok" for s in values):
        return "ok"
    if all(s == "unknown" for s in values):
        return "unknown"
    return "warn"


def _sections(layers: Sequence[str]) -> str:
    """``§2 부록 B``; three or more compacted to fit a node: ``§1·3·5·B``."""
    seen: list[str] = []
    for layer in layers:
        section = LAYERS.get(layer, ("", ()))[0]
        if section and section not in seen:
            seen.append(section)
    if len(seen) <= 2:
        return " ".join(seen)
    numbers = [s.lstrip("§") for s in seen if s.startswith("§")]
    appendix = [s.split()[-1] for s in seen if not s.startswith("§")]
    return "§" + "·".join(numbers + appendix)


def _clip(box: tuple[float, float, float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Where the ray from the box's centre toward ``toward`` leaves the box."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return (cx, cy)
    scale = min((w / 2) / abs(dx) if dx else math.inf, (h / 2) / abs(dy) if dy else math.inf)
    return (cx + dx * scale, cy + dy * scale)


def _anchor(part: str) -> tuple[tuple[float, float], tuple[float, float, float, float] | None]:
    if part in NODES:
        node = NODES[part]
        return node.center, node.box
    return EDGES[part].center, None


def _arrow(src: str, dst: str, cause: str) -> str:
    """A dashed curve from the root part to a consequence part, bowed so it clears the straight edges."""
    (sx, sy), sbox = _anchor(src)
    (tx, ty), tbox = _anchor(dst)
    length = math.hypot(tx - sx, ty - sy) or 1.0
    bend = max(45.0, min(70.0, 0.35 * length))
    cx, cy = (sx + tx) / 2 + bend * (ty - sy) / length, (sy + ty) / 2 - bend * (tx - sx) / length
    start = _clip(sbox, (cx, cy)) if sbox else (sx, sy)
    end = _clip(tbox, (cx, cy)) if tbox else (tx, ty)
    return (
        f'<path class="rb-conseq" data-from="{src}" data-to="{dst}" data-cause="{escape(cause)}" '
        f'd="M{start[0]:.0f},{start[1]:.0f} Q{cx:.0f},{cy:.0f} {end[0]:.0f},{end[1]:.0f}" fill="none" '
        f'stroke="{COLORS["fail"]}" stroke-width="2.5" stroke-dasharray="6 4" marker-end="url(#rb-arrow-fail)"/>'
    )


def _text_width(text: str, size: float) -> float:
    """A rough width: CJK glyphs one em, spaces and dots a third, other glyphs about 0.6 em."""
    width = 0.0
    for ch in text:
        width += size * (1.0 if ord(ch) > 0x2E7F else 0.3 if ch in " ·" else 0.62)
    return width


def _node_svg(node: Node, state: str, root: bool, consequence: bool, covered: bool, lang: str) -> str:
    x, y, w, h = node.box
    labels = LABELS[lang]
    sections = _sections(node.layers)
    line2 = f"{sections} · {ICONS[state]} {labels['short_' + state]}" if covered else f"{sections} · —"
    fit = f' textLength="{w - 8}" lengthAdjust="spacingAndGlyphs"' if _text_width(line2, 11) > w - 6 else ""
    stroke_w = 4.5 if root else 1.5
    stroke = "#82071e" if root else COLORS[state]
    dash = ' stroke-dasharray="5 3"' if consequence and not root else ""
    title = ", ".join(node.layers)
    fade = "" if covered else ' opacity="0.55"'
    parts = [
        f'<g id="rb-part-{node.name}" class="rb-node" data-part="{node.name}" data-layer="{" ".join(node.layers)}" '
        f'data-state="{state}" data-root="{str(root).lower()}" data-consequence="{str(consequence).lower()}"'
        f"{fade}>",
        f"<title>{escape(node.label)}: {escape(title)} — {escape(labels[state])}</title>",
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{_TINT[state]}" stroke="{stroke}" '
        f'stroke-width="{stroke_w}"{dash}/>',
        f'<text x="{x + w / 2}" y="{y + 21}" text-anchor="middle" font-size="14" font-weight="700" '
        f'fill="{_INK[state]}">{escape(node.label)}</text>',
        f'<text x="{x + w / 2}" y="{y + 39}" text-anchor="middle" font-size="11" fill="{_INK[state]}"{fit}>'
        f"{escape(line2)}</text>",
        "</g>",
    ]
    return "".join(parts)


def _edge_svg(edge: Edge, state: str, root: bool) -> str:
    colored = bool(edge.layers) and state in ("fail", "warn")
    color = COLORS[state] if colored else _NEUTRAL
    width = 5 if root else (3.5 if colored and state == "fail" else 1.5)
    marker = f"rb-arrow-{state}" if colored else "rb-arrow"
    points = " ".join(f"{x:.0f},{y:.0f}" for x, y in edge.points)
    dash = ' stroke-dasharray="2 3"' if edge.layers and state == "unknown" else ""
    svg = (
        f'<g id="rb-part-{edge.name}" class="rb-edge" data-part="{edge.name}" data-layer="{" ".join(edge.layers)}" '
        f'data-state="{state}" data-root="{str(root).lower()}">'
        f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="{width}"{dash} '
        f'marker-end="url(#{marker})"/>'
    )
    if edge.label:
        (x1, y1), (x2, y2) = edge.points[0], edge.points[1]
        if y1 == y2:  # horizontal: label above the middle
            lx, ly, anchor = (x1 + x2) / 2, y1 - 5, "middle"
        else:  # vertical: label to the right of the middle
            lx, ly, anchor = x1 + 5, (y1 + y2) / 2 + 4, "start"
        svg += (
            f'<text x="{lx:.0f}" y="{ly:.0f}" text-anchor="{anchor}" font-size="10" fill="#57606a">'
            f"{escape(edge.label)}</text>"
        )
    return svg + "</g>"


def _badge(part: str, text: str) -> str:
    if part in NODES:  # above the node; below it on the bottom row, where edges arrive from above
        x, y, w, h = NODES[part].box
        bx, by = (x + w / 2, y + h + 19) if NODES[part].row == len(_ROWS) - 1 else (x + w / 2, y - 4)
    else:  # above the edge, in the gap between rows (root edges are horizontal ones)
        bx, by = EDGES[part].center
        by -= 25
    width = 12 + 7.5 * len(text)
    return (
        f'<g id="rb-root-badge" data-part="{part}">'
        f'<rect x="{bx - width / 2:.0f}" y="{by - 15:.0f}" width="{width:.0f}" height="17" rx="8" fill="#82071e"/>'
        f'<text x="{bx:.0f}" y="{by - 3:.0f}" text-anchor="middle" font-size="11" font-weight="700" fill="#fff">'
        f"{escape(text)}</text></g>"
    )


def _markers() -> str:
    defs = []
    for name, color in [("rb-arrow", _NEUTRAL)] + [(f"rb-arrow-{s}", c) for s, c in COLORS.items()]:
        defs.append(
            f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
            f'markerUnits="userSpaceOnUse" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
        )
    return f"<defs>{''.join(defs)}</defs>"


def svg(v: Verdict, lang: str = "ko") -> str:
    """The pipeline diagram for one verdict, as an inline ``<svg>`` element."""
    labels = LABELS[lang]
    states = part_states(v)
    root_parts: tuple[str, ...] = parts_of(v.root_cause) if v.root_cause is not None else ()
    conseq_parts: dict[str, str] = {}
    for check in v.consequences:
        for part in parts_of(check)[:1]:
            if part not in root_parts and part not in conseq_parts:
                conseq_parts[part] = check.cause or ""
    body = [_markers()]
    body += [_edge_svg(e, states[e.name], e.name in root_parts) for e in EDGES.values()]
    for node in NODES.values():
        covered = any(layer in v.layers for layer in node.layers)
        body.append(
            _node_svg(node, states[node.name], node.name in root_parts, node.name in conseq_parts, covered, lang)
        )
    if root_parts:
        body += [_arrow(root_parts[0], part, cause) for part, cause in conseq_parts.items()]
        body.append(_badge(root_parts[0], labels["root_badge"]))
    x0, y0, w, h = VIEWBOX
    return (
        f'<svg id="rb-diagram-svg" xmlns="http://www.w3.org/2000/svg" viewBox="{x0} {y0} {w} {h}" role="img" '
        f'aria-label="{escape(labels["diagram"])}" preserveAspectRatio="xMidYMin meet" '
        f"font-family=\"system-ui, -apple-system, 'Noto Sans CJK KR', 'Apple SD Gothic Neo', sans-serif\">"
        f"{''.join(body)}</svg>"
    )


def legend(lang: str = "ko") -> str:
    """The colour key under the diagram (HTML, so that it wraps on a phone)."""
    labels = LABELS[lang]
    chips = "".join(
        f'<span class="rb-key" style="background:{_TINT[s]};color:{_INK[s]};border-color:{COLORS[s]}">'
        f"{ICONS[s]} {escape(labels[s])}</span>"
        for s in ("ok", "warn", "fail", "unknown")
    )
    return f'<div class="rb-legend">{chips}<span>{escape(labels["diagram_key"])}</span></div>'
