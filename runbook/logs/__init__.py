"""Worker and API logs of the video pipeline, as the runbook reads them (§3, §5, §6, §9, appendix).

A library, no pytest: parse one line (:func:`parse_line`), reduce a whole log to per-video
timelines in one streaming pass (:func:`summarize`), and read logs from a file, a docker container
or a CloudWatch group (:func:`open_lines`)::

    >>> from runbook.logs import open_lines, summarize, Stage
    >>> with open_lines("docker:academy-video-worker", timeout=5) as lines:
    ...     worker = summarize(lines, source="worker")
    >>> worker.stage(111), worker.config_variables, worker.videos(Stage.SKIPPED)
"""

from __future__ import annotations

from runbook.logs.classify import EventKind, is_continuation, parse_timestamp, timezone_named
from runbook.logs.errors import LogSourceError
from runbook.logs.parser import BlockSource, Event, Record, iter_events, iter_records, parse_line, summarize
from runbook.logs.patterns import GREP_PATTERN, MAX_SCAN
from runbook.logs.sources import LogLines, SourceKind, open_lines, parse_spec
from runbook.logs.summary import Summarizer
from runbook.logs.timeline import MAX_EVENTS, Attempt, LogSummary, SkipReason, Stage, VideoTimeline

__all__ = [
    "GREP_PATTERN",
    "MAX_EVENTS",
    "MAX_SCAN",
    "Attempt",
    "BlockSource",
    "Event",
    "EventKind",
    "LogLines",
    "LogSourceError",
    "LogSummary",
    "Record",
    "SkipReason",
    "SourceKind",
    "Stage",
    "Summarizer",
    "VideoTimeline",
    "is_continuation",
    "iter_events",
    "iter_records",
    "open_lines",
    "parse_line",
    "parse_spec",
    "parse_timestamp",
    "summarize",
    "timezone_named",
]
