"""``python -m reference.api``: serve the API stand-in until SIGTERM/SIGINT.

Environment: ``API_PORT`` (0 = pick a free port), ``DATABASE_URL`` or ``DB_*``, ``AWS_ENDPOINT_URL``,
``AWS_REGION``, AWS keys, ``VIDEO_SQS_QUEUE_NAME``, ``REDIS_*``, ``R2_*`` (the upload's head check),
``SECRET_KEY`` (tokens), and the stand-in switches ``API_SKIP_ENQUEUE=1`` (fault: never enqueue) and
``RETRY_CANCEL_TTL`` (seconds; production: 300). The first stdout line is ``API listening on
http://127.0.0.1:PORT``, so a caller that asked for port 0 learns the port by reading one line. Application
records go to stderr in the production format, access lines to stdout in gunicorn's.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from reference import configure_logging
from reference.api.app import build_server

_write = threading.Lock()


def _access(line: str) -> None:
    with _write:
        print(line, flush=True)


def main() -> int:
    """Run the server; return the process exit code."""
    configure_logging("api")
    server = build_server(access=_access)
    print(f"API listening on http://127.0.0.1:{server.server_address[1]}", flush=True)

    def shutdown() -> None:
        server.shutdown()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, which runs in this (the main) thread.
        threading.Thread(target=shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
