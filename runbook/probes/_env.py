"""Environments read by probes (a container's, a process's, a Lambda's) hold secrets: keep only what is asked."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping


def keep_only(
    env: Mapping[str, str],
    keep: Collection[str],
    observe: Callable[[Mapping[str, str]], None] | None = None,
) -> dict[str, str]:
    """``env`` reduced to the names in ``keep``; ``observe`` sees the whole of it first (the caller registers its
    secrets for scrubbing, so that a value echoed elsewhere, in a log line, is masked too) and keeps nothing."""
    if observe is not None:
        observe(env)
    return {key: value for key, value in env.items() if key in keep}
