"""Under ``pytest -n`` the report is written by the controller, while the evidence (and with it the per-video
timelines and the probe timings) lives on the xdist workers: it must travel to the controller (on the last
teardown report's ``user_properties``) and reach ``verdict.json`` and the HTML, as without xdist."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]

#: A worker log in the runbook's own lines (§5): 111 completes, 222 is skipped for its lock (§9).
WORKER_LOG = """\
2026-11-26T03:00:00.000Z INFO worker: Video Worker (SQS) started | queue=academy-video-jobs | wait_time=20
2026-11-26T03:00:01.000Z INFO worker: SQS_MESSAGE_RECEIVED | request_id=a | video_id=111 | tenant_id=1
2026-11-26T03:00:01.100Z INFO worker: [HANDLER] Lock acquired, marking as PROCESSING video_id=111
2026-11-26T03:00:04.000Z INFO worker: [HANDLER] process_fn completed video_id=111 hls_path=hls/111/index.m3u8
2026-11-26T03:00:04.100Z INFO worker: SQS_JOB_COMPLETED | request_id=a | video_id=111
2026-11-26T03:00:05.000Z INFO worker: SQS_MESSAGE_RECEIVED | request_id=b | video_id=222 | tenant_id=1
2026-11-26T03:00:05.100Z INFO worker: [HANDLER] Lock acquisition failed, skipping video_id=222
"""

CONFTEST = """
import pytest
from runbook.config import side_from_env
from runbook.target import Target

pytest_plugins = ["fixtures.options", "fixtures.targets", "fixtures.reporting", "fixtures.rehearsal"]


@pytest.fixture(scope="session")
def rehearsal_target():
    # No stack: a target whose only configured evidence is the worker log (everything else: not configured).
    return Target(mode="rehearsal", api=side_from_env({}, "api"), worker_log=LOG_PATH, video_ids=(111, 222))
"""

CHECKS = """
import pytest

pytestmark = pytest.mark.runbook(layer="processing", section="§5")


@pytest.mark.parametrize("n", range(6))
def test_reads_the_worker_log(evidence, n):
    assert 111 in evidence.need("log.worker").timelines
"""


@pytest.mark.parametrize("workers", ["2", "0"])
def test_timelines_reach_the_report_under_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    log = pytester.path / "worker.log"
    log.write_text(WORKER_LOG, encoding="utf-8")
    pytester.makeconftest(CONFTEST.replace("LOG_PATH", repr(str(log))))
    pytester.makeini("[pytest]\ntestpaths = checks\naddopts = -p no:cacheprovider\n")
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_log.py").write_text(CHECKS, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = pytester.runpytest_subprocess("checks", "-n", workers, "--backend=embedded", "-p", "no:randomly")
    result.assert_outcomes(passed=6)
    verdict = json.loads((pytester.path / "reports" / "verdict.json").read_text(encoding="utf-8"))
    timelines = {row["video_id"]: row for row in verdict.get("timelines") or []}
    assert set(timelines) == {111, 222}, verdict.get("timelines")
    assert timelines[111]["stage"] == "completed" and timelines[222]["skip_reason"] == "lock"
    assert "log.worker" in verdict["evidence_seconds"]
    html = (pytester.path / "reports" / "rehearsal.html").read_text(encoding="utf-8")
    assert 'id="rb-timelines"' in html
    assert re.search(r'data-video="111" data-stage="completed"', html) and 'data-video="222"' in html
