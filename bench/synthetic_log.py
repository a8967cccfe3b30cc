"""A synthetic worker log: the runbook's lines in a realistic mix with the noise a worker really logs.

    python -m bench.synthetic_log OUT --size-mb 1024

Per job (one video): ``SQS_MESSAGE_RECEIVED``, ``[HANDLER] Lock acquired``, a couple hundred lines of
noise (ffmpeg progress, botocore/urllib3 debug, progress updates, heartbeats, now and then a long JSON
dump), then ``process_fn completed`` + ``SQS_JOB_COMPLETED`` — or, for a few jobs, ``Video processing
failed`` + ``SQS_JOB_FAILED``, a lock-skip, a status skip, a cancel skip, a ``complete_video`` failure
with ``row exists=``. Each worker restart logs its start line; a rare ``config error`` and ``SQS
unavailable`` line appear too. About one noise line in a hundred holds an anchor without being an event
(``AmazonSQS`` in a botocore request line), so the parser's prefilter has false hits to reject. Video ids
grow, so the number of distinct videos grows with the file, as in a real log.
The text follows the runbook (docs/runbook.ko.md) and the stand-in worker's format
(``2026-11-26T12:34:40.901Z INFO logger: message``); nothing is imported from ``reference/``.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import TextIO

#: (weight, template): what a worker logs besides the runbook's lines. Only the botocore request line
#: holds an anchor ("AmazonSQS"): about one noise line in a hundred, as at DEBUG level in production.
_WEIGHTED_NOISE = (
    (
        20,
        "INFO reference.video_worker.encode: ffmpeg frame={n} fps=48 q=28.0 size={n}kB time=00:00:0{d}.00 "
        "bitrate=812.3kbits/s speed=2.01x",
    ),
    (15, "DEBUG reference.video_worker.progress: progress video_id={vid} percent={p} stage=encoding"),
    (12, "INFO reference.video_worker.redis: SET job:encode:{vid}:progress {p} EX 3600"),
    (10, "INFO reference.video_worker.storage: uploaded hls/{vid}/index{d}{d}.ts ({n} bytes) to r2://academy-video"),
    (10, 'DEBUG urllib3.connectionpool: https://sqs.ap-northeast-2.amazonaws.com:443 "POST / HTTP/1.1" 200 {n}'),
    (10, "DEBUG botocore.parsers: Response headers: {{'x-amzn-RequestId': '{rid}', 'Content-Type': 'text/xml'}}"),
    (
        8,
        "DEBUG botocore.hooks: Event needs-retry.sqs.ChangeMessageVisibility: calling handler "
        "<botocore.retryhandler.RetryHandler object at 0x7f{n}>",
    ),
    (6, "DEBUG reference.video_worker.heartbeat: extend visibility video_id={vid} by 300s"),
    (5, "DEBUG reference.video_worker.sqs_main: polling queue academy-video-jobs (wait_time=20, visible={d})"),
    (
        3,
        "WARNING urllib3.connectionpool: Connection pool is full, discarding connection: r2.example.com. "
        "Connection pool size: 10",
    ),
    (
        1,
        "DEBUG botocore.endpoint: Sending http request: <AWSPreparedRequest stream_output=False, method=POST, "
        "url=https://sqs.ap-northeast-2.amazonaws.com/, headers={{'X-Amz-Target': b'AmazonSQS.ReceiveMessage', "
        "'Content-Type': b'application/x-amz-json-1.0', 'User-Agent': b'Boto3/1.43.11 md/Botocore#1.43.11'}}>",
    ),
)
_NOISE = tuple(template for weight, template in _WEIGHTED_NOISE for _ in range(weight))
_JSON_DUMP = (
    'DEBUG reference.video_worker.probe: ffprobe {{"streams": [{{"codec_name": "h264", "width": 1920, '
    '"height": 1080, "r_frame_rate": "30/1", "bit_rate": "{n}", "tags": {{"handler_name": "VideoHandler", '
    '"vendor_id": "[0][0][0][0]"}}}}, {{"codec_name": "aac", "sample_rate": "48000", "channels": 2}}], '
    '"format": {{"duration": "{d}12.480000", "size": "{n}{n}", "format_name": "mov,mp4,m4a,3gp,3g2,mj2"}}}}'
)


class _Clock:
    def __init__(self) -> None:
        self.seconds = 0
        self.ms = 0

    def stamp(self) -> str:
        self.ms += 37
        if self.ms >= 1000:
            self.ms -= 1000
            self.seconds += 1
        s = self.seconds
        return (
            f"2026-{(s // 2_592_000) % 12 + 1:02d}-{(s // 86400) % 28 + 1:02d}T{(s // 3600) % 24:02d}:"
            f"{(s // 60) % 60:02d}:{s % 60:02d}.{self.ms:03d}Z"
        )


def _job(rng: random.Random, clock: _Clock, vid: int, noise_lines: int) -> list[str]:
    rid = f"{rng.getrandbits(128):032x}"
    out = [
        f"{clock.stamp()} INFO reference.video_worker.sqs_main: SQS_MESSAGE_RECEIVED | request_id={rid} "
        f"| video_id={vid} | tenant_id={vid % 7 + 1}"
    ]
    fate = rng.random()
    if fate < 0.01:
        out.append(f"{clock.stamp()} INFO reference.video_worker.handler: [HANDLER] Lock acquisition failed, skipping")
        return out
    if fate < 0.015:
        out.append(
            f"{clock.stamp()} INFO reference.video_worker.handler: "
            f"[HANDLER] Cannot mark video {vid} as PROCESSING, skipping"
        )
        return out
    if fate < 0.02:
        out.append(
            f"{clock.stamp()} INFO reference.video_worker.handler: "
            f"[HANDLER] Cancel requested for video_id={vid}, skipping"
        )
        return out
    out.append(
        f"{clock.stamp()} INFO reference.video_worker.handler: "
        f"[HANDLER] Lock acquired, marking as PROCESSING video_id={vid}"
    )
    for i in range(noise_lines):
        template = _JSON_DUMP if i % 97 == 96 else _NOISE[rng.randrange(len(_NOISE))]
        text = template.format(
            n=rng.randrange(10_000, 9_999_999), rid=rid, vid=vid, p=i * 99 // noise_lines, d=rng.randrange(10)
        )
        out.append(f"{clock.stamp()} {text}")
    if fate < 0.05:
        out.append(
            f"{clock.stamp()} ERROR reference.video_worker.handler: Video processing failed: "
            f"video_id={vid}, error=ffmpeg exited with code 1: Invalid data found when processing input"
        )
        out.append(
            f"{clock.stamp()} ERROR reference.video_worker.sqs_main: SQS_JOB_FAILED | request_id={rid} | video_id={vid}"
        )
    elif fate < 0.055:
        out.append(
            f"{clock.stamp()} ERROR reference.video_worker.handler: complete_video failed: video_id={vid} "
            f"row exists=False"
        )
        out.append(
            f"{clock.stamp()} ERROR reference.video_worker.handler: Video processing failed: "
            f"video_id={vid}, error=Failed to complete video: not_found"
        )
    else:
        out.append(
            f"{clock.stamp()} INFO reference.video_worker.handler: [HANDLER] process_fn completed "
            f"video_id={vid} hls_path=hls/{vid}/index.m3u8"
        )
        out.append(
            f"{clock.stamp()} INFO reference.video_worker.sqs_main: SQS_JOB_COMPLETED | request_id={rid} "
            f"| video_id={vid}"
        )
    return out


def write_log(out: TextIO, size_bytes: int, seed: int = 7) -> tuple[int, int]:
    """Write about ``size_bytes`` of log to ``out``; (lines, jobs) written."""
    rng = random.Random(seed)
    clock = _Clock()
    written = lines = jobs = 0
    vid = 100_000
    while written < size_bytes:
        chunk: list[str] = []
        if jobs % 500 == 0:
            chunk.append(
                f"{clock.stamp()} INFO reference.video_worker.sqs_main: Video Worker (SQS) started "
                f"| queue=academy-video-jobs | wait_time=20"
            )
        if jobs % 5000 == 4999:
            chunk.append(
                f"{clock.stamp()} ERROR reference.video_worker.sqs_main: SQS unavailable "
                f"(AWS credentials invalid or missing?): An error occurred (InvalidClientTokenId)"
            )
            chunk.append(f"{clock.stamp()} ERROR reference.video_worker.config: config error: R2_ENDPOINT is required")
        for _ in range(50):
            vid += rng.randrange(1, 3)
            chunk += _job(rng, clock, vid, rng.randrange(120, 280))
            jobs += 1
        text = "\n".join(chunk) + "\n"
        out.write(text)
        written += len(text.encode())
        lines += len(chunk)
    return lines, jobs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size-mb", type=float, default=1024)
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8") as out:
        lines, jobs = write_log(out, int(args.size_mb * (1 << 20)))
    print(f"{args.out}: {lines} lines, {jobs} jobs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
