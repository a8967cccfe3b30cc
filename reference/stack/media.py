"""ffmpeg for the stack: the imageio-ffmpeg binary exposed as ``ffmpeg``, a failing stand-in (fault row 9),
test clips, and HLS checks (playlist durations, decoding a segment)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

FAILING_FFMPEG = """#!/bin/sh
# A broken ffmpeg (fault matrix row 9): a codec library went missing after an image update.
echo "ffmpeg: error while loading shared libraries: libx264.so.164:"\
     "cannot open shared object file: No such file or directory" >&2
exit 127
"""


def ffmpeg_exe() -> str:
    """The ffmpeg binary bundled with imageio-ffmpeg (libx264, aac, hls)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_description() -> str:
    import imageio_ffmpeg

    exe = ffmpeg_exe()
    match = re.search(r"ffmpeg-[\w-]*?v?(\d[\d.]*)$", Path(exe).name)
    binary = match.group(1) if match else "?"
    return f"imageio-ffmpeg {imageio_ffmpeg.__version__} (ffmpeg {binary}) exposed as bin/ffmpeg"


def make_bin_dir(path: Path, *, mode: str = "ok") -> Path:
    """A directory for the front of the worker's PATH.

    ``ok``: ``ffmpeg`` -> the imageio-ffmpeg binary. ``failing``: an ``ffmpeg`` that exits 127 with a loader
    error. ``missing``: empty (the worker's PATH then holds no ffmpeg at all; see :func:`path_without_ffmpeg`).
    """
    path.mkdir(parents=True, exist_ok=True)
    target = path / "ffmpeg"
    if target.exists() or target.is_symlink():
        target.unlink()
    if mode == "ok":
        target.symlink_to(ffmpeg_exe())
    elif mode == "failing":
        target.write_text(FAILING_FFMPEG)
        target.chmod(0o755)
    elif mode != "missing":
        raise ValueError(f"unknown ffmpeg mode {mode!r}")
    return path


def failing_ffmpeg_script(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAILING_FFMPEG)
    path.chmod(0o755)
    return path


def path_without_ffmpeg(path: str) -> str:
    """``path`` minus every directory that contains an ``ffmpeg`` executable."""
    keep = [d for d in path.split(os.pathsep) if d and not os.access(os.path.join(d, "ffmpeg"), os.X_OK)]
    return os.pathsep.join(keep)


def make_clip(
    path: Path | str, seconds: float = 3, *, size: str = "320x240", rate: int = 24, ffmpeg: str | None = None
) -> Path:
    """An H.264/AAC MP4 test clip: ``testsrc`` video plus a 440 Hz ``sine`` tone, ``seconds`` long."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        ffmpeg or ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size={size}:rate={rate}",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(rate),
        "-c:a",
        "aac",
        "-shortest",
        "-movflags",
        "+faststart",
        str(path),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return path


def playlist_durations(playlist_text: str) -> list[float]:
    """The ``#EXTINF`` durations of an HLS media playlist."""
    return [float(m) for m in re.findall(r"#EXTINF:([\d.]+)", playlist_text)]


def playlist_segments(playlist_text: str) -> list[str]:
    return [line.strip() for line in playlist_text.splitlines() if line.strip() and not line.startswith("#")]


def decode_ok(path: Path | str, ffmpeg: str | None = None) -> tuple[bool, str]:
    """Decode a media file completely (``-f null -``); (ok, stderr tail)."""
    proc = subprocess.run(
        [ffmpeg or ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode == 0 and not proc.stderr.strip(), proc.stderr[-2000:]


def media_duration(path: Path | str, ffmpeg: str | None = None) -> float | None:
    """Duration from ffmpeg's banner (``Duration: 00:00:03.00``)."""
    proc = subprocess.run(
        [ffmpeg or ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", proc.stderr)
    if not match:
        return None
    h, m, s = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)
