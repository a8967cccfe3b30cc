"""Proof 4 — bad input, clear errors: a one-line message naming the input, the documented exit code, no
traceback; noisy logs still give the right timelines.

- Every option, and every API environment variable that has a type or a shape, given a wrong value: exit code
  4 (README: "stops the run with one line naming the setting"), the line names it, no traceback. Run in-process
  (pytester) against a copy of ``checks/``: the plugin stops in ``pytest_configure``, before any probe.
- A few of them once more as real processes, to see the process's own exit code and stderr.
- The worker's env file is evidence, not the suite's input: a malformed value there makes the checks that need
  the worker's settings ``unknown``, naming the variable (exit 1), never a traceback.
- Logs (the parser's own fuzzing and robustness tests are ``tests/unit/test_logs_*.py``; this is the suite
  level): a compressed, binary, missing or directory ``--worker-log``/``--api-log`` makes the log-based checks
  ``unknown`` naming the log; a log with CRLF ends, invalid UTF-8, truncated lines, two workers interleaved and a
  100 MB line gives the same verdicts as its clean form.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from reference.stack.live import PIPELINE_ENV_PREFIXES

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(120)

_CLEAR = (*PIPELINE_ENV_PREFIXES, "DOCKER_HOST")
#: Plugins the checks do not use (pytest-benchmark warns inside xdist workers).
LEAN = ("-p", "no:benchmark", "-p", "no:hypothesispytest")
#: No process on this machine matches it (another engineer's stand-in worker must not be "the worker").
NO_WORKER = f"no-such-worker-{uuid.uuid4().hex}"
#: The user's-code options, complete: what makes a combination wrong is the option added to them.
HOOKS = ("--worker-cmd", "true", "--seed-cmd", "true", "--enqueue-cmd", "true {id}")


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A checkout with the real checks/ and plugin, and an empty environment (nothing to contact)."""
    import os

    shutil.copytree(ROOT / "checks", pytester.path / "checks")
    pytester.makeconftest(
        'pytest_plugins = ["fixtures.options", "fixtures.targets", "fixtures.reporting", "fixtures.rehearsal"]'
    )
    pytester.makeini("[pytest]\ntestpaths = checks\naddopts = -p no:cacheprovider\n")
    for name in list(os.environ):
        if name.startswith(_CLEAR):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(pytester.path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(pytester.path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(pytester.path / "none"))
    return pytester


def _files(base: Path) -> dict[str, str]:
    """Malformed env files, by kind."""
    (base / "dir.env").mkdir()
    made = {
        "binary": (b"AWS_REGION=ap-northeast-2\n\x00\x01\x02\xff" * 8),
        "latin1": "REDIS_PASSWORD=caf\xe9\n".encode("latin-1"),
        "badline": b"AWS_REGION=ap-northeast-2\nthis is not a variable\n",
    }
    for name, data in made.items():
        (base / f"{name}.env").write_bytes(data)
    (base / "verdict-parent").write_text("a file, not a directory")
    return {
        "dir": str(base / "dir.env"),
        **{k: str(base / f"{k}.env") for k in made},
        "missing": str(base / "missing.env"),
        "file": str(base / "verdict-parent"),
    }


#: (id, command line, API environment, what the one line must say). Paths: {name} from _files().
EXIT_4: list[tuple[str, list[str], dict[str, str], str]] = [
    ("video-id abc", ["--video-id", "abc"], {}, "--video-id: 'abc' is not a video id"),
    ("video-id -1", ["--video-id", "-1"], {}, "--video-id: '-1' is not a video id"),
    ("video-id empty", ["--video-id", ""], {}, "--video-id: '' is not a video id"),
    ("video-id hole", ["--video-id", "111,,222"], {}, "--video-id: '' is not a video id"),
    ("video-id zero", ["--video-id", "0"], {}, "--video-id: '0' is not a video id"),
    ("video-id fraction", ["--video-id", "1.5"], {}, "--video-id: '1.5' is not a video id"),
    ("video-id huge", ["--video-id", "9" * 30], {}, "is not a video id"),
    ("video-id env", [], {"RUNBOOK_VIDEO_ID": "abc"}, "--video-id: 'abc' is not a video id"),
    ("timeout word", ["--runbook-timeout", "soon"], {}, "--runbook-timeout: expected a duration"),
    ("timeout zero", ["--runbook-timeout", "0"], {}, "--runbook-timeout: must be between"),
    ("timeout negative", ["--runbook-timeout", "-1"], {}, "--runbook-timeout"),
    ("timeout huge", ["--runbook-timeout", "1h"], {}, "--runbook-timeout: must be between"),
    ("timeout env", [], {"RUNBOOK_RUNBOOK_TIMEOUT": "soon"}, "--runbook-timeout: expected a duration"),
    ("stuck-after", ["--stuck-after", "forever"], {}, "--stuck-after: expected a duration"),
    ("long-job-after", ["--long-job-after", "10 minutes"], {}, "--long-job-after: expected a duration"),
    ("lang", ["--runbook-lang", "fr"], {}, "--runbook-lang: must be one of"),
    ("deployment", ["--deployment", "k8s"], {}, "--deployment: must be one of"),
    ("backend", ["--backend", "cloud"], {}, "--backend: must be one of"),
    ("lock-key", ["--lock-key", "job:encode:lock"], {}, "--lock-key: must contain {id}"),
    ("cancel-key", ["--cancel-key", "cancel"], {}, "--cancel-key: must contain {id}"),
    ("progress-key empty", ["--progress-key", ""], {}, "--progress-key: must contain {id}"),
    ("video-table", ["--video-table", "video; DROP TABLE x"], {}, "--video-table: must be a table name"),
    ("worker-process regex", ["--worker-process", "(["], {}, "--worker-process: is not a regular expression"),
    ("worker-container", ["--worker-container", "bad name!"], {}, "--worker-container: is not a valid name"),
    ("api-container", ["--api-container", "../api"], {}, "--api-container: is not a valid name"),
    ("asg-name empty", ["--asg-name", ""], {}, "--asg-name: is not a valid name"),
    ("worker-tag", ["--worker-tag", "워커"], {}, "--worker-tag: is not a valid name"),
    ("scaler-lambda", ["--scaler-lambda", "scale me"], {}, "--scaler-lambda: is not a valid name"),
    ("scaler-rule", ["--scaler-rule", "a/b"], {}, "--scaler-rule: is not a valid name"),
    ("runbook-json", ["--runbook-json", "{file}/verdict.json"], {}, "--runbook-json: cannot be written"),
    ("env file missing", ["-m", "live", "--worker-env-file", "{missing}"], {}, "--worker-env-file {missing}: file not found"),
    ("env file dir", ["-m", "live", "--worker-env-file", "{dir}"], {}, "is a directory, not an env file"),
    ("env file binary", ["-m", "live", "--worker-env-file", "{binary}"], {}, "{binary}: is a binary file"),
    ("env file latin-1", ["-m", "live", "--worker-env-file", "{latin1}"], {}, "{latin1}: is not UTF-8 text"),
    ("env file bad line", ["-m", "live", "--worker-env-file", "{badline}"], {}, "{badline} line 2: expected KEY=VALUE"),
    ("AWS_REGION", ["-m", "live"], {"AWS_REGION": "Seoul"}, "AWS_REGION: not a region name"),
    ("AWS_DEFAULT_REGION", ["-m", "live"], {"AWS_DEFAULT_REGION": "ap-northeast-2a"}, "AWS_REGION: not a region"),
    ("AWS_ENDPOINT_URL scheme", ["-m", "live"], {"AWS_ENDPOINT_URL": "localhost:4566"}, "AWS_ENDPOINT_URL: URL needs"),
    ("AWS_ENDPOINT_URL port", ["-m", "live"], {"AWS_ENDPOINT_URL": "http://localhost:http"}, "AWS_ENDPOINT_URL: not a valid URL"),
    ("REDIS_PORT word", ["-m", "live"], {"REDIS_PORT": "six"}, "REDIS_PORT: must be a whole number"),
    ("REDIS_PORT zero", ["-m", "live"], {"REDIS_PORT": "0"}, "REDIS_PORT: must be between 1 and 65535"),
    ("REDIS_PORT big", ["-m", "live"], {"REDIS_PORT": "70000"}, "REDIS_PORT: must be between 1 and 65535"),
    ("REDIS_DB negative", ["-m", "live"], {"REDIS_DB": "-1"}, "REDIS_DB: must be a whole number"),
    ("DATABASE_URL scheme", ["-m", "live"], {"DATABASE_URL": "mysql://u:p@db/academy"}, "DATABASE_URL: must start with"),
    ("DATABASE_URL sqlite", ["-m", "live"], {"DATABASE_URL": "sqlite://academy.db"}, "DATABASE_URL: sqlite URL must be"),
    ("DATABASE_URL port", ["-m", "live"], {"DATABASE_URL": "postgresql://u:p@db:five/a"}, "DATABASE_URL: port is not"),
    ("DATABASE_URL host", ["-m", "live"], {"DATABASE_URL": "postgresql:///academy"}, "DATABASE_URL: needs a host"),
    ("DB_PORT", ["-m", "live"], {"DB_HOST": "db", "DB_PORT": "x"}, "DB_PORT: must be a whole number"),
    ("API_BASE_URL", ["-m", "live"], {"API_BASE_URL": "api:8000"}, "API_BASE_URL: URL needs a scheme"),
    ("R2_ENDPOINT", ["-m", "live"], {"R2_ENDPOINT": "r2.example.com"}, "R2_ENDPOINT: URL needs a scheme"),
    ("rehearsal-fault", ["--backend", "embedded", "--rehearsal-fault", "no-such-fault"], {}, "unknown fault 'no-such-fault'"),
    ("worker-cmd", ["--backend", "embedded", "--worker-cmd", "python -c 'unbalanced"], {}, "No closing quotation"),
    ("seed-cmd alone", ["--backend", "embedded", "--worker-cmd", "true", "--seed-cmd", "true"], {}, "--enqueue-cmd missing"),
    ("hooks, no worker", ["--backend", "embedded", "--seed-cmd", "true", "--enqueue-cmd", "true"], {}, "needs --worker-cmd"),
    ("hook-timeout", ["--backend", "embedded", *HOOKS, "--hook-timeout", "soon"], {}, "--hook-timeout: expected a duration"),
    ("hook fault", ["--backend", "embedded", *HOOKS, "--rehearsal-fault", "redis-down"], {}, "fault 'redis-down' cannot be rehearsed with your own code"),
    ("hook faults", ["--backend", "embedded", *HOOKS, "--rehearsal-fault", "stale-lock,worker-stopped"], {}, "one fault at a time with your own code"),
]  # fmt: skip


def _fill(text: str, files: dict[str, str]) -> str:
    for name, path in files.items():
        text = text.replace("{" + name + "}", path)
    return text


def _one_line(output: str, needle: str) -> list[str]:
    """Problems with a stopped run's output: the needle on one line, a single runbook line, no traceback."""
    problems = []
    lines = [line for line in output.splitlines() if "runbook:" in line]
    if len(lines) != 1 or needle not in lines[0]:
        problems.append(f"expected one line with {needle!r}, got {lines}")
    if "Traceback" in output or "INTERNALERROR" in output:
        problems.append("a traceback")
    secret_ish = [line for line in output.splitlines() if "p@" in line]
    if secret_ish:
        problems.append(f"a URL's credentials echoed: {secret_ish}")
    return problems


@pytest.mark.parametrize(("args", "env", "needle"), [row[1:] for row in EXIT_4], ids=[row[0] for row in EXIT_4])
def test_bad_setting_stops_with_one_line_and_exit_4(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], needle: str
) -> None:
    files = _files(suite.path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = suite.runpytest_inprocess(
        *LEAN, "-p", "no:xdist", "--worker-process", NO_WORKER, *(_fill(a, files) for a in args)
    )
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 4, f"exit {result.ret}\n{output[-3000:]}"
    problems = _one_line(output, _fill(needle, files))
    assert not problems, (problems, output[-3000:])


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--video-id", "abc"], {}, "--video-id: 'abc' is not a video id"),
        (["-m", "live"], {"DATABASE_URL": "postgresql://app:p@db:five/academy"}, "DATABASE_URL: port is not a number"),
    ],
)
def test_a_real_process_exits_4_with_one_line_on_stderr(
    tmp_path: Path, args: list[str], env: dict[str, str], needle: str
) -> None:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(_CLEAR)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "checks",
            "-p",
            "no:hypothesispytest",
            "-p",
            "no:xdist",
            "--runbook-json",
            str(tmp_path / "v.json"),
            *args,
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [f"ERROR: runbook: {needle}"] or (
        needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    ), proc.stderr
    assert not _one_line(proc.stdout + proc.stderr, needle)


def _verdict(suite: pytest.Pytester, *args: str) -> tuple[dict[str, Any], str, int]:
    verdict = suite.path / "v.json"
    result = suite.runpytest_inprocess(
        *LEAN,
        "-p",
        "no:xdist",
        "-m",
        "live and local",
        "--worker-process",
        NO_WORKER,
        "--runbook-json",
        str(verdict),
        "--html",
        str(suite.path / "r.html"),
        *args,
    )
    output = result.stdout.str() + result.stderr.str()
    assert verdict.exists(), output[-3000:]
    return json.loads(verdict.read_text()), output, int(result.ret)


def _checks(verdict: dict[str, Any], test: str) -> list[dict[str, Any]]:
    return [c for c in verdict["checks"] if c["nodeid"].split("::")[1].startswith(test + "[")]


@pytest.mark.parametrize(
    ("variable", "value"), [("REDIS_PORT", "six"), ("AWS_REGION", "Seoul"), ("R2_ENDPOINT", "r2.example.com")]
)
def test_malformed_worker_env_value_is_unknown_naming_it(suite: pytest.Pytester, variable: str, value: str) -> None:
    env_file = suite.path / "worker.env"
    env_file.write_text(f"API_BASE_URL=http://api:8000\n{variable}={value}\n", encoding="utf-8")
    verdict, output, code = _verdict(suite, "--worker-env-file", str(env_file))
    assert code == 1 and "Traceback" not in output, output[-3000:]
    (same_queue,) = _checks(verdict, "test_same_queue")
    assert same_queue["outcome"] == "skipped" and f"worker env: {variable}" in same_queue["message"], same_queue


LOG_CHECKS = ("test_start_log", "test_worker_log_queue", "test_worker_log_sqs_available", "test_video_flow")
API_LOG_CHECKS = ("test_no_enqueue_failures", "test_enqueue_logged")


def test_unusable_logs_are_unknown_naming_the_log(suite: pytest.Pytester) -> None:
    base = suite.path  # under the checkout: option values that look like paths anchor pytest's rootdir
    gz, binary, missing, directory = (base / "worker.log.1.gz", base / "core.bin", base / "no-such.log", base / "logs")
    line = "2026-11-26T03:00:00.000Z INFO w: Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20\n"
    gz.write_bytes(gzip.compress(line.encode() * 50))
    binary.write_bytes(bytes(range(256)) * 40)
    directory.mkdir()
    for worker_log, api_log in ((gz, directory), (missing, binary)):
        verdict, output, _ = _verdict(
            suite, "--worker-log", str(worker_log), "--api-log", str(api_log), "--video-id", "111"
        )
        assert "Traceback" not in output, output[-3000:]
        for tests, path in ((LOG_CHECKS, worker_log), (API_LOG_CHECKS, api_log)):
            for test in tests:
                for check in _checks(verdict, test):
                    assert check["outcome"] == "skipped" and str(path) in check["message"], (path, check)


def _noisy(clean: list[str]) -> bytes:
    """The clean lines with CRLF ends, invalid UTF-8, truncated lines, a second worker interleaved, a 100 MB line."""
    other = [
        "2026-11-26T03:00:00.500Z INFO w2: Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20",
        "2026-11-26T03:00:02.500Z INFO w2: SQS_MESSAGE_RECEIVED | request_id=r9 | video_id=999 | tenant_id=1",
        "2026-11-26T03:00:03.500Z INFO w2: SQS_JOB_COMPLETED | request_id=r9 | video_id=999",
    ]
    out: list[bytes] = []
    for i, text in enumerate(clean):
        out.append(text.encode() + b"\r\n")
        if i < len(other):
            out.append(other[i].encode() + b"\r\n")
        if i == 1:
            out.append(b"2026-11-26T03:00:01.700Z INFO w: \xff\xfe garbage \xc3\x28 bytes\r\n")
            out.append(b"2026-11-26T03:00:01.800Z INFO w: SQS_MESSAGE_RECEI")  # truncated, no newline
            out.append(b"\n")
        if i == 2:
            out.append(b"2026-11-26T03:00:01.900Z DEBUG w: " + b"x" * (100 * 1024 * 1024) + b"\n")
    return b"".join(out)


def test_noisy_logs_give_the_clean_logs_verdicts(suite: pytest.Pytester) -> None:
    tmp_path = suite.path
    worker = [
        "2026-11-26T03:00:00.000Z INFO w: Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20",
        "2026-11-26T03:00:01.000Z INFO w: SQS_MESSAGE_RECEIVED | request_id=r1 | video_id=111 | tenant_id=1",
        "2026-11-26T03:00:01.100Z INFO w: [HANDLER] Lock acquired, marking as PROCESSING video_id=111",
        "2026-11-26T03:00:04.000Z INFO w: SQS_JOB_COMPLETED | request_id=r1 | video_id=111",
        "2026-11-26T03:00:05.000Z INFO w: SQS_MESSAGE_RECEIVED | request_id=r2 | video_id=222 | tenant_id=1",
        "2026-11-26T03:00:05.100Z INFO w: [HANDLER] Lock acquired, marking as PROCESSING video_id=222",
        "2026-11-26T03:00:06.000Z ERROR w: Video processing failed: video_id=222, error=ffmpeg exited with 1",
        "2026-11-26T03:00:06.100Z INFO w: SQS_JOB_FAILED | request_id=r2 | video_id=222",
    ]
    api = [
        "2026-11-26T02:59:59.000Z INFO api: Video job enqueued: video_id=111",
        "2026-11-26T03:00:04.500Z INFO api: Video job enqueued: video_id=222",
    ]
    verdicts = {}
    for name, worker_bytes, api_bytes in (
        ("clean", "\n".join(worker).encode() + b"\n", "\n".join(api).encode() + b"\n"),
        ("noisy", _noisy(worker), b"\r\n".join(a.encode() for a in api) + b"\r\n\xff\r\n"),
    ):
        (tmp_path / f"{name}-worker.log").write_bytes(worker_bytes)
        (tmp_path / f"{name}-api.log").write_bytes(api_bytes)
        verdicts[name], output, _ = _verdict(
            suite,
            "--worker-log",
            str(tmp_path / f"{name}-worker.log"),
            "--api-log",
            str(tmp_path / f"{name}-api.log"),
            "--video-id",
            "111,222",
        )
        assert "Traceback" not in output, output[-3000:]
    judged = {
        name: {
            c["nodeid"]: (c["outcome"], c["cause"])
            for c in v["checks"]
            if c["nodeid"].split("::")[1].split("[")[0] in LOG_CHECKS + API_LOG_CHECKS
        }
        for name, v in verdicts.items()
    }
    assert judged["noisy"] == judged["clean"]
    flow = {c["nodeid"].split("::")[1]: c for c in _checks(verdicts["noisy"], "test_video_flow")}
    assert flow["test_video_flow[live-111]"]["outcome"] == "passed", flow
    failed = flow["test_video_flow[live-222]"]
    assert failed["cause"] == "processing-exception" and "ffmpeg exited with 1" in failed["message"], failed
    (start,) = _checks(verdicts["noisy"], "test_worker_log_queue")
    assert start["outcome"] == "passed", start  # "queue=academy-video-jobs\r" would be a mismatch
