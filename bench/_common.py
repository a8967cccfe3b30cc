"""Shared bits of the benchmarks: the ratio line, the run header, timing helpers, the CLI wrapper."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def loadavg() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load ?"
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def header(name: str, short: bool, **settings: object) -> None:
    """One line naming the run: form, machine, load (other work on the machine skews every figure)."""
    extra = " ".join(f"{k}={v}" for k, v in settings.items())
    print(
        f"{name}: {'short' if short else 'full'} form, {os.cpu_count()} cores, {loadavg()}, "
        f"python {platform.python_version()}" + (f", {extra}" if extra else ""),
        flush=True,
    )


def ratio_line(name: str, label: str, value: float, op: str, target: float, note: str = "") -> bool:
    """Print ``name: label = value (target op target) OK|MISS``; return whether the target was met."""
    met = value <= target if op == "≤" else value >= target
    shown = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    print(f"{name}: {label} = {shown} (target {op} {target:g}) {'OK' if met else 'MISS'}{note}", flush=True)
    return met


def info(name: str, text: str) -> None:
    print(f"{name}:   {text}", flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed_run(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path = ROOT, timeout: float = 900
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run a command to completion; (wall seconds, the completed process)."""
    started = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return time.perf_counter() - started, proc


def parser(description: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(description or "").split("\n\n")[0])
    p.add_argument("--short", action="store_true", help="small sizes, as CI runs it")
    return p


def main_wrapper(name: str, body: Callable[[], None]) -> int:
    """Run a benchmark: exit 0 whatever the ratios say, 1 (with the traceback) if it broke."""
    try:
        body()
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(f"{name}: BROKEN (the benchmark itself failed; see the traceback above)", flush=True)
        return 1
    return 0
