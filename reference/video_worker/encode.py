"""ffmpeg -> HLS with progress: the encode step of ``process_fn``.

ffmpeg writes ``key=value`` progress blocks to stdout (``-progress pipe:1``); the input's duration comes
from its stderr banner (``Duration: 00:00:03.00``). Their ratio is the percent reported to Redis.
"""

from __future__ import annotations

import collections
import re
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

SEGMENT_SECONDS = 1
PLAYLIST = "index.m3u8"
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")


class EncodeError(Exception):
    """ffmpeg is missing or failed; the message names ffmpeg and carries its exit code and stderr tail
    (``stderr``: the tail's lines, as ffmpeg printed them)."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


class EncodeInterrupted(Exception):
    """The worker is shutting down; ffmpeg was stopped."""


def hls_command(ffmpeg: str, source: Path, out_dir: Path) -> list[str]:
    """The ffmpeg command line: H.264/AAC, 1 s segments (a keyframe every second), VOD playlist."""
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-i",
        str(source),
        # Video is required, audio optional ("?"): a silent upload must still encode.
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        # Fixed GOP at 24 fps plus forced keyframes each segment for other frame rates; no scene-cut
        # keyframes, so every segment is exactly SEGMENT_SECONDS long.
        "-g",
        "24",
        "-keyint_min",
        "24",
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
        "-c:a",
        "aac",
        "-f",
        "hls",
        "-hls_time",
        str(SEGMENT_SECONDS),
        "-hls_playlist_type",
        "vod",
        "-hls_segment_filename",
        str(out_dir / "index%03d.ts"),
        "-progress",
        "pipe:1",
        "-nostats",
        str(out_dir / PLAYLIST),
    ]


class _StderrReader(threading.Thread):
    """Drain stderr (a full pipe would stall ffmpeg), keep its tail, and find the input duration."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self.tail: collections.deque[str] = collections.deque(maxlen=15)
        self.duration: float | None = None

    def run(self) -> None:
        for line in self._stream:  # type: ignore[attr-defined]
            line = line.rstrip()
            self.tail.append(line)
            match = _DURATION.search(line)
            if match and self.duration is None:
                hours, minutes, seconds = match.groups()
                self.duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def encode_to_hls(
    ffmpeg: str,
    source: Path,
    out_dir: Path,
    *,
    on_progress: Callable[[int], None],
    stop: threading.Event,
    slowdown_per_segment: float = 0.0,
) -> Path:
    """Encode ``source`` into ``out_dir/index.m3u8`` + ``index*.ts``; return the playlist path.

    ``on_progress(percent)`` is called with 0..99 as ffmpeg advances (100 is the caller's, once the
    job is really done). ``slowdown_per_segment`` holds each finished segment that many seconds before
    it counts: a fault-injection switch that turns a 3 s clip into a "long job" with honest progress.
    ``stop`` aborts the encode (ffmpeg is terminated) and raises :class:`EncodeInterrupted`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.Popen(
            hls_command(ffmpeg, source, out_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    except OSError as exc:
        raise EncodeError(f"ffmpeg could not start ({ffmpeg}): {type(exc).__name__}: {exc}") from exc
    stderr = _StderrReader(proc.stderr)
    stderr.start()
    segments_counted = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if key != "out_time_us" or not value.lstrip("-").isdigit():
                continue
            seconds = max(int(value), 0) / 1_000_000
            # Count each segment boundary separately so a slowed job reports progress step by step.
            while segments_counted < int(seconds // SEGMENT_SECONDS):
                segments_counted += 1
                on_progress(_percent(segments_counted * SEGMENT_SECONDS, stderr.duration))
                if slowdown_per_segment and stop.wait(slowdown_per_segment):
                    break
            on_progress(_percent(seconds, stderr.duration))
            if stop.is_set():
                break
        if stop.is_set():
            raise EncodeInterrupted("shutdown requested during encode")
        returncode = proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stderr.join(timeout=5)
    if returncode != 0:
        tail = " | ".join(line for line in stderr.tail if line)[-800:]
        lines = "\n".join(line for line in stderr.tail if line)[-2000:]
        raise EncodeError(f"ffmpeg exited with code {returncode}: {tail or '(no stderr)'}", lines)
    playlist = out_dir / PLAYLIST
    if not playlist.exists():
        raise EncodeError(f"ffmpeg exited with code 0 but wrote no {PLAYLIST}")
    return playlist


def _percent(seconds: float, duration: float | None) -> int:
    """0..99: 100 is reserved for 'READY', after the upload and the database update."""
    if not duration:
        return 0
    return max(0, min(99, int(seconds * 100 / duration)))
