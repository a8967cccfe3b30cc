"""Read-only probes: each takes its clients as arguments and returns frozen evidence.

Usable from a Python shell without pytest::

    from runbook.clients import aws_client
    from runbook.probes import sqs
    sqs.queue_info(aws_client("sqs", region="ap-northeast-2"), "academy-video-jobs")

Every failure to get an answer is a :class:`runbook.probes.errors.ProbeError`.
"""

from __future__ import annotations

from runbook.probes.errors import ProbeError

__all__ = ["ProbeError"]
