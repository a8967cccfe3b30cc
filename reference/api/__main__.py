"""``python -m reference.api``: serve the API stand-in until SIGTERM/SIGINT.

Environment: ``API_PORT`` (0 = pick a free port), ``DATABASE_URL`` or ``DB_*``, ``AWS_ENDPOINT_URL``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, AWS keys, ``VIDEO_SQS_QUEUE_NAME``, ``REDIS_*``,
``API_SKIP_ENQUEUE=1`` (fault: never enqueue), ``RETRY_CANCEL_TTL`` (seconds, 0 = no cancel flag).
The first stdout line is ``API listening on http://127.0.0.1:PORT``, so a caller that asked for port 0
learns the port by reading one line.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from reference import configure_logging
from reference.api.app import build_server


def main() -> int:
    """Run the server; return the process exit code."""
    configure_logging()
    server = build_server()
    print(f"API listening on http://127.0.0.1:{server.server_address[1]}", flush=True)

    def shutdown() -> None:
        logging.getLogger("reference.api").info("shutting down")
        server.shutdown()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, which runs in this (the main) thread:
        # call it from another thread or it would wait for itself.
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
