"""§9's inferred SQS message state against the truth: moto's own state (``/moto-api/data.json``).

The live run never receives a message, so it infers the state from the logs and the queue counters; here the
stand-in stack can be asked directly. The §9 story (111 and 222 skipped for a crashed worker's lock, 333
encoded: all three messages deleted) and a long job in flight with a short one waiting (appendix B 0).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reference.stack import Stack
from reference.stack.aws import QUEUE_NAME
from tests.live.test_live_mode import live_run, stale_lock_story


def moto_truth(stack: Any, ids: tuple[int, ...]) -> dict[int, str]:
    """Each video's message as moto holds it (``/moto-api/data.json``): ``visible``, ``in-flight`` or ``gone``.

    moto keeps deleted messages in its dump: a message counts as gone when the queue holds none; otherwise the
    newest copy says whether it is visible, and the live ones must add up to the queue's counters.
    """
    with urllib.request.urlopen(f"{stack.aws.url}/moto-api/data.json", timeout=30) as response:
        data = json.loads(response.read())
    queue = next(q for q in data["sqs"]["Queue"] if q["name"] == QUEUE_NAME)
    live = queue["approximate_number_of_messages"] + queue["approximate_number_of_messages_not_visible"]
    newest: dict[int, dict[str, Any]] = {}
    for message in data["sqs"].get("Message", []):
        vid = int(json.loads(message["body"]).get("video_id", -1))
        best = newest.get(vid)
        if best is None or (message["sent_timestamp"], message["visible_at"]) > (
            best["sent_timestamp"],
            best["visible_at"],
        ):
            newest[vid] = message
    now_ms = time.time() * 1000
    truth = {}
    for vid in ids:
        message = newest.get(vid)
        if message is None or live == 0:
            truth[vid] = "gone"
        else:
            truth[vid] = "visible" if message["visible_at"] <= now_ms else "in-flight"
    assert sum(state != "gone" for state in truth.values()) == live, (truth, queue)
    return truth


def inferred(verdict: dict[str, Any]) -> dict[int, str]:
    """The message state each ``test_stuck_video[live-N]`` case inferred (its one table row)."""
    out = {}
    for check in verdict["checks"]:
        if "test_stuck_video[live-" in check["nodeid"] and check.get("table"):
            row = check["table"]["rows"][0]
            out[int(row["video_id"])] = str(row["message_state"])
    return out


@pytest.mark.timeout(240)
def test_message_state_story_matches_moto(tmp_path: Path) -> None:
    with Stack("embedded", workdir=tmp_path / "stack") as stack:
        stale_lock_story(stack)
        stack.wait_for(lambda: stack.queue_counts() == {"visible": 0, "in_flight": 0}, 60, "the queue drained")
        verdict, output, _ = live_run(stack, tmp_path / "run", "local")
        truth = moto_truth(stack, (111, 222, 333))
    assert inferred(verdict) == truth == {111: "gone", 222: "gone", 333: "gone"}, output[-3000:]
    stuck = {c["nodeid"]: c for c in verdict["checks"] if "test_stuck_video[live-111]" in c["nodeid"]}
    message = next(iter(stuck.values()))["message"]
    assert "추정" in message and "skip" in message  # said next to the lock, labelled as inferred


@pytest.mark.timeout(240)
def test_message_state_long_job_matches_moto(tmp_path: Path) -> None:
    """Video 17 encodes for minutes (in flight, visibility raised), 1111 waits visible behind it."""
    with Stack("embedded", faults=["long-job-blocking"], workdir=tmp_path / "stack") as stack:
        stack.scenario.run(strict=False)
        verdict, output, _ = live_run(stack, tmp_path / "run", "local", "--long-job-after", "0.5")
        truth = moto_truth(stack, (17, 1111))
    assert inferred(verdict) == truth == {17: "in-flight", 1111: "visible"}, output[-3000:]
    by_id = {
        c["nodeid"].split("[live-")[1].rstrip("]"): c
        for c in verdict["checks"]
        if "test_stuck_video[live-" in c["nodeid"]
    }
    assert by_id["17"]["outcome"] == by_id["1111"]["outcome"] == "passed"  # encoding / waiting: not §9 faults


def shifted_log(path: str, seconds: float, dest: Path) -> Path:
    """A copy of the API's log with every record's time (production's ``[LEVEL] YYYY-MM-DD HH:MM:SS,mmm``) moved
    ``seconds`` back: the same events, as if they had happened that much earlier (the stand-in cannot wait out the
    scaler's ticks in a test)."""
    pattern = re.compile(r"^(\[[A-Z]+\] )(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3})")

    def shift(match: re.Match[str]) -> str:
        stamp = datetime.fromisoformat(f"{match.group(2)}.{match.group(3)}") - timedelta(seconds=seconds)
        return f"{match.group(1)}{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d}"

    lines = Path(path).read_text(errors="replace").splitlines(keepends=True)
    dest.write_text("".join(pattern.sub(shift, line) for line in lines))
    return dest


@pytest.mark.timeout(300)
def test_desired_follows_queue_long_job_asg(tmp_path: Path) -> None:
    """부록 B 1: 17 in flight and 1111 waiting ask for 2 workers; the stand-in's scaler has not ticked (moto never
    fires the rule), so desired stays 1. Enqueued 3 minutes ago (the API log shifted back), that is the scaler
    not following: it fails. After one tick of the real handler (desired 2), the same evidence passes."""
    with Stack("embedded", faults=["long-job-blocking"], workdir=tmp_path / "stack") as stack:
        stack.scenario.run(strict=False)
        old_api_log = shifted_log(stack.api_log, 180, tmp_path / "api-3min-ago.log")
        extra = ("--long-job-after", "0.5")
        lagging, output, _ = live_run(stack, tmp_path / "lagging", "asg", *extra, api_log=str(old_api_log))
        tick = stack.scaler_tick()
        stack_desired = stack.aws.asg()["DesiredCapacity"]
        following, output2, _ = live_run(stack, tmp_path / "following", "asg", *extra, api_log=str(old_api_log))
    check = "test_desired_follows_queue[live]"
    before = next(c for c in lagging["checks"] if c["nodeid"].endswith(check))
    assert before["outcome"] == "failed" and before["cause"] == "scaler-not-following", output[-3000:]
    assert (
        "desired 1" in before["message"]
        and "2" in before["message"]
        and "set-desired-capacity" in before["remediation"]
    )
    assert lagging["root_cause"]["cause"] == "scaler-not-following", output[-3000:]  # it explains the blocking
    assert tick is not None and stack_desired == 2
    after = next(c for c in following["checks"] if c["nodeid"].endswith(check))
    assert after["outcome"] == "passed", output2[-3000:]
