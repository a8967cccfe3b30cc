"""The fleet's worker logs: the guard's one door for Run Command, the answers read, the instances merged, and the
probe against a real moto server with the stack's fleet stand-in behind it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reference.stack import fleet_standin
from runbook import guard
from runbook.clients import aws_client
from runbook.fleet.command import DOCUMENT, EXECUTION_TIMEOUT, logs_command, read_answer
from runbook.fleet.merge import config_error_after_start, merge
from runbook.guard_commands import allow_run_command
from runbook.logs import EventKind, Stage, summarize
from runbook.probes.run_command import send_logs_command
from tests.safety.blackhole import refused_aws_client

pytestmark = pytest.mark.timeout(60)

NAME = "academy-video-worker"
COMMAND = logs_command(NAME, 7200)
PS = (
    "CONTAINER ID   IMAGE                 COMMAND                  CREATED       STATUS        PORTS     NAMES\n"
    'c0ffee123456   academy-video-worker   "python -m apps.work…"   2 hours ago   Up 2 hours              '
    "academy-video-worker\n"
)


def line(ts: str, text: str) -> str:
    """``docker logs --timestamps``: Docker's write time, then the worker's own line (KST, naive)."""
    return f"2026-02-20T{ts}.123456789Z 2026-02-20 14:{ts[3:]},123 [INFO] [VIDEO-WORKER-SQS] {text}"


# --- the guard's door ---------------------------------------------------------------------------------------


def _params(command: str = COMMAND, ids: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "DocumentName": DOCUMENT,
        "InstanceIds": ids or ["i-0a1"],
        "Parameters": {"commands": [command], "executionTimeout": [str(EXECUTION_TIMEOUT)]},
        "TimeoutSeconds": 30,
        **extra,
    }


@pytest.fixture
def guard_on() -> Iterator[None]:
    with guard.guarded():
        yield


def test_guard_refuses_send_command_without_the_allowance(guard_on: None) -> None:
    with refused_aws_client("ssm") as ssm, pytest.raises(guard.MutationRefused, match="SendCommand"):
        ssm.send_command(**_params())


@pytest.mark.parametrize(
    "params",
    [
        _params("docker rm -f academy-video-worker"),
        _params(COMMAND + "; reboot"),
        _params(ids=["i-0a1", "i-0b2"]),
        _params(OutputS3BucketName="somewhere"),
        {**_params(), "DocumentName": "AWS-RunPowerShellScript"},
    ],
    ids=["other-command", "appended-command", "other-instance", "output-to-s3", "other-document"],
)
def test_guard_lets_exactly_the_allowed_command_through(guard_on: None, params: dict[str, Any]) -> None:
    with refused_aws_client("ssm") as ssm, allow_run_command(DOCUMENT, [COMMAND], ["i-0a1"], EXECUTION_TIMEOUT):
        with pytest.raises(guard.MutationRefused):
            ssm.send_command(**params)
        with pytest.raises(Exception) as passed:  # the allowed one reaches the (refused) network
            ssm.send_command(**_params())
        assert "EndpointConnectionError" in type(passed.value).__name__
        with pytest.raises(guard.MutationRefused):  # once
            ssm.send_command(**_params())
        with pytest.raises(guard.MutationRefused):
            ssm.cancel_command(CommandId="c")


# --- reading one answer -------------------------------------------------------------------------------------


def test_answer_with_container_and_log() -> None:
    stdout = PS + "\n".join([line("05:03:08", "Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20s"),
                             line("05:03:11", "SQS_MESSAGE_RECEIVED | request_id=ab | video_id=111 | tenant_id=1")])  # fmt: skip
    log = read_answer("i-0a1", "Success", stdout + "\n", "", NAME)
    assert log.container is not None and log.container.up and log.summary is not None
    assert log.summary.timelines[111].stage == Stage.RECEIVED and log.summary.started == 1
    assert log.summary.last_ts == datetime(2026, 2, 20, 5, 3, 11, 123456, tzinfo=UTC)  # Docker's UTC time
    assert not log.truncated and not log.error


def test_answer_without_container_or_docker() -> None:
    header = PS.split("\n")[0] + "\n"
    gone = read_answer("i-0a1", "Success", header, "", NAME)
    assert gone.container is not None and gone.container.state == "absent" and gone.summary is not None
    daemon = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
    down = read_answer("i-0a1", "Success", daemon, "", NAME)
    assert down.summary is None and "Cannot connect" in down.error
    late = read_answer("i-0a1", "no-answer", "", "", NAME)
    assert late.summary is None and late.error == "no-answer"


def test_a_full_answer_drops_its_cut_first_line() -> None:
    body = "\n".join(line("05:03:11", f"SQS_MESSAGE_RECEIVED | video_id={vid} | x") for vid in range(1, 400))
    log = read_answer("i-0a1", "Success", PS + body[-22_000:], "", NAME)
    assert log.truncated and log.summary is not None and 399 in log.summary.timelines


# --- the fleet, merged --------------------------------------------------------------------------------------


def test_merge_keeps_each_instance_apart_and_names_the_owner() -> None:
    a = summarize([line("05:00:00", "Video Worker (SQS) started | queue=q"),
                   line("05:01:00", "SQS_MESSAGE_RECEIVED | request_id=1 | video_id=111 | tenant_id=1"),
                   line("05:01:01", "[HANDLER] Lock acquisition failed, skipping")], source="a")  # fmt: skip
    b = summarize([line("05:00:00", "Video Worker (SQS) started | queue=q"),
                   line("05:02:00", "SQS_MESSAGE_RECEIVED | request_id=2 | video_id=111 | tenant_id=1"),
                   line("05:02:30", "SQS_JOB_COMPLETED | request_id=2 | video_id=111")], source="b")  # fmt: skip
    c = summarize([line("05:00:00", "config error: Missing required env: API_BASE_URL")], source="c")
    merged, owner = merge({"i-a": a, "i-b": b})
    assert merged.timelines[111].stage == Stage.COMPLETED and merged.timelines[111].received == 2
    assert owner[111] == "i-b" and merged.started == 2 and not config_error_after_start(merged)
    # One instance whose worker never started makes the fleet's start-log check see a config error last.
    for order in ({"i-c": c, "i-a": a, "i-b": b}, {"i-a": a, "i-b": b, "i-z": c}):
        broken, _ = merge(order)
        assert config_error_after_start(broken) and broken.config_variables == ("API_BASE_URL",)
        assert broken.counts[EventKind.STARTED] == 2


# --- the probe against moto, the stand-in answering ---------------------------------------------------------


@pytest.fixture
def fleet_dir(tmp_path: Path, moto_url: str) -> Iterator[Path]:
    """The fleet stand-in installed in this process's moto server, pointed at ``tmp_path``."""
    fleet_standin.install()
    fleet_standin.set_dir(str(tmp_path))
    yield tmp_path
    fleet_standin.set_dir(None)


@pytest.mark.usefixtures("moto_reset")
def test_probe_sends_one_command_per_instance_and_reads_answers(fleet_dir: Path, moto_url: str) -> None:
    ec2 = aws_client("ec2", region="ap-northeast-2", access_key="t", secret_key="t", endpoint_url=moto_url, timeout=20)
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=3, MaxCount=3)["Instances"]]
    up, empty, unmanaged = ids
    (fleet_dir / up).mkdir()
    log = fleet_dir / up / "container.log"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    text = "SQS_MESSAGE_RECEIVED | request_id=1 | video_id=333 | tenant_id=1\nprogress 57%\n"
    log.write_text("".join(json.dumps({"log": t + "\n", "stream": "stderr", "time": now}) + "\n"
                           for t in text.splitlines()))  # fmt: skip
    state = {"name": NAME, "state": "running", "pid": None, "log": str(log), "format": "json-file", "started": now}
    (fleet_dir / up / "container.json").write_text(json.dumps(state).replace('"pid": null, ', ""))
    (fleet_dir / empty).mkdir()  # managed by SSM, no container on it
    ssm = aws_client("ssm", region="ap-northeast-2", access_key="t", secret_key="t", endpoint_url=moto_url, timeout=20)
    with guard.guarded():
        run = send_logs_command(ssm, ids, container=NAME, since_seconds=7200, deadline=15)
    assert run.command == COMMAND and run.document == DOCUMENT
    assert run.invocations[up].status == run.invocations[empty].status == "Success"
    assert "InvalidInstanceId" in run.invocations[unmanaged].status  # its agent never registered
    logs = {iid: read_answer(iid, a.status, a.stdout, a.stderr, NAME) for iid, a in run.invocations.items()}
    assert logs[up].container is not None and logs[up].container.up
    assert logs[up].summary is not None and 333 in logs[up].summary.timelines
    assert logs[empty].container is not None and logs[empty].container.state == "absent"
    assert logs[unmanaged].summary is None
    sent = ssm.list_commands()["Commands"]
    assert {c["Parameters"]["commands"][0] for c in sent} == {COMMAND} and len(sent) == 2
