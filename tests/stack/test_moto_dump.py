"""The safety tests' before/after snapshot (``GET /moto-api/data.json``) answers while no Docker engine does.

moto's dump fails as a whole (HTTP 500) once a Lambda function exists and Docker is unreachable, which left
the read-only proofs red on a machine without an engine. ``reference.stack.moto_server`` hides the one
attribute that raises; this test points the server at a Docker socket that does not exist, whether or not
an engine runs here.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config

from reference.stack.processes import python_env

ROOT = Path(__file__).resolve().parents[2]


def test_dump_answers_with_a_lambda_and_no_docker_engine(tmp_path: Path) -> None:
    env = python_env({"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}, repo_root=ROOT)
    server = subprocess.Popen(
        [sys.executable, "-m", "reference.stack.moto_server", "--label", "dump-test"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[1]
        kwargs = {
            "endpoint_url": url,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "config": Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 1}),
        }
        role = boto3.client("iam", **kwargs).create_role(RoleName="scaler", AssumeRolePolicyDocument="{}")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("handler.py", "def handler(event, context):\n    return 0\n")
        boto3.client("lambda", **kwargs).create_function(
            FunctionName="video-worker-scaler",
            Runtime="python3.11",
            Role=role["Role"]["Arn"],
            Handler="handler.handler",
            Code={"ZipFile": archive.getvalue()},
        )
        boto3.client("sqs", **kwargs).create_queue(QueueName="video-jobs")
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=30) as response:
            data = json.loads(response.read())
        functions = data["awslambda"]["LambdaFunction"]
        assert [f["function_name"] for f in functions] == ["video-worker-scaler"]
        assert "docker_client" not in functions[0]
        assert [q["name"] for q in data["sqs"]["Queue"]] == ["video-jobs"]
    finally:
        server.terminate()
        server.wait(timeout=30)
