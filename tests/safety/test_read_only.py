"""Proof 1 — read-only: a live run changes nothing it can see, and a check that tries is stopped.

1. Snapshot everything the live run can see on its target (every SQS message of the queue and the DLQ with
   body, receive count and visibility; every Redis key with its value and expiry; the video rows; the bucket's
   objects; the ASG with its sizes and instances; the Lambda and the rule), run the whole live suite (the
   ``local``, ``asg`` and ``docker`` markers, with video ids), snapshot again: identical.
2. The guard (``runbook.guard``): a live run with a "future check" that calls the suite's own clients to
   receive, purge, send, scale, invoke, disable a rule, delete a lock, expire a key, write a row. Every one is
   refused before it leaves (``MutationRefused`` fails that check, naming the operation) and the snapshot is
   still identical. The allow-lists themselves are checked without a network below.
"""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from blackhole import refused_aws_client, refused_port
from safety_harness import IN_FLIGHT_VIDEO, Production, differences, run_live, snapshot

from runbook import clients, guard

pytestmark = pytest.mark.timeout(300)

#: A careless future check, as a plugin: before some checks run, it "fixes" production through the very
#: client builders the suite uses (``runbook.clients``), as a check calling a client directly would.
ROGUE_PLUGIN = """
import pytest
from runbook import clients


def aws(t, service):
    a = t.api
    return clients.aws_client(service, region=a.region, access_key=a.aws_access_key, secret_key=a.aws_secret_key,
                              endpoint_url=a.aws_endpoint_url, timeout=t.timeout)


def queue(t, name):
    sqs = aws(t, "sqs")
    return sqs, sqs.get_queue_url(QueueName=name)["QueueUrl"]


def redis(t):
    r = t.api.redis
    return clients.redis_client(r.host, r.port, r.password, r.db, t.timeout)


def receive(t):
    sqs, url = queue(t, t.api.queue_name)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)


def purge_dlq(t):
    sqs, url = queue(t, t.api.queue_name + "-dlq")
    sqs.purge_queue(QueueUrl=url)


def send(t):
    sqs, url = queue(t, t.api.queue_name)
    sqs.send_message(QueueUrl=url, MessageBody='{"video_id": 222}')


def pipeline(t):
    redis(t).pipeline(transaction=False).get("job:encode:111:progress").set("job:encode:111:progress", "{}").execute()


ATTEMPTS = {
    "test_queue_reachable[live-api]": receive,
    "test_dlq_empty[live]": purge_dlq,
    "test_same_queue[live]": send,
    "test_asg_max_size[live]": lambda t: aws(t, "autoscaling").set_desired_capacity(
        AutoScalingGroupName=t.asg_name, DesiredCapacity=0),
    "test_scaler_lambda[live]": lambda t: aws(t, "lambda").invoke(FunctionName=t.scaler_lambda, InvocationType="DryRun"),
    "test_scaler_rule[live]": lambda t: aws(t, "events").disable_rule(Name=t.scaler_rule),
    "test_stuck_video[live-222]": lambda t: redis(t).delete("job:encode:222:lock"),
    "test_redis_reachable[live-api]": lambda t: redis(t).expire("job:encode:111:progress", 5),
    "test_same_redis[live]": pipeline,
    "test_same_database[live]": lambda t: clients.db_connect(t.api.database.url, t.timeout).execute(
        "UPDATE video_video SET status = 'READY' WHERE id = 222"),
}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    attempt = ATTEMPTS.get(item.name)
    if attempt is not None:
        attempt(item.funcargs["target"])
"""

#: What the guard must name for each attempt above.
REFUSED = {
    "test_queue_reachable[live-api]": "refused sqs ReceiveMessage",
    "test_dlq_empty[live]": "refused sqs PurgeQueue",
    "test_same_queue[live]": "refused sqs SendMessage",
    "test_asg_max_size[live]": "refused autoscaling SetDesiredCapacity",
    "test_scaler_lambda[live]": "refused lambda Invoke",
    "test_scaler_rule[live]": "refused events DisableRule",
    "test_stuck_video[live-222]": "refused redis DEL",
    "test_redis_reachable[live-api]": "refused redis EXPIRE",
    "test_same_redis[live]": "refused redis SET",
    "test_same_database[live]": "refused database UPDATE VIDEO_VIDEO",
}


def _sees_everything(state: dict[str, Any]) -> None:
    """The snapshot is not vacuous: it holds what a careless live run could change."""
    messages = list(state["aws"].get("sqs.Message", {}).values())
    receive_counts = {m["body"]: m["approximate_receive_count"] for m in messages}
    assert any('"video_id": 222' in body and count == 0 for body, count in receive_counts.items()), messages
    assert any(f'"video_id": {IN_FLIGHT_VIDEO}' in body and count == 1 for body, count in receive_counts.items())
    assert any('"video_id": 444' in body for body in receive_counts), "no DLQ message"
    assert state["aws"].get("autoscaling.FakeAutoScalingGroup") and state["aws"].get("ec2.Instance")
    assert state["aws"].get("awslambda.LambdaFunction") and state["aws"].get("events.Rule")
    assert any(key.endswith(":lock") and v["expiry"] > 0 for key, v in state["redis"].items()), state["redis"]
    assert any(key.endswith(":progress") for key in state["redis"]), state["redis"]
    assert len(state["database"].get("video_video", [])) >= 3, state["database"]
    assert state["r2.objects"], "no objects in the bucket"


def test_live_suite_changes_nothing(production: Production, tmp_path: Path) -> None:
    before = snapshot(production)
    _sees_everything(before)
    markers = ("local", "asg", "docker")
    with ThreadPoolExecutor(len(markers)) as pool:
        runs = list(pool.map(lambda m: run_live(production, tmp_path / m, m), markers))
    after = snapshot(production)
    for marker, run in zip(markers, runs, strict=True):
        assert run.verdict is not None, f"{marker}: {run.tail()}"
        errors = [c for c in run.checks() if c["outcome"] == "error"]
        assert not errors and "MutationRefused" not in run.output, f"{marker}: {errors}\n{run.tail()}"
        assert {"sqs.api", "sqs.dlq", "redis.api", "videos.rows", "videos.keys"} <= set(
            run.verdict.get("evidence_seconds", {})
        ), f"{marker}: the probes did not run"
    changed = differences(before, after)
    assert not changed, "the live run changed production:\n" + "\n".join(changed)


def test_guard_stops_a_check_that_mutates(production: Production, tmp_path: Path) -> None:
    (tmp_path / "rogue_check.py").write_text(ROGUE_PLUGIN, encoding="utf-8")
    before = snapshot(production)
    run = run_live(
        production,
        tmp_path / "run",
        "asg",
        extra=["-p", "rogue_check"],
        process_env={"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])},
    )
    after = snapshot(production)
    assert run.verdict is not None, run.tail()
    outcomes = {c["nodeid"].split("::", 1)[1]: c for c in run.checks()}
    for check, refusal in REFUSED.items():
        result = outcomes.get(check)
        assert result is not None, f"{check} did not run: {sorted(outcomes)}"
        assert result["outcome"] == "error" and refusal in result["message"], (check, result)
        assert result["message"].startswith("runbook.guard.MutationRefused"), (check, result)
        assert refusal in run.output, f"{check}: '{refusal}' not reported\n{run.tail()}"
    changed = differences(before, after)
    assert not changed, "a mutating check got through:\n" + "\n".join(changed)


# -- the allow-lists, without a network ---------------------------------------------------------------------


@pytest.fixture
def guard_on() -> Any:
    previous = guard.enable_guard()
    yield
    guard.set_guard(previous)


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("sqs", "receive_message", {"QueueUrl": "http://q/1/jobs"}),
        ("sqs", "delete_message", {"QueueUrl": "http://q/1/jobs", "ReceiptHandle": "r"}),
        (
            "sqs",
            "change_message_visibility",
            {"QueueUrl": "http://q/1/jobs", "ReceiptHandle": "r", "VisibilityTimeout": 0},
        ),
        ("sqs", "purge_queue", {"QueueUrl": "http://q/1/jobs"}),
        ("sqs", "send_message", {"QueueUrl": "http://q/1/jobs", "MessageBody": "{}"}),
        ("autoscaling", "set_desired_capacity", {"AutoScalingGroupName": "g", "DesiredCapacity": 0}),
        ("autoscaling", "update_auto_scaling_group", {"AutoScalingGroupName": "g", "MaxSize": 1}),
        ("lambda", "invoke", {"FunctionName": "f"}),
        ("lambda", "put_function_concurrency", {"FunctionName": "f", "ReservedConcurrentExecutions": 0}),
        ("events", "put_rule", {"Name": "r", "ScheduleExpression": "rate(1 minute)"}),
        ("events", "disable_rule", {"Name": "r"}),
        ("s3", "put_object", {"Bucket": "academy-video", "Key": "k", "Body": b""}),
        ("s3", "delete_object", {"Bucket": "academy-video", "Key": "k"}),
    ],
)
def test_guard_refuses_aws_writes_before_sending(
    guard_on: None, service: str, operation: str, params: dict[str, Any]
) -> None:
    with (
        refused_aws_client(service) as client,
        pytest.raises(guard.MutationRefused, match=f"refused {client.meta.service_model.service_name} "),
    ):
        getattr(client, operation)(**params)


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("sqs", "get_queue_url", {"QueueName": "academy-video-jobs"}),
        ("sqs", "get_queue_attributes", {"QueueUrl": "http://q/1/jobs", "AttributeNames": ["All"]}),
        ("sts", "get_caller_identity", {}),
        ("autoscaling", "describe_auto_scaling_groups", {}),
        ("lambda", "get_function_configuration", {"FunctionName": "f"}),
        ("events", "list_targets_by_rule", {"Rule": "r"}),
        ("s3", "head_bucket", {"Bucket": "academy-video"}),
        ("s3", "list_objects_v2", {"Bucket": "academy-video"}),
        ("logs", "filter_log_events", {"logGroupName": "g"}),
    ],
)
def test_guard_lets_reads_through(guard_on: None, service: str, operation: str, params: dict[str, Any]) -> None:
    with refused_aws_client(service) as client:
        with pytest.raises(Exception) as raised:  # the refused port answers, not the guard
            getattr(client, operation)(**params)
        assert "EndpointConnectionError" in type(raised.value).__name__, raised.value


def test_guard_refuses_redis_writes_also_in_pipelines(guard_on: None, real_redis: redis.Redis) -> None:
    r = guard.guard_redis(real_redis)
    assert r.get("job:encode:1:lock") is None and r.pttl("job:encode:1:lock") == -2
    for write in (
        lambda: r.set("k", "v"),
        lambda: r.delete("k"),
        lambda: r.expire("k", 5),
        lambda: r.persist("k"),
        lambda: r.flushdb(),
        lambda: r.config_set("maxmemory", "1"),
        lambda: r.keys("*"),
        lambda: r.pipeline(transaction=False).get("k").hset("h", "f", "v").execute(),
    ):
        with pytest.raises(guard.MutationRefused, match="refused redis"):
            write()


def test_guard_refuses_sql_writes(guard_on: None, tmp_path: Path) -> None:
    path = tmp_path / "academy.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE video_video (id INTEGER PRIMARY KEY, status TEXT)")
        setup.execute("INSERT INTO video_video VALUES (222, 'UPLOADED')")
    conn = clients.db_connect(f"sqlite:///{path}", 1.0)
    assert conn.execute('SELECT "status" FROM "video_video" WHERE "id" = ?', (222,)).fetchall() == [("UPLOADED",)]
    for statement in (
        "UPDATE video_video SET status = 'READY'",
        "DELETE FROM video_video",
        "INSERT INTO video_video VALUES (1, 'x')",
        "DROP TABLE video_video",
        "SELECT 1; DELETE FROM video_video",
        "WITH d AS (DELETE FROM video_video RETURNING id) SELECT 1",
        "PRAGMA query_only = OFF",
    ):
        with pytest.raises(guard.MutationRefused, match="refused database"):
            conn.execute(statement)
    for read in ("SELECT * INTO t FROM video_video", "SELECT id FROM video_video FOR UPDATE"):
        assert not guard.sql_is_read(read), read
    conn.close()


def test_guard_refuses_docker_writes(guard_on: None) -> None:
    docker = pytest.importorskip("docker")
    with refused_port() as port:
        client = guard.guard_docker(docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", version="1.41", timeout=1))
        for write in (
            lambda: client.api.stop("academy-video-worker"),
            lambda: client.api.restart("w"),
            lambda: client.api.exec_create("w", "ls"),
            lambda: client.api.remove_container("w"),
        ):
            with pytest.raises(guard.MutationRefused, match=r"refused docker (POST|DELETE)"):
                write()
        with pytest.raises(Exception) as raised:
            client.api.containers(all=True)
        assert not isinstance(raised.value, guard.MutationRefused)


def test_guard_is_off_unless_enabled(real_redis: redis.Redis) -> None:
    """Self-tests set up emulated state with the same builders; only a live (or rehearsal) run enables it."""
    previous = guard.disable_guard()
    try:
        r = guard.guard_redis(real_redis)
        assert r.set("k", "v") and r.get("k") == b"v"
    finally:
        guard.set_guard(previous)
