"""Proof 2 — no secret leaks: with known secrets set, a failing run prints evidence and no secret.

The API's environment carries the stack's real AWS secret key, R2 secret, ``INTERNAL_WORKER_TOKEN`` and
``REDIS_PASSWORD``, plus CI variables that pytest-metadata copies into pytest-html's environment table
(``GIT_URL`` with a token as the user name, ``CODEBUILD_SOURCE_REPO_URL`` with ``user:token@``, ``BUILD_URL`` with
``?token=``). The worker's env file has other values for each (a wrong AWS secret, a wrong R2 secret, another
token and Redis password), a ``DATABASE_URL`` with a password and an ``R2_ENDPOINT`` with a token in it; its
log has a failure whose error text contains both URLs. The checks then fail and print their evidence, with
``-v -rA --log-level=DEBUG --log-cli-level=DEBUG`` so that captured and live logs (botocore logs endpoint
URLs) are printed too. Every output — terminal, HTML (with its environment table), verdict.json, JUnit XML —
is searched for every secret, also HTML-, JSON- and URL-escaped: zero hits.

The masks still compare: the Redis mismatch shows both passwords as ``set (len N, …xy)``, different.
"""

from __future__ import annotations

import html
import json
import urllib.parse
from pathlib import Path

import pytest
from blackhole import refused_port
from safety_harness import Production, run_live

from runbook.secrets import mask

pytestmark = pytest.mark.timeout(300)

#: Secrets of the worker's env file and the CI variables (the API's own come from the stack).
WORKER_SECRETS = {
    "worker AWS_SECRET_ACCESS_KEY": "wrkAWSsecret/0000000000000000000000000000XyZ1",
    "worker R2_SECRET_KEY": "wrkR2secret+111111111111111111111111111111Qq2",
    "worker INTERNAL_WORKER_TOKEN": "wrkTOKEN-2222222222222222",
    "worker REDIS_PASSWORD": "wrkREDISpw-33333333",
    "password in DATABASE_URL": "PGsecretPW-44444444",
    "token in R2_ENDPOINT": "R2urltoken-888888888",
    "token as GIT_URL user": "ghpGITtoken666666666666",
    "token in CODEBUILD_SOURCE_REPO_URL": "CBtoken99999999999",
    "token in BUILD_URL": "CItoken777777777777",
}


def _spellings(value: str) -> set[str]:
    """The secret as it could appear: plain, HTML-escaped, inside JSON, URL-encoded."""
    return {
        value,
        html.escape(value),
        html.escape(html.escape(value)),
        json.dumps(value)[1:-1],
        json.dumps(value)[1:-1].replace("/", "\\/"),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
    }


def _worker_log(production: Production, path: Path, r2_endpoint: str, database_url: str) -> Path:
    """The worker's real log, plus video 222 failing with an error that spells out both URLs."""
    failed = (
        f"error=upload to {r2_endpoint}/academy-video/hls/222/index.m3u8 failed; "
        f"then Failed to complete video via {database_url}"
    )
    lines = [
        "2026-11-26T03:10:00.000Z INFO reference.video_worker.sqs_main: SQS_MESSAGE_RECEIVED | "
        "request_id=leak-test | video_id=222 | tenant_id=1",
        "2026-11-26T03:10:00.100Z INFO reference.video_worker.handler: [HANDLER] Lock acquired, marking as "
        "PROCESSING video_id=222",
        f"2026-11-26T03:10:05.000Z ERROR reference.video_worker.handler: Video processing failed: video_id=222, "
        f"{failed}",
        "2026-11-26T03:10:05.100Z INFO reference.video_worker.sqs_main: SQS_JOB_FAILED | request_id=leak-test | "
        "video_id=222",
    ]
    text = Path(production.stack.worker_log).read_text(encoding="utf-8")
    path.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_no_output_holds_a_secret(production: Production, tmp_path: Path) -> None:
    s = WORKER_SECRETS
    api_env = dict(production.api_env)
    secrets = {
        **s,
        **{
            f"API {name}": api_env[name]
            for name in ("AWS_SECRET_ACCESS_KEY", "R2_SECRET_KEY", "INTERNAL_WORKER_TOKEN", "REDIS_PASSWORD")
        },
    }
    api_env.update(
        GIT_URL=f"https://{s['token as GIT_URL user']}@github.com/academy/runbook.git",
        CODEBUILD_SOURCE_REPO_URL=f"https://x-access-token:{s['token in CODEBUILD_SOURCE_REPO_URL']}@github.com/a/r",
        BUILD_URL=f"https://ci.example.com/job/7/?token={s['token in BUILD_URL']}",
    )
    worker_env = dict(production.worker_env)
    with refused_port() as port:
        worker_env.update(
            AWS_SECRET_ACCESS_KEY=s["worker AWS_SECRET_ACCESS_KEY"],
            R2_SECRET_KEY=s["worker R2_SECRET_KEY"],
            INTERNAL_WORKER_TOKEN=s["worker INTERNAL_WORKER_TOKEN"],
            REDIS_PASSWORD=s["worker REDIS_PASSWORD"],
            DATABASE_URL=f"postgresql://academy:{s['password in DATABASE_URL']}@127.0.0.1:{port}/academy",
            R2_ENDPOINT=worker_env["R2_ENDPOINT"].replace("http://", f"http://r2:{s['token in R2_ENDPOINT']}@"),
        )
        log = _worker_log(production, tmp_path / "worker.log", worker_env["R2_ENDPOINT"], worker_env["DATABASE_URL"])
        run = run_live(
            production,
            tmp_path / "run",
            "local",
            api_env=api_env,
            worker_env=worker_env,
            worker_log=str(log),
            extra=["-v", "-rA", "--log-level=DEBUG", "--log-cli-level=DEBUG"],
        )
    assert run.verdict is not None, run.tail()

    # The run did print evidence: the failures that carry the secrets' neighbourhood, and the parity checks that
    # describe both sides (the worker's Redis password and database are wrong: its identity cannot be read, so
    # those say unknown, describing both settings, masked).
    causes = {c["cause"] for c in run.verdict["checks"] if c["outcome"] == "failed"}
    assert {"aws-credentials-invalid", "r2-credentials-invalid", "processing-exception"} <= causes, causes
    parity = {c["nodeid"].split("::")[1].split("[")[0]: c for c in run.verdict["checks"] if "same_" in c["nodeid"]}
    assert parity["test_same_redis"]["outcome"] == "skipped" and parity["test_same_database"]["outcome"] == "skipped"
    assert "DEBUG" in run.output and "GIT_URL" in run.files["report.html"], "logs or environment table missing"

    leaks = [
        f"{label} in {where}"
        for label, value in secrets.items()
        for where, text in run.everything().items()
        if any(spelling in text for spelling in _spellings(value))
    ]
    assert not leaks, "secrets in the output:\n" + "\n".join(leaks)

    # Masked, they still compare: same length and tail would mean "probably the same", here they differ.
    api_mask, worker_mask = mask(api_env["REDIS_PASSWORD"]), mask(s["worker REDIS_PASSWORD"])
    mismatch = parity["test_same_redis"]["message"]
    assert api_mask in mismatch and worker_mask in mismatch and api_mask != worker_mask, mismatch
