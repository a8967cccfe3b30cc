"""The Video Worker stand-in (``python -m reference.video_worker``).

- :mod:`.config`   environment -> :class:`~.config.WorkerConfig` (``config error: <VAR> is required``)
- :mod:`.sqs_main` the SQS long-poll loop and its ``SQS_*`` log lines
- :mod:`.handler`  one job: cancel flag, Redis lock, DB status, process_fn, complete_video
- :mod:`.encode`   ffmpeg -> HLS with progress
- :mod:`.storage`  R2 (S3 API) download and upload
"""

from __future__ import annotations
