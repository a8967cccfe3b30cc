"""The opt-in end-to-end canary (``--canary-video-id ID``): does one small video encode, and how fast?

The only check allowed to change anything, and only this: one ``POST /media/videos/{id}/retry/`` for the
designated video, let through the read-only guard by ``runbook.guard.allow_http_once`` (everything else stays
refused). Without the option it is deselected: it never runs, not even as a skip. It runs after every other
check of its process and waits until their evidence is in, so nothing else judges a state it made.

Where it ends: READY within ``--canary-slow-after`` (signal ``canary_seconds``) passes; READY later or still
PROCESSING at ``--canary-timeout`` is ``canary-slow``; FAILED is ``job-failed``; skipped for the cancel flag its
own retry set (§9) is ``cancel-requested``; never picked up is ``no-message-received``; a 503 from the retry is
``enqueue-failed``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from runbook import canary, clients, commands
from runbook.evidence import Evidence
from runbook.findings import fail, unknown
from runbook.logs import SkipReason, Stage, open_lines, summarize
from runbook.probes import api as api_probe
from runbook.probes import database, redis_
from runbook.probes.errors import ProbeError
from runbook.signals import Signal, Thresholds, measure
from runbook.target import Target

pytestmark = [
    pytest.mark.runbook(layer="processing", section="§5"),
    pytest.mark.canary,
    pytest.mark.docker,
    pytest.mark.asg,
    pytest.mark.local,
]


def _settle(evidence: Evidence) -> None:
    """Wait for every probe of the run: the canary changes its video only after everything else looked."""
    keys = evidence.keys()  # Evidence is not a mapping: its keys are the planned probes
    for key in keys:
        try:
            evidence.get(key)
        except Exception:  # a failed probe is its own check's business
            continue


def _row(target: Target, video_id: int) -> database.VideoRow | None:
    conn = clients.db_connect(target.api.database.url or "", target.timeout)
    try:
        return database.video_rows(conn, target.video_table, (video_id,)).get(video_id)
    finally:
        conn.close()


def _probes(target: Target, video_id: int, tenant_id: int | None) -> canary.CanaryProbes:
    api = target.api

    def status() -> str | None:
        row = _row(target, video_id)
        return row.status if row is not None else None

    def cancel_ttl() -> float | None:
        r = api.redis
        if r.host is None:
            return None
        client = clients.redis_client(r.host, r.port, r.password, r.db, target.timeout)
        try:
            keys = redis_.video_keys(
                client,
                (video_id,),
                lock_key=target.lock_key,
                cancel_key=target.cancel_key,
                progress_key=None,
                tenants={video_id: tenant_id},
            )
        finally:
            client.close()
        found = keys.get(video_id)
        if found is None or not found.cancel_present:
            return None
        return -1.0 if found.cancel_ttl_seconds is None else found.cancel_ttl_seconds

    skipped: Callable[[datetime], bool] | None = None
    spec = target.worker_log
    if spec:

        def skipped_for_cancel(since: datetime) -> bool:
            docker_client = clients.docker_client(target.timeout) if spec.startswith("docker:") else None
            try:
                with open_lines(spec, timeout=target.timeout, since=since, docker_client=docker_client) as lines:
                    timeline = summarize(lines, source=spec).timelines.get(video_id)
            except Exception:  # an unreadable log says nothing; the cancel flag still speaks at the timeout
                return False
            if timeline is None:
                return False
            return timeline.stage == Stage.SKIPPED and timeline.skip_reason == SkipReason.CANCEL

        skipped = skipped_for_cancel
    return canary.CanaryProbes(status=status, cancel_ttl=cancel_ttl, skipped_for_cancel=skipped)


def test_canary_end_to_end(
    evidence: Evidence,
    target: Target,
    thresholds: Thresholds,
    record_signal: Callable[[Signal], None],
    canary_settings: tuple[int | None, float],
) -> None:
    """Re-enqueue ``--canary-video-id`` through the API's retry and time enqueue-to-READY."""
    video_id, timeout = canary_settings
    source = f"canary video {video_id}: POST retry → DB status READY"
    if video_id is None:
        unknown("not-configured", setting="--canary-video-id")
    base = target.api.api_base_url
    if base is None:
        unknown("not-configured", setting="API_BASE_URL")
    if target.api.database.url is None:
        unknown("not-configured", setting="DATABASE_URL or DB_HOST")
    _settle(evidence)
    row = _row(target, video_id)
    tenant_id, tenant_code = (row.tenant_id, row.tenant_code) if row is not None else (None, None)
    facts = {
        "video_id": video_id,
        "api_container": target.api_container,
        "logs_cmd": commands.worker_logs(target),
        "retry_cmd": commands.retry_video(target, video_id, tenant_code),
    }
    try:
        result = canary.run(
            base,
            video_id,
            _probes(target, video_id, tenant_id),
            timeout=timeout,
            request_timeout=target.timeout,
            prefix=target.api_prefix,
            headers=api_probe.headers(target.api_token, target.api_tenant or tenant_code),
        )
    except ProbeError as exc:
        record_signal(measure("canary_seconds", None, thresholds, source, str(exc)))
        if exc.kind == "unreachable" and exc.code in ("502", "503", "504"):
            fail("enqueue-failed", count=1, error=str(exc), **facts)
        if exc.kind == "not-found":
            unknown("not-configured", setting=f"--canary-video-id {video_id} ({exc})")
        raise
    seconds = result.seconds if result.outcome == "ready" else None
    signal = measure("canary_seconds", seconds, thresholds, source, f"{result.outcome}, status {result.status}")
    record_signal(signal)
    if result.outcome == "cancel-skipped":
        ttl = "∞" if result.cancel_ttl is None or result.cancel_ttl < 0 else str(int(result.cancel_ttl))
        key = target.cancel_key.replace("{tenant}", str(tenant_id if tenant_id is not None else "<tenant>"))
        fail("cancel-requested", key=key.replace("{id}", str(video_id)), ttl=ttl, **facts)
    if result.outcome == "failed":
        fail("job-failed", error=f"canary: status {result.status}", **facts)
    if result.outcome == "timeout":
        if result.status in (None, "UPLOADED"):
            fail("no-message-received", **facts)
        fail(
            "canary-slow",
            status=result.status,
            seconds=f"{result.waited:.0f}",
            threshold=f"{signal.threshold:.0f}",
            **facts,
        )
    if signal.state == "fail":
        fail("canary-slow", status="READY", seconds=f"{seconds:.0f}", threshold=f"{signal.threshold:.0f}", **facts)
