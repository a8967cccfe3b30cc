"""The one error a log source raises."""

from __future__ import annotations


class LogSourceError(Exception):
    """A log source could not be read. The message is one line naming the source and the reason.

    It never carries a traceback text, a credential or a response body: only ``spec`` as the user
    wrote it and a short ``reason`` such as ``file not found`` or ``container not found``.
    """

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        # One line, bounded: the reason may quote an exception's first line.
        self.reason = " ".join(reason.split())[:300]
        super().__init__(f"log source {spec!r}: {self.reason}")
