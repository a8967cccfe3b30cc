"""The signals' figures block in the HTML and the terminal, without a browser."""

from __future__ import annotations

import re

from runbook.model import LAYERS, CheckResult
from runbook.render import html_block, signals_html, terminal_block
from runbook.signals import Signal, Thresholds, measure
from runbook.verdict import decide

THRESHOLDS = Thresholds()
SIGNALS = {
    "oldest_message_age": measure("oldest_message_age", 2400.0, THRESHOLDS, "CloudWatch AWS/SQS ..."),
    "visible": measure("visible", 17, THRESHOLDS, "SQS get_queue_attributes"),
    "in_flight": measure("in_flight", 1, THRESHOLDS, "SQS get_queue_attributes"),
    "dlq_depth": Signal("dlq_depth", None, 0.0, "unknown", "", "messages", "not checked"),
}


def _verdict() -> object:
    checks = [
        CheckResult(nodeid=f"checks/t.py::t{i}", layer=layer, section=LAYERS[layer][0], outcome="passed")
        for i, layer in enumerate(LAYERS)
    ]
    return decide("live", checks)


def test_figures_block_shows_each_value_against_its_threshold() -> None:
    html = signals_html(SIGNALS, "en")
    states = dict(re.findall(r'data-signal="([a-z_]+)" data-state="([a-z]+)"', html))
    assert states == {"oldest_message_age": "fail", "visible": "warn", "in_flight": "ok", "dlq_depth": "unknown"}
    assert "2400s &gt; 1800s" in html and "17 ≤ 20" in html and "? / 0" in html
    assert "oldest message" in html and "Queue signals" in html
    assert "가장 오래된 메시지" in signals_html(SIGNALS, "ko")


def test_figures_are_on_the_first_screen_and_in_the_terminal() -> None:
    verdict = _verdict()
    page = html_block(verdict, "en", signals=SIGNALS)  # type: ignore[arg-type]
    top = page.split('<ul class="rb-layers"', 1)[0]  # before the layer chips: the first screen
    assert 'id="rb-signals"' in top
    lines = terminal_block(verdict, "en", signals=SIGNALS)  # type: ignore[arg-type]
    assert any("oldest message 2400s > 1800s [fail]" in line for line in lines), lines
    assert 'id="rb-signals"' not in html_block(verdict, "en")  # type: ignore[arg-type]
