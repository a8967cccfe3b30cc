"""Proof 6 — the opt-in canary: the one check allowed to change anything, and only its own video.

1. Off by default: a live run without ``--canary-video-id`` does not run it at all (not even as a skip), so
   proof 1 (``test_read_only``) holds unchanged.
2. On, against a stand-in pipeline whose API retries cleanly (``RETRY_CANCEL_TTL=0``): video 111 is
   re-encoded through ``POST /media/videos/111/retry/`` and its enqueue-to-READY seconds are the signal
   ``canary_seconds``; before and after, everything else is identical (video 222's row and keys, the bucket
   outside ``hls/111``, every other queue message). While its one POST is allowed, a "careless" plugin tries
   other writes (another video's retry, the same retry twice, an SQS send, a Redis DEL, an SQL UPDATE): each
   is refused by the guard.
3. On, against the stand-in API as it is (the retry sets the cancel flag for 300 s, runbook §9): the worker
   skips the canary's own job and the check says ``cancel-requested``, at once, not after its timeout.
4. The guard's allowance, without a network: exactly one request, exactly that method and URL.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from blackhole import refused_aws_client
from safety_harness import LiveRun, Production, differences, run_live, snapshot

from bench._live import pytest_argv
from runbook import guard

pytestmark = pytest.mark.timeout(300)

CANARY = 111
OTHER = 222

#: Wraps the canary's one allowed request: before and after it, other writes are attempted and the outcome of
#: each is written to $ROGUE_RESULTS (they must all be refused).
ROGUE_PLUGIN = """
import json, os
from runbook import clients, guard
from runbook.probes import api


def attempts(t):
    a = t.api
    sqs = clients.aws_client("sqs", region=a.region, access_key=a.aws_access_key, secret_key=a.aws_secret_key,
                             endpoint_url=a.aws_endpoint_url, timeout=t.timeout)
    url = sqs.get_queue_url(QueueName=a.queue_name)["QueueUrl"]
    r = a.redis
    return {
        "retry another video": lambda: api.retry(a.api_base_url, 222, timeout=t.timeout),
        "sqs send": lambda: sqs.send_message(QueueUrl=url, MessageBody='{"video_id": 222}'),
        "redis del": lambda: clients.redis_client(r.host, r.port, r.password, r.db, t.timeout).delete(
            "job:encode:222:lock"),
        "sql update": lambda: clients.db_connect(a.database.url, t.timeout).execute(
            "UPDATE video_video SET status = 'FAILED' WHERE id = 222"),
    }


def run(name, attempt, results):
    try:
        attempt()
        results[name] = "ALLOWED"
    except guard.MutationRefused as exc:
        results[name] = str(exc)
    except Exception as exc:
        results[name] = f"ALLOWED? {type(exc).__name__}: {exc}"


def pytest_runtest_call(item):
    if "test_canary_end_to_end" not in item.name:
        return
    target = item.funcargs["target"]
    original = api.retry
    results = {}

    def careless_retry(base_url, video_id, **kw):
        for name, attempt in attempts(target).items():
            run("during: " + name, attempt, results)
        answer = original(base_url, video_id, **kw)  # the canary's own: allowed
        run("during: the same retry again", lambda: original(base_url, video_id, **kw), results)
        with open(os.environ["ROGUE_RESULTS"], "w") as out:
            json.dump(results, out)
        return answer

    api.retry = careless_retry
"""


def _stack(workdir: Path, *, clean_retry: bool) -> Any:
    from reference.stack import Stack

    stack = Stack("embedded", workdir=workdir)
    if clean_retry:
        stack.plan.api_switches["RETRY_CANCEL_TTL"] = "0"  # the rehearsal's API retries without a cancel flag
    return stack


@pytest.fixture(scope="module")
def canary_production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    """A working pipeline with a clean retry: 111 (the canary) and 222 encoded, READY; 222 also holds a lock."""
    with _stack(tmp_path_factory.mktemp("canary"), clean_retry=True) as stack:
        stack.scenario.run()
        stack.scenario.upload(OTHER)
        stack.scenario.complete(OTHER)
        stack.wait_for(lambda: stack.video_status(OTHER) == "READY", 60, "222 READY")
        stack.wait_for(lambda: stack.queue_counts() == {"visible": 0, "in_flight": 0}, 30, "the queue drained")
        stack.redis().set(f"job:encode:{OTHER}:lock", "someone-else", ex=3600)
        stack.prepare_retry(CANARY)  # the real retry wants a FAILED video with its source
        yield Production(
            stack=stack, api_env=dict(stack.api_env), worker_env=dict(stack.worker_env), video_ids=(CANARY, OTHER)
        )


def _about_canary(line: str) -> bool:
    """A snapshot difference that concerns video 111 only: its row, its Redis keys, its HLS objects, its job."""
    marks = (
        rf"video_video\[\d+\]: \({CANARY}, ",
        rf"job:encode:{CANARY}:",
        rf"tenant:1:video:{CANARY}:",
        rf"hls/{CANARY}/",
        rf'"video_id": {CANARY}\b',
    )
    return any(re.search(mark, line) for mark in marks)


def _video_of(message: dict[str, Any]) -> object:
    try:
        return json.loads(str(message.get("body"))).get("video_id")
    except (ValueError, AttributeError):
        return None


def _beyond_canary(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Every change that is not video 111's. moto keeps superseded objects (a deleted message, an overwritten
    key) in its state, so its messages and S3 keys are compared by what they are about; the rest line by line."""
    problems: list[str] = []
    b_msgs = before.get("aws", {}).get("sqs.Message", {})
    a_msgs = after.get("aws", {}).get("sqs.Message", {})
    for key in sorted(set(b_msgs) | set(a_msgs)):
        if b_msgs.get(key) != a_msgs.get(key) and _video_of(a_msgs.get(key) or b_msgs[key]) != CANARY:
            problems.append(f"sqs message {key} of video {_video_of(a_msgs.get(key) or b_msgs[key])} changed")
    b_keys = before.get("r2", {}).get("s3.FakeKey", [])
    a_keys = after.get("r2", {}).get("s3.FakeKey", [])
    for item in b_keys:
        if not _canary_object(str(item.get("name", ""))) and item not in a_keys:
            problems.append(f"R2 object {item.get('name')} changed or went")
    for item in a_keys:
        if item not in b_keys and not _canary_object(str(item.get("name", ""))):
            problems.append(f"R2 object {item.get('name')} appeared")
    rest_before, rest_after = dict(before), dict(after)
    for state in (rest_before, rest_after):
        if "aws" in state:
            state["aws"] = {k: v for k, v in state["aws"].items() if k != "sqs.Message"}
        if "r2" in state:
            state["r2"] = {k: v for k, v in state["r2"].items() if k != "s3.FakeKey"}
    problems += [line for line in differences(rest_before, rest_after) if not _about_canary(line)]
    return problems


def _canary_object(name: str) -> bool:
    """The canary's HLS files, or its source (prepared for the retry, deleted by the worker once READY)."""
    return f"/video/hls/{CANARY}/" in name or "/video/raw/" in name


def _canary_check(run: LiveRun) -> dict[str, Any]:
    found = [c for c in run.checks() if "test_canary_end_to_end" in c["nodeid"]]
    assert len(found) == 1, f"the canary ran {len(found)} times\n{run.tail()}"
    return found[0]


def test_canary_off_never_runs(baselines: dict[str, LiveRun]) -> None:
    for marker, run in baselines.items():
        assert not [c for c in run.checks() if "canary" in c["nodeid"]], marker
        assert "canary_seconds" not in run.verdict["signals"], marker  # type: ignore[index]
        assert "test_c_canary" not in run.output


def test_canary_reencodes_only_its_video(canary_production: Production, tmp_path: Path) -> None:
    stack = canary_production.stack
    (tmp_path / "rogue_canary.py").write_text(ROGUE_PLUGIN, encoding="utf-8")
    results = tmp_path / "rogue.json"
    enqueued_before = stack.api_log_text().count("Video job enqueued")
    received_before = stack.worker_log_text().count("SQS_MESSAGE_RECEIVED")
    before = snapshot(canary_production)
    run = run_live(
        canary_production,
        tmp_path / "run",
        "local",
        extra=["-p", "rogue_canary", "--canary-video-id", str(CANARY), "--canary-timeout", "90"],
        process_env={
            "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
            "ROGUE_RESULTS": str(results),
        },
        timeout=5.0,
        limit=180,
    )
    stack.wait_for(lambda: stack.queue_counts() == {"visible": 0, "in_flight": 0}, 30, "the canary's job deleted")
    after = snapshot(canary_production)
    check = _canary_check(run)
    assert check["outcome"] == "passed", f"{check}\n{run.tail()}"
    signal = run.verdict["signals"]["canary_seconds"]  # type: ignore[index]
    assert signal["state"] in ("ok", "warn") and signal["value"] > 0, signal
    assert stack.video_status(CANARY) == "READY" and stack.video_status(OTHER) == "READY"
    # The only writes: the canary's one retry, and what the pipeline did with it.
    attempted = json.loads(results.read_text())
    assert set(attempted) == {
        "during: retry another video",
        "during: sqs send",
        "during: redis del",
        "during: sql update",
        "during: the same retry again",
    }, attempted
    for name, outcome in attempted.items():
        assert outcome.startswith("runbook guard: the live run is read-only; refused"), (name, outcome)
    assert "refused http POST /media/videos/222/retry/" in attempted["during: retry another video"]
    assert "refused http POST /api/v1/media/videos/111/retry/" in attempted["during: the same retry again"]
    assert differences(before, after), "the canary changed nothing: it did not run"
    beyond = _beyond_canary(before, after)
    assert not beyond, "changed beyond the canary video:\n" + "\n".join(beyond)
    api_log, worker_log = stack.api_log_text(), stack.worker_log_text()
    assert api_log.count("Video job enqueued") == enqueued_before + 1
    assert api_log.rstrip().splitlines()[-1:] and f"Video job enqueued: video_id={CANARY}" in api_log
    new_receipts = worker_log.split("SQS_MESSAGE_RECEIVED")[received_before + 1 :]
    assert len(new_receipts) == 1 and f"video_id={CANARY} " in new_receipts[0].split("\n", 1)[0] + " "


def test_canary_names_its_own_cancel_flag(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """The stand-in API's retry sets job:encode:111:cancel for 300 s: the worker skips the canary's job."""
    with _stack(tmp_path_factory.mktemp("canary-cancel"), clean_retry=False) as stack:
        stack.scenario.run()
        stack.prepare_retry(CANARY)
        prod = Production(
            stack=stack, api_env=dict(stack.api_env), worker_env=dict(stack.worker_env), video_ids=(CANARY,)
        )
        run = run_live(
            prod,
            tmp_path,
            "local",
            extra=["--canary-video-id", str(CANARY), "--canary-timeout", "120"],
            timeout=5.0,
            limit=200,
        )
    check = _canary_check(run)
    assert check["outcome"] == "failed" and check["cause"] == "cancel-requested", f"{check}\n{run.tail()}"
    assert check["layer"] == "stuck-video" and f"tenant:1:video:{CANARY}:cancel_requested" in check["message"]
    assert run.verdict["signals"]["canary_seconds"]["state"] == "unknown"  # type: ignore[index]
    assert run.elapsed < 100, "the skip is read from the worker log, not waited out"


def test_rehearsal_canary_retries_cleanly_and_fails_when_slow(tmp_path: Path) -> None:
    """``pytest --canary-video-id 111``: the rehearsal's API retries without the cancel flag, so the canary
    re-encodes 111; with ``--canary-slow-after 0s`` its figure is over the threshold and it fails with it."""
    import subprocess

    from safety_harness import ROOT, base_env

    verdict = tmp_path / "verdict.json"
    args = pytest_argv(tmp_path, "--backend=embedded", "--canary-video-id=111", "--canary-slow-after=0s")
    proc = subprocess.run(args, cwd=ROOT, env=base_env(), capture_output=True, text=True, timeout=240)
    output = proc.stdout + proc.stderr
    doc = json.loads(verdict.read_text(encoding="utf-8"))
    found = [c for c in doc["checks"] if "test_canary_end_to_end[rehearsal]" in c["nodeid"]]
    assert len(found) == 1 and found[0]["cause"] == "canary-slow", output[-3000:]
    seconds = doc["signals"]["canary_seconds"]["value"]
    message = found[0]["message"]
    assert seconds > 0 and f"{seconds:.0f}s 시점 상태 READY (기준 0s)" in message, found[0]
    assert doc["root_cause"]["cause"] == "canary-slow" and proc.returncode == 1
    assert [c for c in doc["checks"] if c["outcome"] == "failed"] == found  # nothing else judged it


# -- the allowance, without a network ----------------------------------------------------------------------


def test_allowance_lets_exactly_one_request_through(real_redis: redis.Redis) -> None:
    url = "http://127.0.0.1:9/media/videos/111/retry/"
    previous = guard.enable_guard()
    try:
        with pytest.raises(guard.MutationRefused, match="refused http POST /media/videos/111/retry/"):
            guard.check_http("POST", url)  # not without the allowance
        with guard.allow_http_once("POST", url) as allowance:
            guard.check_http("GET", "http://127.0.0.1:9/media/videos/111/progress/")  # reads always pass
            for method, other in (("POST", url.replace("111", "222")), ("DELETE", url), ("PUT", url)):
                with pytest.raises(guard.MutationRefused):
                    guard.check_http(method, other)
            guard.check_http("post", url)  # the one
            with pytest.raises(guard.MutationRefused):
                guard.check_http("POST", url)  # not twice
            with pytest.raises(guard.MutationRefused, match="refused redis DEL"):
                guard.guard_redis(real_redis).delete("job:encode:111:lock")
            with (
                refused_aws_client("sqs") as sqs,
                pytest.raises(guard.MutationRefused, match="refused sqs SendMessage"),
            ):
                sqs.send_message(QueueUrl="http://q/1/jobs", MessageBody="{}")
        assert allowance.used == 1 and allowance.remaining == 0
        with pytest.raises(guard.MutationRefused):
            guard.check_http("POST", url)  # and not after
    finally:
        guard.set_guard(previous)


def test_the_scope_check_sees_other_videos() -> None:
    """``_beyond_canary`` is not vacuous: another video's row, message or object is reported."""
    row = "(222, 1, 'v', 'tenants/1/video/raw/1/x.mp4', 'READY', 3, '', 'tenants/1/video/hls/222/master.m3u8')"
    other, canary = "tenants/1/video/hls/222/master.m3u8", "tenants/1/video/hls/111/v1/a.ts"
    before: dict[str, Any] = {
        "aws": {"sqs.Message": {}},
        "r2": {"s3.FakeKey": [{"name": other, "etag": "a"}]},
        "database": {"video_video": [row]},
    }
    after: dict[str, Any] = {
        "aws": {"sqs.Message": {"m#0": {"body": '{"video_id": 222}'}, "m#1": {"body": '{"video_id": 111}'}}},
        "r2": {"s3.FakeKey": [{"name": other, "etag": "b"}, {"name": canary, "etag": "c"}]},
        "database": {"video_video": [row.replace("'READY'", "'FAILED'")]},
    }
    problems = _beyond_canary(before, after)
    assert len(problems) == 4, problems  # the 222 message, the 222 object (gone and appeared), the 222 row
    assert _beyond_canary(before, before) == []
