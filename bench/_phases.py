"""A pytest plugin for the benchmarks only: ``-p bench._phases`` records when each phase of a run ends.

Writes ``{"t": seconds since BENCH_T0, "what": ...}`` lines to ``$BENCH_PHASES_FILE`` (nothing without
it): plugin import (interpreter + pytest start), configure (plugins and conftest imported), collection,
fixtures that took a while, session end (checks done, reports written), plugins' terminal summaries that
took a while, and unconfigure. The benchmark
turns them into "where the rehearsal's time goes".
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

_FILE = os.environ.get("BENCH_PHASES_FILE")
_T0 = float(os.environ.get("BENCH_T0") or time.time())


def _mark(what: str, **extra: Any) -> None:
    if _FILE:
        with open(_FILE, "a", encoding="utf-8") as out:
            out.write(json.dumps({"t": time.time() - _T0, "what": what, **extra}) + "\n")


_mark("interpreter and pytest started")


def pytest_configure(config: pytest.Config) -> None:
    _mark("plugins, conftest and options loaded")
    _time_terminal_summaries(config)


def _time_terminal_summaries(config: pytest.Config) -> None:
    """Record each plugin's ``pytest_terminal_summary`` that takes a while (one imported hypothesis)."""
    for impl in config.pluginmanager.hook.pytest_terminal_summary.get_hookimpls():
        if impl.hookwrapper or impl.wrapper:
            continue
        original, plugin = impl.function, impl.plugin_name

        def timed(*args: Any, __original: Any = original, __plugin: str = plugin, **kwargs: Any) -> Any:
            started = time.time()
            try:
                return __original(*args, **kwargs)
            finally:
                if time.time() - started > 0.1:
                    _mark(f"terminal summary of plugin {__plugin}", seconds=time.time() - started)

        setattr(impl, "function", timed)  # noqa: B010 - pluggy marks it Final; a benchmark may wrap it


def pytest_collection_finish(session: pytest.Session) -> None:
    _mark("collected")


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.time()
    yield
    if time.time() - started > 0.2:
        _mark(f"fixture {fixturedef.argname}", seconds=time.time() - started)


@pytest.hookimpl(trylast=True)  # after the runner tore the session's fixtures (the stack) down
def pytest_sessionfinish(session: pytest.Session) -> None:
    _mark("checks done")


def pytest_unconfigure(config: pytest.Config) -> None:
    _mark("unconfigured")
