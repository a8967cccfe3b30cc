"""A ``cloudwatch:`` log source over a busy group returns the last hours within its page bound.

    python -m bench.cloudwatch_window [--short] [--events 100000] [--days 14] [--since 6h]

A moto server (127.0.0.1, free port) holds a worker log group of ``--events`` events spread evenly over
``--days`` (moto, like AWS, takes nothing older than 14 days), in two streams (two workers). Pages hold
``--page-size`` events (1,000 by default: AWS's 1 MB page of ~1 KB lines; its 10,000-event page of short lines
changes the counts, not the shape), and the suite's bound is ``runbook.logs.source_cloudwatch.MAX_PAGES``.

Two reads of the same group under the same page bound, side by side:

- newest first, as the suite reads (``open_lines("cloudwatch:…", since=now - --since)``): slices from now
  backwards, each read to its end;
- oldest first, as the suite read before issue 16 (``filter_log_events`` forward from the group's first event,
  no start time, the same page bound).

Printed: pages, events, the window each returned, and how much of the last ``--since`` each covers.
Targets: the newest-first read covers all of the asked window (≥ 1) in at most its page bound (≤ 1).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._common import header, info, main_wrapper, parser, ratio_line

NAME = "cloudwatch_window"
GROUP = "/academy/video-worker"
_LINES = (
    "SQS_MESSAGE_RECEIVED | request_id=r{n:07x} | video_id={v} | tenant_id=1 | queue_wait_sec=0.41 | "
    "created_at=2026-02-20T05:03:08.712345+00:00",
    "[HANDLER] Lock acquired, marking as PROCESSING video_id={v}",
    "[HANDLER] process_fn completed video_id={v} hls_path=tenants/1/video/hls/{v}/master.m3u8 duration=42",
    "SQS_JOB_COMPLETED | request_id=r{n:07x} | video_id={v} | tenant_code=tchul | processing_duration=31.20 | "
    "queue_wait_sec=0.41",
)


def fill(client: Any, events: int, days: float, now: datetime) -> tuple[datetime, datetime]:
    """``events`` worker lines, evenly spread over ``days`` up to ``now``; returns the first and last times."""
    client.create_log_group(logGroupName=GROUP)
    streams = ("i-0a1b2c", "i-0d4e5f")
    for stream in streams:
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    span = timedelta(days=days) - timedelta(minutes=5)  # moto refuses events older than 14 days
    first = now - span
    step = span / max(1, events - 1)
    batch: list[dict[str, Any]] = []
    for n in range(events):
        at = first + step * n
        text = _LINES[n % 4].format(n=n, v=1000 + n // 4)
        batch.append({"timestamp": int(at.timestamp() * 1000), "message": text})
        if len(batch) == 10_000 or n == events - 1:
            stream = streams[(n // 10_000) % 2]
            client.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=batch)
            batch = []
    return first, first + step * (events - 1)


def oldest_first(client: Any, page_size: int, max_pages: int) -> dict[str, Any]:
    """The former read: forward from the group's first event, no start time, stopped at the page bound."""
    started = time.perf_counter()
    pages, count, newest = 0, 0, None
    token: str | None = None
    while pages < max_pages:
        # interleaved: what AWS always does (the flag is ignored there); moto otherwise pages stream by stream.
        page = client.filter_log_events(
            logGroupName=GROUP, limit=page_size, interleaved=True, **({"nextToken": token} if token else {})
        )
        pages += 1
        events = page.get("events") or []
        count += len(events)
        if events:
            newest = max(e["timestamp"] for e in events)
        token = page.get("nextToken")
        if not token:
            break
    last = datetime.fromtimestamp(newest / 1000, UTC) if newest is not None else None
    return {"pages": pages, "events": count, "last": last, "seconds": time.perf_counter() - started}


def newest_first(client: Any, page_size: int, max_pages: int, since: datetime, now: datetime) -> dict[str, Any]:
    """The suite's read (``runbook.logs``): the last hours, newest first, within the page bound."""
    from runbook.logs.coverage import ReadState
    from runbook.logs.source_cloudwatch import cloudwatch_blocks

    state = ReadState()
    started = time.perf_counter()
    blocks, _ = cloudwatch_blocks(
        f"cloudwatch:{GROUP}",
        GROUP,
        timeout=5,
        since=since,
        client=client,
        page_size=page_size,
        max_pages=max_pages,
        state=state,
        now=now,
    )
    lines = sum(block.count(b"\n") for block in blocks)
    seconds = time.perf_counter() - started
    pages = int(state.detail.split(" pages", 1)[0])
    return {"pages": pages, "events": lines, "start": state.start, "truncated": state.truncated, "seconds": seconds}


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--events", type=int, default=None, help="events in the group (default 100000; short: 20000)")
    p.add_argument("--days", type=float, default=14.0, help="days they are spread over (at most 14, moto's limit)")
    p.add_argument("--since", default="6h", help="the window asked for (default 6h)")
    p.add_argument("--page-size", type=int, default=None, help="events per page (default 1000; short: 200)")
    args = p.parse_args()
    events = args.events or (20_000 if args.short else 100_000)
    page_size = args.page_size or (200 if args.short else 1000)

    def body() -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        from runbook.config import parse_duration
        from runbook.logs.source_cloudwatch import MAX_PAGES

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log, one line per request
        window = timedelta(seconds=parse_duration(args.since, "--since"))
        header(NAME, args.short, events=events, days=args.days, page_size=page_size, max_pages=MAX_PAGES)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            client = boto3.client(
                "logs",
                region_name="ap-northeast-2",
                endpoint_url=f"http://{host}:{port}",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            now = datetime.now(UTC)
            filled = time.perf_counter()
            first, last = fill(client, events, args.days, now)
            info(NAME, f"group: {events} events {first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}Z, 2 streams "
                       f"({time.perf_counter() - filled:.1f}s to fill)")  # fmt: skip
            since = now - window
            new = newest_first(client, page_size, MAX_PAGES, since, now)
            old = oldest_first(client, page_size, MAX_PAGES)
        finally:
            server.stop()
        covered_new = (now - new["start"]) / window if new["start"] is not None else 0.0
        old_last = old["last"]
        covered_old = max(0.0, (old_last - since) / window) if old_last is not None else 0.0
        info(
            NAME,
            f"newest first: {new['pages']} pages, {new['events']} events, window {new['start']:%m-%d %H:%M} – "
            f"{now:%m-%d %H:%M}Z{' (truncated)' if new['truncated'] else ''}, {new['seconds']:.2f}s",
        )
        info(
            NAME,
            f"oldest first: {old['pages']} pages, {old['events']} events, up to "
            f"{old_last:%m-%d %H:%M}Z, {old['seconds']:.2f}s; covers {min(covered_old, 1.0):.0%} of the last "
            f"{args.since}",
        )
        info(NAME, f"events read: newest first {new['events'] / events:.1%} of the group, oldest first "
                   f"{old['events'] / events:.1%}")  # fmt: skip
        ratio_line(NAME, f"last {args.since} covered / asked (newest first)", min(covered_new, 1.0), "≥", 1)
        ratio_line(NAME, "pages read / page bound (newest first)", new["pages"] / MAX_PAGES, "≤", 1)

    return main_wrapper(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
