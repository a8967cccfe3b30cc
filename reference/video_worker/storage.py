"""R2 (S3 API) access for the worker, as the real one does it: the upload is read through a presigned GET
(retried with backoff, ``download retry attempt=N err=...``), the HLS files are written with the worker's R2 keys,
and the raw upload is deleted once the video is READY.

R2 keys are not AWS keys (runbook §4): the client takes ``R2_ENDPOINT``/``R2_ACCESS_KEY``/``R2_SECRET_KEY``
explicitly, so it never falls back to ``AWS_*`` credentials or to ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from reference.video_worker.config import WorkerConfig

log = logging.getLogger("video_worker")

_CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}


class R2Storage:
    """The buckets the worker reads uploads from and writes ``tenants/{t}/video/hls/{id}/`` into."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=config.r2_endpoint,
            aws_access_key_id=config.r2_access_key,
            aws_secret_access_key=config.r2_secret_key,
            region_name=config.r2_region,
            config=Config(
                s3={"addressing_style": "path"},  # R2 and S3 emulators want path-style URLs
                signature_version="s3v4",
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    def download(self, key: str, dest: Path) -> None:
        """GET ``key``; up to ``retry_max`` tries, then ``download failed: <error>`` worded as ``requests`` words
        an HTTP error. (The real worker GETs a presigned URL; moto's IAM check cannot authenticate one, so the same
        GET is signed in its header here: the same refusal, the same lines.)"""
        cfg = self.config
        url = f"{cfg.r2_endpoint.rstrip('/')}/{cfg.download_bucket}/{key}"
        attempts = max(1, cfg.retry_max)
        for attempt in range(1, attempts + 1):
            try:
                body = self._client.get_object(Bucket=cfg.download_bucket, Key=key)["Body"]
                with dest.open("wb") as out:
                    for chunk in body.iter_chunks(1 << 20):
                        out.write(chunk)
                return
            except Exception as exc:
                error = _http_error(exc, url)
                if attempt >= attempts:
                    raise RuntimeError(f"download failed: {error}") from exc
                log.warning("download retry attempt=%s err=%s", attempt, error)
                time.sleep(min(cfg.backoff_cap, cfg.backoff_base * 2 ** (attempt - 1)))

    def upload(self, source: Path, key: str) -> None:
        content_type = _CONTENT_TYPES.get(source.suffix, "application/octet-stream")
        try:
            with source.open("rb") as data:
                self._client.put_object(Bucket=self.config.r2_bucket, Key=key, Body=data, ContentType=content_type)
        except Exception as exc:
            raise RuntimeError(f"upload failed key={key} err={exc}") from exc

    def publish_hls(self, directory: Path, prefix: str) -> str:
        """Segments and the variant playlist under ``{prefix}/v1/``, then ``master.m3u8``; return its key."""
        for segment in sorted(directory.glob("*.ts")):
            self.upload(segment, f"{prefix}/v1/{segment.name}")
        self.upload(directory / "index.m3u8", f"{prefix}/v1/index.m3u8")
        master = directory / "master.m3u8"
        master.write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nv1/index.m3u8\n")
        self.upload(master, f"{prefix}/master.m3u8")
        return f"{prefix}/master.m3u8"

    def delete_raw(self, key: str) -> None:
        self._client.delete_object(Bucket=self.config.download_bucket, Key=key)


def _http_error(exc: BaseException, url: str) -> str:
    """The error as the ``requests`` library words it: ``403 Client Error: Forbidden for url: <url>``."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code:
            kind = "Client" if 400 <= code < 500 else "Server"
            return f"{code} {kind} Error: {HTTPStatus(code).phrase} for url: {url}"
    return str(exc)
