"""Fixtures for the report's tests (helpers in ``report_harness``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from report_browser import Chromium
from report_harness import ensure_chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[Chromium]:
    """A headless Chromium (Debian's) driven over the DevTools protocol."""
    with Chromium(ensure_chromium()) as chromium:
        yield chromium
