"""The emulated AWS account and the emulated R2: one moto server process each, IAM auth enforced.

Credentials fail for real. Each server starts with moto's default (no auth), the stack creates an IAM user
with an admin inline policy and an access key, then ``POST /moto-api/reset-auth 0`` makes moto check every
later request's SigV4 signature against the IAM users it knows (``INITIAL_NO_AUTH_ACTION_COUNT``; see
moto/core/authorization.py and moto/iam/access_control.py). Keys moto's IAM never issued are refused
(SQS/STS/AutoScaling/Lambda/Events: ``InvalidClientTokenId``; S3: ``InvalidAccessKeyId``); a known key with a
wrong secret gets ``SignatureDoesNotMatch``. R2 is a second server with its own IAM, so AWS keys are not R2
keys and vice versa, as in production.

Shared servers (the fault matrix): starting a moto server costs ~1.5 s of CPU (importing moto) per stack.
When ``STACK_MOTO_AWS_URL`` / ``STACK_MOTO_R2_URL`` name a running server (:class:`SharedMotoServers`), the
emulator attaches to it instead of starting its own: it takes the server's lease (one stack at a time),
``POST /moto-api/reset`` forgets every resource and IAM user of the stack before (queues, messages,
buckets, ASG, Lambda, rule, keys), and provisioning creates them anew. Without the variables every stack
starts its own servers, as before.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from reference.stack._locks import flock_within
from reference.stack.processes import ManagedProcess, python_env

REGION = "ap-northeast-2"
OTHER_REGION = "us-east-1"
QUEUE_NAME = "academy-video-jobs"
DLQ_NAME = "academy-video-jobs-dlq"
MAX_RECEIVE_COUNT = 3
ASG_NAME = "academy-video-worker-asg"
LAUNCH_TEMPLATE = "academy-video-worker-lt"
WORKER_TAG = "academy-video-worker"
LAMBDA_NAME = "academy-worker-queue-depth-metric"
LAMBDA_ROLE = "academy-worker-queue-depth-metric-role"
RULE_NAME = "academy-worker-queue-depth-rate"
BUCKET = "academy-video"
WORKER_AMI = "ami-0c2acfcb2ac4d02a0"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
# Well-formed keys that no moto IAM ever issued: what a stale or mistyped key looks like.
INVALID_AWS_KEYS = ("AKIAINVALIDSTALEKEY1", "stale/secret/key/that/aws/does/not/know/0000")
INVALID_R2_KEYS = ("AKIAINVALIDR2KEY0001", "r2/secret/that/r2/does/not/know/000000000")
AWS_PRELOAD = "iam,sts,sqs,ec2,autoscaling,awslambda,events,cloudwatch,ssm"
R2_PRELOAD = "iam,s3"
# moto's IAM calls that create the admin user (create_user, put_user_policy, create_access_key): the only
# requests a server lets through unsigned, once per stack; every later one must carry the issued keys.
BOOTSTRAP_CALLS = 3
CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"}, s3={"addressing_style": "path"}
)


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def shared_url_variable(label: str) -> str:
    """The environment variable that hands a stack a running moto server for ``label`` (aws, r2)."""
    return f"STACK_MOTO_{label.upper()}_URL"


class Lease:
    """An exclusive lock on one shared server (a file lock: released by the kernel if the holder dies), so
    two stacks never reset each other's server, even if a caller hands the same URL to both."""

    def __init__(self, url: str) -> None:
        name = url.split("://", 1)[-1].replace(":", "-").replace("/", "")
        self.path = Path(tempfile.gettempdir()) / f"academy-moto-{name}.lock"
        self._fd: int | None = None

    def acquire(self, timeout: float = 300.0) -> None:
        fd = flock_within(self.path, timeout, poll=0.05, mode=0o600)
        if fd is None:
            raise TimeoutError(f"shared moto server still leased by another stack after {timeout:.0f}s ({self.path})")
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


class MotoServer:
    """``python -m reference.stack.moto_server`` as a child process; ``url`` once :meth:`ready`.

    ``attach``: the URL of a running server to reset and reuse instead (None: ``STACK_MOTO_<LABEL>_URL``
    from the environment; empty: always start an own server)."""

    def __init__(
        self, label: str, workdir: Path, repo_root: Path, preload: str = "", attach: str | None = None
    ) -> None:
        self.label = label
        self.shared_url = os.environ.get(shared_url_variable(label), "") if attach is None else attach
        self._lease: Lease | None = None
        self.process = ManagedProcess(
            f"moto-{label}",
            [sys.executable, "-m", "reference.stack.moto_server", "--label", label, "--preload", preload],
            python_env({"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}, repo_root=repo_root),
            workdir / f"moto-{label}.log",
            cwd=repo_root,
            keep_stdin_open=True,
        )
        self.url = ""
        self.keys: Keys | None = None
        self._clients: dict[tuple[str, str, Keys], Any] = {}

    @property
    def shared(self) -> bool:
        return bool(self.shared_url)

    def start(self) -> None:
        if self.shared:
            self._lease = Lease(self.shared_url)
            self._lease.acquire()
            return
        self.process.start()

    def ready(self, timeout: float = 30.0) -> str:
        if self.shared:
            self.url = self.shared_url
            self.reset()
            return self.url
        match = self.process.wait_for_log(r"MOTO_LISTENING (http://\S+)", timeout)
        self.url = match.group(1)
        return self.url

    def _post(self, path: str, data: bytes) -> None:
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            json.loads(resp.read())

    def reset(self) -> None:
        """Forget everything the previous user of this server created: all backends of every region,
        IAM users and keys included (so the previous stack's keys are refused from now on). Auth stays
        enforced: the server had it on, and ``create_admin_user`` opens it for its own three calls only."""
        self._post("/moto-api/reset", b"")
        self.keys = None
        self._clients.clear()

    def client(self, service: str, region: str = REGION, keys: Keys | None = None) -> Any:
        """A boto3 client for this server (cached: creating one costs ~30 ms of CPU, and polls call this)."""
        keys = keys or self.keys or Keys("bootstrap", "bootstrap")
        cache_key = (service, region, keys)
        client = self._clients.get(cache_key)
        if client is None:
            client = self._clients[cache_key] = boto3.client(
                service,
                endpoint_url=self.url,
                region_name=region,
                config=CLIENT_CONFIG,
                aws_access_key_id=keys.access_key_id,
                aws_secret_access_key=keys.secret_access_key,
            )
        return client

    def create_admin_user(self, user: str) -> Keys:
        """An IAM user with ``Allow * on *`` and an access key; its keys become the valid keys."""
        # Exactly these calls may go unsigned (a fresh server has auth off until enforce_auth; a reset
        # one has it on and no user to sign with); auth is back on after the third, whatever happens.
        self._post("/moto-api/reset-auth", str(BOOTSTRAP_CALLS).encode())
        iam = self.client("iam", keys=Keys("bootstrap", "bootstrap"))
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="admin", PolicyDocument=ADMIN_POLICY)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self.keys = Keys(key["AccessKeyId"], key["SecretAccessKey"])
        return self.keys

    def enforce_auth(self) -> None:
        """From now on every request must be signed with keys this server's IAM issued."""
        self._post("/moto-api/reset-auth", b"0")

    def stop(self) -> None:
        """Stop an own server; leave a shared one running (the next stack resets it) and free its lease."""
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        if not self.shared:
            self.process.stop(timeout=3)

    def _sharing(self) -> str:
        return "shared by the stacks of this test worker, reset for this one" if self.shared else "subprocess"


class AwsEmulator(MotoServer):
    """The AWS account: SQS queue + DLQ, ASG with launch template, scaler Lambda, EventBridge rule."""

    region = REGION

    def __init__(self, workdir: Path, repo_root: Path, attach: str | None = None) -> None:
        super().__init__("aws", workdir, repo_root, preload=AWS_PRELOAD, attach=attach)
        self.repo_root = repo_root
        self.queue_url = ""
        self.dlq_url = ""
        self.lambda_arn = ""

    def provision(
        self,
        *,
        asg_min: int = 0,
        asg_max: int = 3,
        asg_desired: int = 1,
        extra_queues: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Create the account's resources with the admin keys (auth already enforced)."""
        self.create_admin_user("academy-video")
        self.enforce_auth()
        sqs = self.client("sqs")
        self.dlq_url = sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queue_url = sqs.create_queue(
            QueueName=QUEUE_NAME,
            Attributes={
                # As provisioned for production (scripts/create_sqs_resources.py): above the worker's 240 s
                # extension interval, long polling on.
                "VisibilityTimeout": "300",
                "ReceiveMessageWaitTimeSeconds": "20",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
                ),
            },
        )["QueueUrl"]
        for name, region in extra_queues:
            self.client("sqs", region=region).create_queue(QueueName=name)
        self._provision_asg(asg_min, asg_max, asg_desired)
        self._provision_scaler()

    def _provision_asg(self, min_size: int, max_size: int, desired: int) -> None:
        # moto runs with MOTO_EC2_LOAD_DEFAULT_AMIS=false (loading them costs ~1.5 s) and without AMI
        # validation, so the template names an AMI id of the usual shape that nothing checks.
        ec2 = self.client("ec2")
        image_id = WORKER_AMI
        ec2.create_launch_template(
            LaunchTemplateName=LAUNCH_TEMPLATE,
            LaunchTemplateData={
                "ImageId": image_id,
                "InstanceType": "t3.small",
                "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": WORKER_TAG}]}],
            },
        )
        self.client("autoscaling").create_auto_scaling_group(
            AutoScalingGroupName=ASG_NAME,
            LaunchTemplate={"LaunchTemplateName": LAUNCH_TEMPLATE, "Version": "$Latest"},
            MinSize=min_size,
            MaxSize=max_size,
            DesiredCapacity=desired,
            AvailabilityZones=[f"{REGION}a"],
            Tags=[
                {
                    "Key": "Name",
                    "Value": WORKER_TAG,
                    "PropagateAtLaunch": True,
                    "ResourceId": ASG_NAME,
                    "ResourceType": "auto-scaling-group",
                }
            ],
        )

    def scaler_zip(self) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(self.repo_root / "reference" / "scaler" / "handler.py", "handler.py")
        return buf.getvalue()

    def _provision_scaler(self) -> None:
        iam = self.client("iam")
        role_arn = iam.create_role(
            RoleName=LAMBDA_ROLE,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        iam.put_role_policy(RoleName=LAMBDA_ROLE, PolicyName="scaler", PolicyDocument=ADMIN_POLICY)
        lam = self.client("lambda")
        self.lambda_arn = lam.create_function(
            FunctionName=LAMBDA_NAME,
            Runtime="python3.11",
            Role=role_arn,
            Handler="handler.lambda_handler",
            Code={"ZipFile": self.scaler_zip()},
            Timeout=30,
            # Deployed without --environment (scripts/deploy_worker_asg.ps1): the handler's defaults name the queue,
            # the group and its own bounds (VIDEO_WORKER_ASG_MIN 0, _MAX 20).
            Environment={"Variables": {}},
        )["FunctionArn"]
        events = self.client("events")
        rule_arn = events.put_rule(Name=RULE_NAME, ScheduleExpression="rate(1 minute)", State="ENABLED")["RuleArn"]
        events.put_targets(Rule=RULE_NAME, Targets=[{"Id": "queue-depth-lambda", "Arn": self.lambda_arn}])
        lam.add_permission(
            FunctionName=LAMBDA_NAME,
            StatementId="eventbridge-invoke",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule_arn,
        )

    # --- observations ----------------------------------------------------------------------------

    def queue_counts(self, queue_name: str = QUEUE_NAME) -> dict[str, int]:
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return {
            "visible": int(attrs["ApproximateNumberOfMessages"]),
            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        }

    def asg(self) -> dict[str, Any]:
        groups = self.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[ASG_NAME])[
            "AutoScalingGroups"
        ]
        return groups[0] if groups else {}

    def in_service(self) -> int:
        return sum(1 for i in self.asg().get("Instances", []) if i["LifecycleState"] == "InService")

    def scaler_target(self) -> str | None:
        """Why EventBridge would not invoke the scaler right now (None: it would)."""
        events = self.client("events")
        rules = [r for r in events.list_rules(NamePrefix=RULE_NAME)["Rules"] if r["Name"] == RULE_NAME]
        if not rules:
            return f"rule {RULE_NAME} missing"
        if rules[0].get("State") != "ENABLED":
            return f"rule {RULE_NAME} {rules[0].get('State')}"
        arns = [t["Arn"] for t in events.list_targets_by_rule(Rule=RULE_NAME)["Targets"]]
        functions = {f["FunctionArn"] for f in self.client("lambda").list_functions()["Functions"]}
        if not any(arn in functions for arn in arns):
            return f"function {LAMBDA_NAME} missing"
        return None

    def describe(self) -> str:
        return f"moto {moto_version()} server ({self._sharing()}, IAM auth enforced) {self.url}"


class R2Emulator(MotoServer):
    """Cloudflare R2 stand-in: the S3 API of a separate moto server, bucket ``academy-video``."""

    def __init__(self, workdir: Path, repo_root: Path, attach: str | None = None) -> None:
        super().__init__("r2", workdir, repo_root, preload=R2_PRELOAD, attach=attach)

    def provision(self) -> None:
        self.create_admin_user("academy-r2")
        self.enforce_auth()
        self.client("s3", region="us-east-1").create_bucket(Bucket=BUCKET)

    def s3(self, keys: Keys | None = None) -> Any:
        # R2 clients use region "auto"; the worker's storage client does too.
        return self.client("s3", region="auto", keys=keys)

    def describe(self) -> str:
        where = "separate subprocess" if not self.shared else f"separate server, {self._sharing()}"
        return f"moto {moto_version()} S3 API ({where}, own IAM, auth enforced) {self.url}"


class SharedMotoServers:
    """An AWS and an R2 moto server for many stacks in turn (each resets them: see the module docstring).

    with SharedMotoServers(workdir, repo_root) as shared:
        env = shared.env   # STACK_MOTO_AWS_URL, STACK_MOTO_R2_URL: give it to the stacks' processes
    """

    def __init__(self, workdir: Path, repo_root: Path) -> None:
        self.aws = MotoServer("aws", workdir, repo_root, preload=AWS_PRELOAD, attach="")
        self.r2 = MotoServer("r2", workdir, repo_root, preload=R2_PRELOAD, attach="")

    def start(self) -> SharedMotoServers:
        self.aws.start()
        self.r2.start()
        try:
            self.aws.ready()
            self.r2.ready()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def env(self) -> dict[str, str]:
        return {shared_url_variable(s.label): s.url for s in (self.aws, self.r2)}

    def stop(self) -> None:
        self.aws.stop()
        self.r2.stop()

    def __enter__(self) -> SharedMotoServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
