"""§6 API에서 enqueue 성공 여부: ``Video job enqueued: video_id=N`` in the API log, no 503 / enqueue failure."""

from __future__ import annotations

import pytest

from runbook import commands
from runbook.evidence import Evidence
from runbook.findings import fail
from runbook.target import Target

pytestmark = [
    pytest.mark.runbook(layer="api-enqueue", section="§6"),
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]


def test_no_enqueue_failures(evidence: Evidence, target: Target) -> None:
    api_log = evidence.need("log.api")
    failures = {vid: err for vid, err in api_log.enqueue_failures.items() if vid not in api_log.enqueued}
    if failures:
        vid, err = next(iter(sorted(failures.items())))
        fail("enqueue-failed", count=len(failures), video_id=vid, error=err, api_container=target.api_container)


def test_enqueue_logged(evidence: Evidence, target: Target, video_id: int | None) -> None:
    api_log = evidence.need("log.api")
    ids = (video_id,) if video_id is not None else tuple(evidence.need("videos"))
    rows = evidence.attempt("videos.rows")[0] or {}
    for vid in ids:
        row = rows.get(vid)
        if vid in api_log.enqueued or vid in api_log.enqueue_failures:
            continue
        if row is not None and row.status in ("READY",):
            continue  # done long ago; its enqueue line may have rotated out of the log
        fail("enqueue-not-logged", video_id=vid, retry_cmd=commands.retry_video(target, vid))
