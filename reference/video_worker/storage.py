"""R2 (S3 API) access for the worker: download the upload, publish the HLS files.

R2 keys are not AWS keys (runbook §4): this client takes ``R2_ENDPOINT``/``R2_ACCESS_KEY``/``R2_SECRET_KEY``
explicitly, so it never falls back to ``AWS_*`` credentials or to ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from reference.video_worker.config import WorkerConfig

_CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}


class StorageError(Exception):
    """An R2 call failed; the message carries the S3 error code (``NoSuchKey``, ``InvalidAccessKeyId``...)."""


def _describe(exc: Exception) -> str:
    """``<S3 code>: <message>`` for S3 errors, ``<class>: <message>`` for transport errors."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Unknown')}: {error.get('Message', exc)}"
    return f"{type(exc).__name__}: {exc}"


class R2Storage:
    """The bucket the worker reads uploads from and writes ``hls/{id}/`` into."""

    def __init__(self, config: WorkerConfig) -> None:
        self.bucket = config.r2_bucket
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=config.r2_endpoint,
            aws_access_key_id=config.r2_access_key,
            aws_secret_access_key=config.r2_secret_key,
            region_name=config.r2_region,
            config=Config(
                # R2 and most S3 emulators want path-style URLs (no bucket.host DNS names).
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    def download(self, key: str, dest: Path) -> None:
        """Stream ``key`` into ``dest``. GetObject (not HeadObject) so a missing key says NoSuchKey."""
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
            with dest.open("wb") as out:
                for chunk in body.iter_chunks(1 << 20):
                    out.write(chunk)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"R2 download failed: s3://{self.bucket}/{key}: {_describe(exc)}") from exc

    def upload(self, source: Path, key: str) -> None:
        """Upload one file with the content type HLS players expect."""
        content_type = _CONTENT_TYPES.get(source.suffix, "application/octet-stream")
        try:
            with source.open("rb") as data:
                self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"R2 upload failed: s3://{self.bucket}/{key}: {_describe(exc)}") from exc

    def publish_hls(self, directory: Path, prefix: str) -> str:
        """Upload the segments, then the playlist (so a reader never sees a playlist whose segments
        are missing); return the playlist key."""
        for segment in sorted(directory.glob("*.ts")):
            self.upload(segment, f"{prefix}/{segment.name}")
        playlist_key = f"{prefix}/index.m3u8"
        self.upload(directory / "index.m3u8", playlist_key)
        return playlist_key
