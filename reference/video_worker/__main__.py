"""``python -m reference.video_worker``: the command line contains ``video_worker``, which is how the
suite's ``--worker-process`` pattern finds a locally running worker."""

from __future__ import annotations

import sys

from reference.video_worker.sqs_main import main

if __name__ == "__main__":
    sys.exit(main())
