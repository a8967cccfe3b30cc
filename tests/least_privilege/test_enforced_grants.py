"""The live suite under exactly the kit's grants, enforced by the platforms themselves.

A healthy stand-in production (the encode flow ran; video 111 READY) whose moto server enforces IAM against the
resources AWS evaluates, whose Redis has the kit's ACL user and whose PostgreSQL has the kit's role. The live suite
runs as an operator runs it, with the API's environment but these identities (``grants.Grants.env``), once per
deployment marker: ``local`` (reading the API's log from CloudWatch Logs, so that ``logs:FilterLogEvents`` is used)
and ``asg`` (부록 B: Auto Scaling, EC2, Lambda, EventBridge, alarms; the worker's environment from SSM, boot
output and the opt-in fleet logs per instance).

- Under the kit: healthy, every layer judged ``ok``, nothing refused (no permission missing, an empty ACL LOG).
- Every write the guard refuses is refused by the platform too, tried directly with the same credentials.
- Any one permission taken away (each IAM action of the policy file, each Redis command of the ACL line, each
  table grant the stand-in has): no check fails, and the run names what it lacks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from grants import Grants, Identity, enforced_stack
from live_run import LiveRun, run_live
from permission_kit import KIT_USER, acl_commands, granted_tables, policy, policy_actions, without_action

from fixtures.options import OPTIONS

pytestmark = pytest.mark.timeout(900)

MARKERS = ("local", "asg")
API_LOG_GROUP = "/academy/api"
#: The local run reads the API's log from CloudWatch Logs (the stand-in's lines, copied there). The asg run is
#: production's ASG: the worker's environment from the SSM parameter (no env file), its logs from each instance
#: through SSM Run Command (the opt-in statement of the policy).
EXTRA = {"local": ("--api-log", f"cloudwatch:{API_LOG_GROUP}"), "asg": ("--asg-logs", "ssm")}
WORKER_ENV_FILE = {"local": True, "asg": None}
#: Redis commands a healthy stand-in run may not send, and why (their removal must still fault nothing).
REDIS_CONDITIONAL = {
    "select": "sent only when REDIS_DB is not 0",
    "client|setinfo": "redis-py labels its connection and ignores a refusal",
}


@dataclass
class Enforced:
    stack: Any
    grants: Grants
    kit: Identity
    runs: dict[str, LiveRun]
    workdir: Path

    def run(self, who: Identity, marker: str, tag: str) -> LiveRun:
        return run_live(
            self.stack,
            self.workdir / tag / marker,
            marker,
            env=self.grants.env(who),
            worker_env_file=WORKER_ENV_FILE[marker],
            extra=EXTRA[marker],
        )


def _copy_api_log_to_cloudwatch(stack: Any) -> None:
    logs = stack.aws.client("logs")
    logs.create_log_group(logGroupName=API_LOG_GROUP)
    logs.create_log_stream(logGroupName=API_LOG_GROUP, logStreamName="api")
    lines = [line for line in Path(stack.api_log).read_text(encoding="utf-8").splitlines() if line.strip()]
    now = int(time.time() * 1000) - len(lines)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(logGroupName=API_LOG_GROUP, logStreamName="api", logEvents=events)


def _plant_cancel_flag(stack: Any) -> None:
    """A cancel flag on READY video 111 (harmless there: nothing is waiting): the run then sends PTTL."""
    template = next(default for name, default, _ in OPTIONS if name == "--cancel-key")
    key = template.replace("{tenant}", "1").replace("{id}", str(stack.scenario.videos[0]))
    stack.redis().set(key, "1", ex=3600)


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Enforced]:
    workdir = tmp_path_factory.mktemp("enforced")
    with enforced_stack(workdir) as stack:
        _copy_api_log_to_cloudwatch(stack)
        _plant_cancel_flag(stack)
        grants = Grants(stack)
        kit = grants.identity(KIT_USER, policy())
        state = Enforced(stack, grants, kit, {}, workdir)
        state.runs = {marker: state.run(kit, marker, "kit") for marker in MARKERS}
        yield state


@pytest.mark.parametrize("marker", MARKERS)
def test_every_layer_is_judged_under_the_kit(enforced: Enforced, marker: str) -> None:
    run = enforced.runs[marker]
    verdict = run.verdict
    not_passed = [f"{c['outcome']} {c['nodeid']}: {c['message']}" for c in run.checks() if c["outcome"] != "passed"]
    assert verdict["healthy"] and not not_passed, "\n".join(not_passed) or run.tail()
    assert set(verdict["layers"].values()) == {"ok"}, verdict["layers"]
    assert verdict["permissions_missing"] == [], verdict["permissions_missing"]
    assert enforced.grants.acl_log(KIT_USER) == [], "Redis refused the kit's user something"
    if marker == "local":
        # judged from the CloudWatch copy of the API's log (that logs:FilterLogEvents is what it took: below)
        assert verdict["layers"]["api-enqueue"] == "ok"
    else:
        assert verdict["layers"]["autoscaling"] == "ok"


def _named(run: LiveRun, permission: str) -> bool:
    """The run names ``permission``: in verdict.json's ``permissions_missing`` or in a check's message."""
    verdict = run.verdict
    listed = [row["permission"] for row in verdict["permissions_missing"]]
    return any(permission in p for p in listed) or any(permission in c["message"] for c in run.checks())


def _problems(run: LiveRun, baseline: LiveRun, permission: str, *, must_name: bool = True) -> list[str]:
    """What is wrong with a run that lacks ``permission``: a traceback, a failed check (a false fault: the
    full grant's run has none), a check that no longer passes without naming the permission, or, when the
    lack mattered (or ``must_name``), no mention of it at all."""
    if "verdict.json" not in run.files:
        return [f"no verdict: {run.tail()}"]
    problems = [f"traceback: {run.tail()}"] if "Traceback" in run.output else []
    before = {c["nodeid"]: c["outcome"] for c in baseline.checks()}
    lost = False
    for check in run.checks():
        if check["outcome"] in ("failed", "error"):
            problems.append(f"false fault {check['nodeid']} {check['cause']}: {check['message']}")
        elif before.get(check["nodeid"]) == "passed" and check["outcome"] != "passed":
            lost = True
            if permission not in check["message"]:
                problems.append(f"{check['nodeid']} {check['outcome']} without naming {permission}: {check['message']}")
    if "fail" in run.verdict["layers"].values():
        problems.append(f"a layer failed: {run.verdict['layers']}")
    if (must_name or lost) and not _named(run, permission):
        problems.append(f"{permission} named nowhere (permissions_missing: {run.verdict['permissions_missing']})")
    return problems


@pytest.mark.parametrize("action", policy_actions())
def test_without_one_iam_action_the_run_names_it(enforced: Enforced, action: str) -> None:
    name = f"minus-{action.replace(':', '-').lower()}"
    who = enforced.grants.identity(name, without_action(policy(), action))
    runs = {marker: enforced.run(who, marker, name) for marker in MARKERS}
    problems = [
        f"[{marker}] {problem}"
        for marker, run in runs.items()
        for problem in _problems(run, enforced.runs[marker], action, must_name=False)
    ]
    assert not problems, "\n".join(problems)
    # Every action of the policy is used by one of the two runs: taken away, that run lists it (and any check
    # that could not judge without it says so, above), even where no check needed that evidence this time.
    listed = {row["permission"] for run in runs.values() for row in run.verdict["permissions_missing"]}
    assert action in listed, f"{action} was never refused ({listed}): is it needed?"


@pytest.mark.parametrize("command", acl_commands())
def test_without_one_redis_command_the_run_names_it(enforced: Enforced, command: str) -> None:
    name = f"minus-redis-{command.replace('|', '-')}"
    who = enforced.grants.identity(name, policy(), drop_command=command)
    run = enforced.run(who, "local", name)
    refused = {entry["object"] for entry in enforced.grants.acl_log(name) if entry["reason"] == "command"}
    conditional = command in REDIS_CONDITIONAL
    problems = _problems(run, enforced.runs["local"], f"+{command}", must_name=not conditional)
    assert not problems, "\n".join(problems)
    if not conditional:
        assert command in refused, f"Redis never refused {command}: the run does not send it ({refused})"


@pytest.mark.parametrize("table", granted_tables())
def test_without_one_table_grant_the_run_names_it(enforced: Enforced, table: str) -> None:
    name = f"minus_{table}"
    who = enforced.grants.identity(name.replace("_", "-"), policy(), drop_table=table)
    run = enforced.run(who, "local", name)
    problems = _problems(run, enforced.runs["local"], f"SELECT ON {table}")
    assert not problems, "\n".join(problems)


#: Writes the guard refuses (a mutating remediation, a careless check): (client, method, parameters).
AWS_WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("sqs", "receive_message", {"QueueUrl": "<queue>"}),
    ("sqs", "delete_message", {"QueueUrl": "<queue>", "ReceiptHandle": "AQEB-not-a-handle"}),
    ("sqs", "change_message_visibility", {"QueueUrl": "<queue>", "ReceiptHandle": "AQEB-x", "VisibilityTimeout": 0}),
    ("sqs", "send_message", {"QueueUrl": "<queue>", "MessageBody": '{"video_id": 111}'}),
    ("sqs", "purge_queue", {"QueueUrl": "<queue>"}),
    ("sqs", "set_queue_attributes", {"QueueUrl": "<queue>", "Attributes": {"VisibilityTimeout": "0"}}),
    ("autoscaling", "set_desired_capacity", {"AutoScalingGroupName": "<asg>", "DesiredCapacity": 0}),
    ("autoscaling", "update_auto_scaling_group", {"AutoScalingGroupName": "<asg>", "MaxSize": 1}),
    ("ec2", "terminate_instances", {"InstanceIds": ["i-0123456789abcdef0"]}),
    ("lambda", "invoke", {"FunctionName": "<function>", "Payload": b"{}"}),
    ("lambda", "update_function_configuration", {"FunctionName": "<function>", "Timeout": 1}),
    ("events", "disable_rule", {"Name": "<rule>"}),
    ("events", "put_rule", {"Name": "<rule>", "ScheduleExpression": "rate(5 minutes)"}),
    ("cloudwatch", "put_metric_data", {"Namespace": "AWS/SQS", "MetricData": [{"MetricName": "m", "Value": 1}]}),
    ("logs", "delete_log_group", {"logGroupName": API_LOG_GROUP}),
]
REDIS_WRITES: list[tuple[str, ...]] = [
    ("SET", "<lock>", "1"),
    ("SET", "<cancel>", "1", "EX", "300"),
    ("DEL", "<cancel>"),
    ("UNLINK", "<cancel>"),
    ("EXPIRE", "<cancel>", "1"),
    ("PERSIST", "<cancel>"),
    ("HSET", "<lock>", "a", "1"),
    ("FLUSHDB",),
    ("FLUSHALL",),
    ("CONFIG", "SET", "maxmemory", "1"),
]
SQL_WRITES: list[str] = [
    "UPDATE video_video SET status = 'UPLOADED' WHERE id = 111",
    "DELETE FROM video_video WHERE id = 111",
    "INSERT INTO video_video (id, status) VALUES (999999, 'UPLOADED')",
    "TRUNCATE video_video",
    "DROP TABLE video_video",
    "CREATE TABLE runbook_scratch (x integer)",
    "SELECT id FROM video_video WHERE id = 111 FOR UPDATE",
]


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value.strip("<>"), value) if value.startswith("<") and value.endswith(">") else value
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def test_the_platform_refuses_what_the_guard_refuses(enforced: Enforced) -> None:
    """Every write the read-only guard refuses in-process, sent directly (guard off) with the kit's credentials,
    is refused by AWS (moto), Redis and PostgreSQL themselves, and nothing changed."""
    import boto3
    import psycopg
    import redis

    from reference.stack import aws as awsmod
    from runbook import guard
    from runbook.probes.errors import from_boto, from_db, from_redis

    assert not guard.guard_enabled(), "the guard must be off here: the platform alone is being tested"
    stack, kit = enforced.stack, enforced.kit
    names = {
        "queue": stack.aws.queue_url,
        "asg": awsmod.ASG_NAME,
        "function": awsmod.LAMBDA_NAME,
        "rule": awsmod.RULE_NAME,
    }
    before = (stack.queue_counts(), stack.aws.asg()["DesiredCapacity"], stack.aws.scaler_target())
    let_through: list[str] = []
    for service, method, params in AWS_WRITES:
        client = boto3.client(
            service,
            endpoint_url=stack.aws.url,
            region_name=awsmod.REGION,
            aws_access_key_id=kit.aws_key,
            aws_secret_access_key=kit.aws_secret,
        )
        operation = client.meta.method_to_api_mapping[method]
        assert not guard.aws_operation_is_read(operation), f"the guard would let {operation} through"
        try:
            getattr(client, method)(**_fill(params, names))
        except Exception as exc:
            error = from_boto(exc, service, service=service)
            if error.kind != "denied":
                let_through.append(f"{service} {operation}: {error}")
        else:
            let_through.append(f"{service} {operation}: accepted")
    assert not let_through, "AWS accepted (or failed otherwise than denied):\n" + "\n".join(let_through)
    assert (stack.queue_counts(), stack.aws.asg()["DesiredCapacity"], stack.aws.scaler_target()) == before

    video = stack.scenario.videos[0]
    template = {name: default for name, default, _ in OPTIONS}
    keys = {
        "lock": template["--lock-key"].replace("{id}", str(video)),
        "cancel": template["--cancel-key"].replace("{tenant}", "1").replace("{id}", str(video)),
    }
    admin = stack.redis_service.client(0)
    redis_before = {key: (admin.get(key), admin.pttl(key) > 0) for key in keys.values()}
    client = redis.Redis(
        host=stack.redis_service.host,
        port=stack.redis_service.port,
        username=kit.redis_user,
        password=kit.redis_password,
        socket_timeout=5,
    )
    for command in REDIS_WRITES:
        args = tuple(_fill(word, keys) for word in command)
        assert not guard.redis_command_is_read(args), f"the guard would let {args[0]} through"
        with pytest.raises(redis.exceptions.RedisError) as refused:
            client.execute_command(*args)
        assert from_redis(refused.value).kind == "denied", f"{args}: {refused.value}"
    client.close()
    assert {key: (admin.get(key), admin.pttl(key) > 0) for key in keys.values()} == redis_before
    admin.close()

    database = stack.database
    url = f"postgresql://{kit.db_role}:{kit.db_password}@{database.host}:{database.port}/{database.dbname}"
    with database.connect() as owner:
        rows_before = owner.execute("SELECT id, status FROM video_video ORDER BY id")
    for statement in SQL_WRITES:
        assert not guard.sql_is_read(statement), f"the guard would let {statement!r} through"
        # as the role connects (default_transaction_read_only), and after switching read-only off for the session
        for prelude in (None, "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"):
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                if prelude:
                    conn.execute(prelude)
                with pytest.raises(psycopg.Error) as refused:
                    conn.execute(statement)  # type: ignore[call-overload]
                assert from_db(refused.value).kind == "denied", f"{statement}: {refused.value}"
    with database.connect() as owner:
        assert owner.execute("SELECT id, status FROM video_video ORDER BY id") == rows_before


def test_reads_outside_the_named_resources_are_refused(enforced: Enforced) -> None:
    """The policy is scoped: the same reads on a queue, function, rule or log group it does not name are refused
    (and granted to the stack's admin, so the resources exist)."""
    import boto3

    from reference.stack import aws as awsmod
    from runbook.probes.errors import from_boto

    stack, kit = enforced.stack, enforced.kit
    admin = stack.aws.client
    other_queue = admin("sqs").create_queue(QueueName="academy-other-jobs")["QueueUrl"]
    role = admin("iam").get_role(RoleName=awsmod.LAMBDA_ROLE)["Role"]["Arn"]
    admin("lambda").create_function(
        FunctionName="academy-other-function",
        Runtime="python3.11",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": stack.aws.scaler_zip()},
        Environment={"Variables": {"TOKEN": "other-function-token"}},
    )
    admin("events").put_rule(Name="academy-other-rule", ScheduleExpression="rate(1 minute)")
    admin("logs").create_log_group(logGroupName="/other/group")
    reads = [
        ("sqs", "get_queue_attributes", {"QueueUrl": other_queue, "AttributeNames": ["All"]}),
        ("sqs", "get_queue_url", {"QueueName": "academy-other-jobs"}),
        ("lambda", "get_function_configuration", {"FunctionName": "academy-other-function"}),
        ("events", "describe_rule", {"Name": "academy-other-rule"}),
        ("events", "list_targets_by_rule", {"Rule": "academy-other-rule"}),
        ("logs", "filter_log_events", {"logGroupName": "/other/group"}),
    ]
    answered = []
    for service, method, params in reads:
        client = boto3.client(
            service,
            endpoint_url=stack.aws.url,
            region_name=awsmod.REGION,
            aws_access_key_id=kit.aws_key,
            aws_secret_access_key=kit.aws_secret,
        )
        try:
            getattr(client, method)(**params)
        except Exception as exc:
            error = from_boto(exc, service, service=service)
            if error.kind != "denied":
                answered.append(f"{service} {method}: {error}")
        else:
            answered.append(f"{service} {method}: answered")
    assert not answered, "outside the named resources:\n" + "\n".join(answered)
