"""The API stand-in (``python -m reference.api``); see :mod:`reference.api.app` for the routes."""

from __future__ import annotations
