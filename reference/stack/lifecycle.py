"""Teardown safety net for stacks: every live stack is closed at interpreter exit, and while any stack is
live a default SIGTERM becomes ``SystemExit`` (so ``with`` blocks and ``finally`` run; Ctrl-C already raises
KeyboardInterrupt). Child processes additionally die with their parent (``PR_SET_PDEATHSIG``, see
``processes``), which covers SIGKILL of the test runner."""

from __future__ import annotations

import atexit
import signal
import threading
from typing import Any

_LIVE: list[Any] = []
_previous_handler: Any = None


def _sigterm_to_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def register(stack: Any) -> None:
    """Track a starting stack; install the SIGTERM handler if nobody else handles SIGTERM."""
    global _previous_handler
    _LIVE.append(stack)
    if _main_thread() and _previous_handler is None and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        _previous_handler = signal.SIG_DFL
        signal.signal(signal.SIGTERM, _sigterm_to_exit)


def unregister(stack: Any) -> None:
    """Forget a closed stack; restore SIGTERM when no stack is left."""
    global _previous_handler
    if stack in _LIVE:
        _LIVE.remove(stack)
    if not _LIVE and _previous_handler is not None and _main_thread():
        if signal.getsignal(signal.SIGTERM) is _sigterm_to_exit:
            signal.signal(signal.SIGTERM, _previous_handler)
        _previous_handler = None


def live_stacks() -> list[Any]:
    return list(_LIVE)


@atexit.register
def _close_all() -> None:
    for stack in list(_LIVE):
        stack.close()
