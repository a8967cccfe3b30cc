"""``--runbook-lang en`` carries no Korean: the texts, their remediations and the facts the checks pass
(written for the Korean report: "워커", "컨테이너 X", "없음", ...)."""

from __future__ import annotations

import re
import string

import pytest

from runbook import commands, texts
from runbook.config import side_from_env
from runbook.target import Target

HANGUL = re.compile("[\uac00-\ud7a3]")
LOCAL = Target(mode="live", api=side_from_env({"AWS_REGION": "ap-northeast-2"}, "api"), deployments=("local",))
#: The Korean-valued facts the checks pass (checks/*.py, runbook.commands), each as a check would.
KOREAN_FACTS: dict[str, object] = {
    "side": "워커",
    "where": "컨테이너 academy-video-worker",
    "state": "없음",
    "desired": "(ASG 없음)",
    "status": "(행 없음)",
    "detail": "규칙 없음 / rule not found",
    "setting": "워커 로그의 `Video Worker (SQS) started` 줄",
    "restart_cmd": commands.restart_worker(LOCAL),
    "start_cmd": commands.start_worker(LOCAL, "local"),
    "ffmpeg_cmd": commands.ffmpeg_check(LOCAL),
    "why": "처리하는 워커 없음",
    "why_en": "no worker holds it",
    "figure_name": "가장 오래된 메시지 나이",
    "figure_name_en": "age of the oldest message",
}


def _names(*templates: str) -> set[str]:
    return {field for template in templates for _, field, _, _ in string.Formatter().parse(template) if field}


@pytest.mark.parametrize(
    ("table", "key"),
    [(texts.CAUSES, key) for key in texts.CAUSES] + [(texts.UNKNOWN, key) for key in texts.UNKNOWN],
    ids=[*texts.CAUSES, *texts.UNKNOWN],
)
def test_english_message_and_remediation_carry_no_korean(table: dict[str, texts.Text], key: str) -> None:
    text = table[key]
    facts: dict[str, object] = dict.fromkeys(_names(text.ko, text.en, text.fix, texts.FIX_EN.get(key, "")), "x")
    facts.update({name: value for name, value in KOREAN_FACTS.items() if name in facts or name.endswith("_en")})
    message, fix = texts.render(table, key, facts, "en")
    assert not HANGUL.search(message), message
    assert not HANGUL.search(fix), fix
    ko_message, _ = texts.render(table, key, facts, "ko")
    assert HANGUL.search(ko_message) or not HANGUL.search(text.ko)  # Korean stays Korean
