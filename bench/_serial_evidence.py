"""A pytest plugin for the benchmarks only: ``-p bench._serial_evidence`` turns evidence concurrency off.

The suite has no option for it (production never wants it); the benchmark needs the same live run with
probes one after another to show what concurrency buys. It changes the default of
``Evidence(..., concurrent=...)`` for this process, nothing else.
"""

from __future__ import annotations

from runbook.evidence import Evidence

_defaults = Evidence.__init__.__kwdefaults__
if _defaults is None or "concurrent" not in _defaults:
    raise RuntimeError("Evidence(..., concurrent=...) is gone; update bench._serial_evidence")
_defaults["concurrent"] = False
