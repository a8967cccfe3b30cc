"""``python -m runbook.summary reports/verdict.json``: the verdict as Markdown or as a webhook message.

CI writes the Markdown to ``$GITHUB_STEP_SUMMARY`` (the job's page shows the verdict) and posts the webhook
message when the canary fails. Both carry the root cause, its runbook section and the remediation command;
neither carries anything else from the environment (the verdict file itself is already scrubbed of secrets,
and values of secret-looking variables of this process are masked once more).

Exit code 0 whatever the verdict: reporting must not fail the job a second time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from runbook.model import LAYERS
from runbook.secrets import register_env, scrub
from runbook.texts import LABELS

_ICON = {"ok": "🟢", "warn": "🟡", "fail": "🔴", "unknown": "⚪"}


def load(path: str | Path) -> dict[str, Any] | None:
    """The verdict document, or ``None`` when the run wrote none (a crash, a usage error)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _lang(doc: dict[str, Any] | None, lang: str | None) -> str:
    chosen = lang or (doc or {}).get("lang") or "ko"
    return chosen if chosen in LABELS else "ko"


def headline(doc: dict[str, Any] | None, lang: str = "ko") -> str:
    """One line: healthy, or the root cause with its section."""
    labels = LABELS[lang]
    if doc is None:
        if lang == "en":
            return "✘ no verdict was written (the run stopped early)"
        return "✘ 판정 파일 없음 (실행이 중간에 멈춤)"
    if doc.get("healthy"):
        return f"✔ {labels['healthy']} ({doc.get('mode', '')})"
    root = doc.get("root_cause") or {}
    return (
        f"✘ {labels['unhealthy']} ({doc.get('mode', '')}): {labels['root_cause']} "
        f"{root.get('layer')}/{root.get('cause') or labels['error']} {root.get('section', '')}"
    ).rstrip()


def markdown(doc: dict[str, Any] | None, lang: str = "ko", run_url: str = "") -> str:
    """The job summary: headline, evidence, remediation, layer table."""
    labels = LABELS[lang]
    lines = [f"### {headline(doc, lang)}", ""]
    if doc is not None and not doc.get("healthy"):
        root = doc.get("root_cause") or {}
        if root.get("message"):
            lines += [str(root["message"]), ""]
        if root.get("remediation"):
            lines += [f"**{labels['remediation']}**", "", "```bash", str(root["remediation"]), "```", ""]
        consequences = len(doc.get("consequences") or [])
        if consequences:
            lines += [f"{labels['consequences']}: {consequences}", ""]
    if doc is not None and doc.get("layers"):
        lines += [f"| {labels['section']} | layer | |", "|---|---|---|"]
        for layer, state in doc["layers"].items():
            section = LAYERS.get(layer, ("", ()))[0]
            lines.append(f"| {section} | `{layer}` | {_ICON.get(state, '')} {labels.get(state, state)} |")
        lines.append("")
    if run_url:
        lines += [run_url, ""]
    return scrub("\n".join(lines))


def webhook(doc: dict[str, Any] | None, lang: str = "ko", run_url: str = "", title: str = "canary") -> dict[str, str]:
    """A ``{"text": ...}`` payload (Slack, Mattermost, Teams workflows and most chat webhooks accept it)."""
    labels = LABELS[lang]
    parts = [f"[{title}] {headline(doc, lang)}"]
    if doc is not None and not doc.get("healthy"):
        root = doc.get("root_cause") or {}
        if root.get("message"):
            parts.append(str(root["message"]))
        if root.get("remediation"):
            parts.append(f"{labels['remediation']}: `{root['remediation']}`")
    if run_url:
        parts.append(run_url)
    return {"text": scrub("\n".join(parts))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runbook.summary", description=__doc__.splitlines()[0])
    parser.add_argument("verdict", help="verdict.json written by the run")
    parser.add_argument("--format", choices=("markdown", "webhook", "headline"), default="markdown")
    parser.add_argument("--lang", choices=tuple(LABELS), default=None, help="default: the run's language")
    parser.add_argument("--run-url", default="", help="link to the CI run, added to the message")
    parser.add_argument("--title", default="canary", help="webhook message prefix")
    args = parser.parse_args(argv)
    register_env(os.environ)
    doc = load(args.verdict)
    lang = _lang(doc, args.lang)
    if args.format == "webhook":
        out = json.dumps(webhook(doc, lang, args.run_url, args.title), ensure_ascii=False)
    elif args.format == "headline":
        out = scrub(headline(doc, lang))
    else:
        out = markdown(doc, lang, args.run_url)
    sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
