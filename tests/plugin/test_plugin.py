"""The plugin as users meet it: options, markers, exit codes, the verdict file (through pytester)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]

#: Variables that would point a live run at something; cleared so "nothing configured" is true.
_LIVE_VARS = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_PROFILE",
    "REDIS_HOST",
    "DATABASE_URL",
    "DB_HOST",
    "API_BASE_URL",
    "R2_ENDPOINT",
    "DOCKER_HOST",
)


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project directory with the real checks/ and the plugin, as a user's checkout has them."""
    shutil.copytree(ROOT / "checks", pytester.path / "checks")
    pytester.makeconftest(
        'pytest_plugins = ["fixtures.options", "fixtures.targets", "fixtures.reporting", "fixtures.rehearsal"]'
    )
    pytester.makeini("[pytest]\ntestpaths = checks\naddopts = -p no:cacheprovider\n")
    for name in _LIVE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(pytester.path))  # no ~/.aws/credentials
    monkeypatch.setenv("AWS_CONFIG_FILE", str(pytester.path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(pytester.path / "none"))
    return pytester


def test_help_lists_every_contract_option(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--help")
    for name in (
        "--worker-env-file",
        "--worker-log",
        "--api-log",
        "--worker-container",
        "--api-container",
        "--worker-process",
        "--asg-name",
        "--worker-tag",
        "--scaler-lambda",
        "--scaler-rule",
        "--video-id",
        "--video-table",
        "--lock-key",
        "--cancel-key",
        "--progress-key",
        "--runbook-json",
        "--backend",
        "--runbook-lang",
        "--max-oldest-age",
        "--max-visible",
        "--max-in-flight",
        "--max-dlq",
        "--max-stuck",
        "--canary-video-id",
        "--canary-timeout",
        "--canary-slow-after",
    ):
        result.stdout.fnmatch_lines([f"*{name}*"])
    for env in ("RUNBOOK_WORKER_ENV_FILE", "RUNBOOK_MAX_OLDEST_AGE", "RUNBOOK_CANARY_VIDEO_ID"):
        result.stdout.fnmatch_lines([f"*{env}*"])


def test_markers_are_registered(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--markers")
    for marker in ("live", "rehearsal", "docker", "asg", "local", "canary"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{marker}:*"])


def test_plain_run_never_selects_live_checks(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("--collect-only", "-q")
    assert "[live" not in result.stdout.str()
    assert "-live" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*[[]rehearsal*"])


def test_live_with_nothing_configured_is_unknown_not_green(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("-m", "live", "-p", "no:randomly", "--runbook-timeout", "2")
    assert result.ret != 0
    verdict = json.loads((suite.path / "reports" / "verdict.json").read_text())
    assert verdict["mode"] == "live"
    assert verdict["healthy"] is False
    assert set(verdict["layers"].values()) == {"unknown"}, verdict["layers"]
    assert verdict["root_cause"]["cause"] == "not-verified"
    assert all(c["outcome"] == "skipped" for c in verdict["checks"])
    assert (suite.path / "reports" / "live.html").exists()


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--video-id", "abc"], {}, "--video-id: 'abc' is not a video id"),
        (["--runbook-timeout", "soon"], {}, "--runbook-timeout"),
        (["--deployment", "k8s"], {}, "--deployment: must be one of"),
        (["--max-visible", "many"], {}, "--max-visible: must be a whole number"),
        ([], {"RUNBOOK_MAX_DLQ": "-1"}, "--max-dlq: must be a whole number"),
        (["--max-oldest-age", "soon"], {}, "--max-oldest-age: expected a duration"),
        (["--canary-video-id", "abc"], {}, "--canary-video-id: 'abc' is not a video id"),
        (["--canary-video-id", "111,222"], {}, "--canary-video-id: takes exactly one video id"),
        (["--canary-timeout", "2h"], {}, "--canary-timeout: must be between 0 and 1 hour"),
        (["-m", "live"], {"REDIS_PORT": "six"}, "REDIS_PORT: must be a whole number"),
        (["-m", "live"], {"AWS_ENDPOINT_URL": "localhost:4566"}, "AWS_ENDPOINT_URL: URL needs a scheme"),
        (
            ["-m", "live", "--worker-env-file", "/nonexistent/worker.env"],
            {},
            "--worker-env-file /nonexistent/worker.env: file not found",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_4(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], needle: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = suite.runpytest_subprocess(*args)
    assert result.ret == 4
    output = result.stdout.str() + result.stderr.str()
    assert needle in output
    assert "Traceback" not in output


def test_canary_is_deselected_unless_asked(suite: pytest.Pytester) -> None:
    """Off by default: the one check that changes something is not even collected as a skip."""
    result = suite.runpytest_subprocess("-m", "live", "--collect-only", "-q")
    assert "test_c_canary" not in result.stdout.str()
    result = suite.runpytest_subprocess("-m", "live", "--collect-only", "-q", "--canary-video-id", "111")
    lines = [line for line in result.stdout.str().splitlines() if "::" in line]
    assert lines and "test_c_canary.py::test_canary_end_to_end[live]" in lines[-1], lines[-3:]  # it runs last
