"""Target 1: a live run costs about its slowest dependency, not the sum of them.

    python -m bench.live_parallel [--short] [--delay-ms 200] [--repeat 3]

Every dependency (moto AWS, the R2 emulator, Redis, the API) sits behind a proxy adding ``--delay-ms`` per
request. Measured side by side, each in a fresh process:

- ``Evidence(target, concurrent=True)``: every probe of the run started at once, then every key awaited;
  its slowest single probe chain is the largest per-key time of that run (a key that waits for another,
  ``sqs.worker`` on ``worker.side``, includes the wait);
- the same with ``concurrent=False`` (one probe after another);
- the whole live suite, ``pytest checks -m "live and local"``, with and without concurrency
  (``-p bench._serial_evidence``), its slowest chain from the ``evidence_seconds`` of its own verdict.

Targets: wall / slowest chain ≤ 2; wall / the same run without concurrency ≤ 1/4.
"""

from __future__ import annotations

from typing import Any

from bench._common import header, info, main_wrapper, median, parser, ratio_line
from bench._live import LiveSetup, evidence_run, proxied, pytest_live_run, started_stack

NAME = "live_parallel"


def _slowest(timings: dict[str, float]) -> tuple[str, float]:
    key = max(timings, key=lambda k: timings[k])
    return key, timings[key]


def _evidence(setup: LiveSetup, repeat: int) -> None:
    concurrent: list[dict[str, Any]] = []
    serial: list[dict[str, Any]] = []
    for i in range(repeat):
        # Alternate the order so that neither mode always runs on a machine warmed by the other.
        order = (True, False) if i % 2 == 0 else (False, True)
        for mode in order:
            (concurrent if mode else serial).append(evidence_run(setup, concurrent=mode))
    walls = [run["wall"] for run in concurrent]
    chains = [_slowest(run["timings"])[1] for run in concurrent]
    serial_walls = [run["wall"] for run in serial]
    ratios = [w / c for w, c in zip(walls, chains, strict=True)]
    speedups = [w / s for w, s in zip(walls, serial_walls, strict=True)]
    last = concurrent[-1]
    key, chain = _slowest(last["timings"])
    info(NAME, f"evidence, {len(last['timings'])} probes, {repeat} run(s) per mode, each in a fresh process")
    info(NAME, f"concurrent wall {median(walls):.2f}s (runs: {', '.join(f'{w:.2f}' for w in walls)})")
    info(NAME, f"slowest chain   {median(chains):.2f}s (last run: {key} {chain:.2f}s)")
    info(NAME, f"serial wall     {median(serial_walls):.2f}s (runs: {', '.join(f'{w:.2f}' for w in serial_walls)})")
    top = sorted(last["timings"].items(), key=lambda kv: -kv[1])[:6]
    info(NAME, "slowest keys (concurrent): " + ", ".join(f"{k} {v:.2f}s" for k, v in top))
    top = sorted(serial[-1]["timings"].items(), key=lambda kv: -kv[1])[:6]
    info(NAME, "slowest keys (serial):     " + ", ".join(f"{k} {v:.2f}s" for k, v in top))
    if last["errors"]:
        info(
            NAME,
            "probe errors (expected ones: no docker container in a local deployment, no alt Lambda): "
            + ", ".join(f"{k}={v}" for k, v in sorted(last["errors"].items())),
        )
    ratio_line(NAME, "wall/slowest_chain", median(ratios), "≤", 2)
    ratio_line(NAME, "wall/serial_wall", median(speedups), "≤", 0.25)


def _pytest(setup: LiveSetup, repeat: int) -> None:
    walls: list[float] = []
    serial_walls: list[float] = []
    collect_walls: list[float] = []
    lean_walls: list[float] = []
    chains: list[float] = []
    verdict: dict[str, Any] | None = None
    serial_verdict: dict[str, Any] | None = None
    for _ in range(repeat):
        wall, verdict, _out = pytest_live_run(setup, "concurrent")
        serial_wall, serial_verdict, _out = pytest_live_run(setup, "serial", serial=True)
        collect_wall, _none, _out = pytest_live_run(setup, "collect", extra=["--collect-only"])
        # hypothesis's pytest plugin imports hypothesis in its terminal summary, in every run that has it.
        lean_wall, _lean, _out = pytest_live_run(setup, "lean", extra=["-p", "no:hypothesispytest"])
        lean_walls.append(lean_wall)
        if verdict is None or serial_verdict is None:
            raise RuntimeError("a live pytest run wrote no verdict")
        walls.append(wall)
        serial_walls.append(serial_wall)
        collect_walls.append(collect_wall)
        chains.append(_slowest(verdict.get("evidence_seconds", {}))[1])
    if verdict is None or serial_verdict is None:
        raise RuntimeError("no live pytest run")
    key, chain = _slowest(verdict.get("evidence_seconds", {}))
    serial_keys = verdict.get("evidence_seconds", {}), serial_verdict.get("evidence_seconds", {})
    wall, serial_wall, collect_wall = median(walls), median(serial_walls), median(collect_walls)
    info(
        NAME,
        f'pytest checks -m "live and local", {repeat} run(s): wall {wall:.2f}s '
        f"(healthy={verdict['healthy']}, {len(serial_keys[0])} probes started), slowest chain {median(chains):.2f}s "
        f"(last: {key} {chain:.2f}s)",
    )
    info(
        NAME,
        f"  without concurrency {serial_wall:.2f}s (healthy={serial_verdict['healthy']}, "
        f"{len(serial_keys[1])} probes asked for by the selected checks, "
        f"{sum(serial_keys[1].values()):.2f}s of probing)",
    )
    info(
        NAME,
        f"  start-up + collection alone (--collect-only): {collect_wall:.2f}s; "
        f"the rest of the run: {wall - collect_wall:.2f}s",
    )
    info(
        NAME,
        f"  the same run with -p no:hypothesispytest: {median(lean_walls):.2f}s, "
        f"wall/slowest_chain = {median(lean_walls) / median(chains):.2f}",
    )
    ratio_line(
        NAME,
        "pytest_wall/slowest_chain",
        median([w / c for w, c in zip(walls, chains, strict=True)]),
        "≤",
        2,
        "  (whole process: interpreter, imports, collection, report)",
    )
    ratio_line(NAME, "pytest_wall/pytest_serial_wall", wall / serial_wall, "≤", 0.25, "  (whole processes)")
    info(
        NAME,
        f"(pytest_wall - collect_only)/slowest_chain = {(wall - collect_wall) / median(chains):.2f}; "
        f"(pytest_wall - collect_only)/(pytest_serial_wall - collect_only) = "
        f"{(wall - collect_wall) / max(serial_wall - collect_wall, 1e-9):.2f}",
    )


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--delay-ms", type=float, default=200.0, help="latency added per request (default 200)")
    p.add_argument("--repeat", type=int, default=None, help="runs per mode (default 3; short: 1)")
    p.add_argument("--no-pytest", action="store_true", help="skip the pytest -m live runs")
    args = p.parse_args()
    repeat = args.repeat or (1 if args.short else 3)

    def body() -> None:
        header(NAME, args.short, delay_ms=args.delay_ms, repeat=repeat)
        with started_stack() as stack, proxied(stack, args.delay_ms / 1000) as setup:
            info(
                NAME,
                "proxied: "
                + ", ".join(f"{n} -> {p.address}" for n, p in setup.proxies.items())
                + "; database: SQLite file (no network hop)",
            )
            _evidence(setup, repeat)
            if not args.no_pytest:
                _pytest(setup, repeat)
            info(NAME, f"requests delayed per proxy: {setup.requests()}")

    return main_wrapper(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
