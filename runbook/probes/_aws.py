"""The one door through which AWS probes call boto3: read operations only, errors translated.

Live runs point at production, so the door refuses any operation that is not a read
(``get_*``, ``describe_*``, ``list_*``, ``head_*``); ``receive_message`` cannot slip through.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from runbook.probes.errors import ProbeError, from_boto

#: boto3 clients are untyped without stubs; probes accept any object with the client's methods.
AwsClient = Any

_READ_PREFIXES: Final = ("get_", "describe_", "list_", "head_")


def _check_read_only(operation: str) -> None:
    if not operation.startswith(_READ_PREFIXES):
        raise ValueError(f"probes only call read operations, not {operation!r}")


def client_timeout(client: AwsClient) -> float | None:
    """The read timeout the client was built with, for error messages."""
    config = getattr(getattr(client, "meta", None), "config", None)
    value = getattr(config, "read_timeout", None)
    return float(value) if isinstance(value, (int, float)) else None


def _service(client: AwsClient) -> str | None:
    """The client's service name (``sqs``, ``s3``): the prefix of its IAM actions."""
    model = getattr(getattr(client, "meta", None), "service_model", None)
    name = getattr(model, "service_name", None)
    return name if isinstance(name, str) else None


def call(client: AwsClient, operation: str, dependency: str, **params: Any) -> dict[str, Any]:
    """Call one read operation; any boto error becomes a :class:`ProbeError`."""
    _check_read_only(operation)
    method = getattr(client, operation)
    try:
        response: dict[str, Any] = method(**params)
    except ProbeError:
        raise
    except Exception as exc:
        raise from_boto(exc, dependency, timeout=client_timeout(client), service=_service(client)) from exc
    return response


def pages(client: AwsClient, operation: str, dependency: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Yield the pages of a paginated read operation; errors as in :func:`call`."""
    _check_read_only(operation)
    try:
        paginator = client.get_paginator(operation)
        iterator = iter(paginator.paginate(**params))
        while True:
            try:
                page: dict[str, Any] = next(iterator)
            except StopIteration:
                return
            yield page
    except ProbeError:
        raise
    except Exception as exc:
        raise from_boto(exc, dependency, timeout=client_timeout(client), service=_service(client)) from exc
