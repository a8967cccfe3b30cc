"""The queue-depth Lambda ``academy-worker-queue-depth-metric`` (appendix B 1): ``handler.lambda_handler``."""

from __future__ import annotations
