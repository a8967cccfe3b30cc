"""R2 (S3 API) bucket evidence (runbook §3, §4): can these keys reach the video bucket?

``head_bucket`` answers a 403 without an error code, which cannot tell bad keys from a missing
permission; a one-key ``list_objects_v2`` (still a read) is asked for the code then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from runbook.probes._aws import AwsClient, call, pages
from runbook.probes.errors import ProbeError

_BUCKET: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class BucketAccess:
    """The bucket answered a read with these credentials."""

    bucket: str
    ok: bool
    region: str | None = None


@dataclass(frozen=True)
class ObjectInfo:
    """One object under a prefix."""

    key: str
    size: int
    last_modified: datetime | None


def _check_bucket(bucket: str) -> None:
    if not _BUCKET.match(bucket):
        raise ProbeError("r2", "invalid", f"invalid bucket name {bucket!r}")


def bucket_access(s3: AwsClient, bucket: str) -> BucketAccess:
    """``head_bucket``; bad keys → ``kind="auth"``, no permission → ``"denied"``, no bucket → ``"not-found"``."""
    _check_bucket(bucket)
    try:
        response = call(s3, "head_bucket", "r2", Bucket=bucket)
    except ProbeError as error:
        if error.code not in ("403", "400") and error.kind != "denied":
            raise
        return _explain_forbidden(s3, bucket, error)
    headers: dict[str, Any] = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    region = headers.get("x-amz-bucket-region")
    return BucketAccess(bucket=bucket, ok=True, region=str(region) if region else None)


def _explain_forbidden(s3: AwsClient, bucket: str, head_error: ProbeError) -> BucketAccess:
    try:
        call(s3, "list_objects_v2", "r2", Bucket=bucket, MaxKeys=1)
    except ProbeError as error:
        # from_boto already calls InvalidAccessKeyId / SignatureDoesNotMatch "auth", AccessDenied "denied".
        raise error from head_error
    # Listing works where HEAD did not (an object-scoped token): the bucket is reachable.
    return BucketAccess(bucket=bucket, ok=True)


def list_objects(s3: AwsClient, bucket: str, prefix: str = "", limit: int = 100) -> tuple[ObjectInfo, ...]:
    """At most ``limit`` objects under ``prefix``, in key order."""
    _check_bucket(bucket)
    if limit < 1:
        raise ProbeError("r2", "invalid", f"limit must be >= 1, got {limit}")
    found: list[ObjectInfo] = []
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    params["PaginationConfig"] = {"MaxItems": limit, "PageSize": min(limit, 1000)}
    for page in pages(s3, "list_objects_v2", "r2", **params):
        for item in page.get("Contents", []):
            modified = item.get("LastModified")
            found.append(
                ObjectInfo(
                    key=str(item["Key"]),
                    size=int(item.get("Size", 0)),
                    last_modified=modified if isinstance(modified, datetime) else None,
                )
            )
            if len(found) >= limit:
                return tuple(found)
    return tuple(found)


def list_keys(s3: AwsClient, bucket: str, prefix: str = "", limit: int = 100) -> tuple[str, ...]:
    """The keys of :func:`list_objects`."""
    return tuple(item.key for item in list_objects(s3, bucket, prefix, limit))
