"""Docker container evidence (runbook §1 "docker ps | grep academy-video-worker", §3 env).

``docker ps | grep`` and the SDK's ``name`` filter both match substrings, so
``academy-video-worker-2`` would pass for ``academy-video-worker``: the name is compared exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from runbook.probes._env import keep_only
from runbook.probes.errors import ProbeError, from_docker

#: ``docker.DockerClient``; the SDK ships no type information.
DockerClient = Any

_NAME: Final = re.compile(r"^/?[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FRACTION: Final = re.compile(r"\.(\d+)")


@dataclass(frozen=True)
class ContainerInfo:
    """One container, from ``docker inspect``. ``env`` holds only the variables the caller asked to keep (some
    are secrets): it is kept out of ``repr``."""

    name: str
    id: str
    status: str
    running: bool
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None
    restart_count: int
    env: dict[str, str] = field(repr=False, hash=False, compare=False)
    image: str = ""


def parse_docker_time(value: object) -> datetime | None:
    """Docker's RFC 3339 nanosecond timestamps; its zero time (``0001-01-01``) means "never"."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def parse_env(entries: Iterable[str] | None) -> dict[str, str]:
    """``["K=V", "FLAG"]`` → ``{"K": "V", "FLAG": ""}``; the last duplicate wins, as in Docker."""
    env: dict[str, str] = {}
    for entry in entries or ():
        key, _, value = str(entry).partition("=")
        if key:
            env[key] = value
    return env


def _client_timeout(client: DockerClient) -> float | None:
    value = getattr(getattr(client, "api", None), "timeout", None)
    return float(value) if isinstance(value, (int, float)) else None


def container(
    client: DockerClient,
    name: str,
    *,
    keep_env: Collection[str] = (),
    observe_env: Callable[[Mapping[str, str]], None] | None = None,
) -> ContainerInfo:
    """The container named exactly ``name`` (running or not); none → ``ProbeError(kind="not-found")``.

    ``docker inspect`` answers with the container's whole environment: only the names in ``keep_env`` stay
    (none by default), the others are dropped here, before anything is evidence
    (:func:`runbook.probes._env.keep_only`)."""
    if not _NAME.match(name):
        raise ProbeError("docker", "invalid", f"invalid container name {name!r}")
    wanted = name.lstrip("/")
    try:
        # The filter narrows the listing server-side; the exact comparison is what decides.
        listed: list[dict[str, Any]] = client.api.containers(all=True, filters={"name": f"^/?{re.escape(wanted)}$"})
        matches = [item for item in listed if f"/{wanted}" in (item.get("Names") or ())]
        if not matches:
            raise ProbeError("docker", "not-found", f"not-found: no container named {wanted!r}")
        attrs: dict[str, Any] = client.api.inspect_container(matches[0]["Id"])
    except ProbeError:
        raise
    except Exception as exc:
        raise from_docker(exc, timeout=_client_timeout(client)) from exc
    return _info(attrs, keep_env, observe_env)


def _info(
    attrs: dict[str, Any],
    keep_env: Collection[str] = (),
    observe_env: Callable[[Mapping[str, str]], None] | None = None,
) -> ContainerInfo:
    state: dict[str, Any] = attrs.get("State") or {}
    config: dict[str, Any] = attrs.get("Config") or {}
    exit_code = state.get("ExitCode")
    return ContainerInfo(
        name=str(attrs.get("Name", "")).lstrip("/"),
        id=str(attrs.get("Id", "")),
        status=str(state.get("Status", "")),
        running=bool(state.get("Running", False)),
        exit_code=int(exit_code) if isinstance(exit_code, int) else None,
        started_at=parse_docker_time(state.get("StartedAt")),
        finished_at=parse_docker_time(state.get("FinishedAt")),
        restart_count=int(attrs.get("RestartCount", 0) or 0),
        env=keep_only(parse_env(config.get("Env")), keep_env, observe_env),
        image=str(config.get("Image") or attrs.get("Image") or ""),
    )
