"""Target 2: one dead dependency (a black hole) costs its timeout once, not once per check.

    python -m bench.dead_dependency [--short] [--timeout 3] [--deps aws,r2,redis,api]

One embedded stack; every dependency behind a proxy of ours (no added latency). For each dependency in
turn its proxy becomes a black hole (connections accepted, never answered: a firewall dropping packets),
and a cold live run (``Evidence(target).start()`` + every key awaited, in a fresh process) is timed next to
the same run with nothing dead. In the full form the whole live suite (``pytest checks -m "live and
local"``) is timed the same way.

Target, per dependency: wall(dead) / (timeout + wall(healthy)) ≤ 1.2. The line printed is the worst one.
"""

from __future__ import annotations

from typing import Any

from bench._common import header, info, main_wrapper, median, parser, ratio_line
from bench._live import DEPENDENCIES, evidence_run, proxied, pytest_live_run, started_stack

NAME = "dead_dependency"


def _failed(run: dict[str, Any]) -> str:
    errors: dict[str, str] = run["errors"]
    keys = sorted(k for k in errors if k not in ("worker.container", "scaler.alt_lambda"))
    return ", ".join(keys) or "none"


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--timeout", type=float, default=None, help="--runbook-timeout (default 3; short: 1)")
    p.add_argument(
        "--deps",
        default=None,
        help=f"dependencies to kill, comma-separated (default {','.join(DEPENDENCIES)}; short: redis,aws)",
    )
    p.add_argument("--repeat", type=int, default=None, help="runs per case (default 3; short: 1)")
    p.add_argument("--no-pytest", action="store_true", help="skip the pytest -m live runs (default in short form)")
    args = p.parse_args()
    timeout = args.timeout or (1.0 if args.short else 3.0)
    deps = (args.deps or ("redis,aws" if args.short else ",".join(DEPENDENCIES))).split(",")
    repeat = args.repeat or (1 if args.short else 3)
    use_pytest = not args.no_pytest and not args.short

    def body() -> None:
        header(NAME, args.short, timeout=timeout, deps=",".join(deps), repeat=repeat)
        with started_stack() as stack:
            with proxied(stack, 0.0, timeout=timeout) as healthy_setup:
                healthy = [evidence_run(healthy_setup)["wall"] for _ in range(repeat)]
                healthy_pytest = (
                    [pytest_live_run(healthy_setup, f"healthy{i}")[0] for i in range(repeat)] if use_pytest else []
                )
            info(
                NAME,
                f"healthy evidence run {median(healthy):.2f}s"
                + (f", healthy pytest -m live run {median(healthy_pytest):.2f}s" if use_pytest else ""),
            )
            worst: tuple[float, str] = (0.0, "")
            worst_pytest: tuple[float, str] = (0.0, "")
            for dep in deps:
                with proxied(stack, 0.0, dead=dep, timeout=timeout) as setup:
                    runs = [evidence_run(setup) for _ in range(repeat)]
                    wall = median([r["wall"] for r in runs])
                    ratio = wall / (timeout + median(healthy))
                    slowest = max(runs[-1]["timings"].items(), key=lambda kv: kv[1])
                    line = (
                        f"{dep} dead: evidence wall {wall:.2f}s, ratio {ratio:.2f}; slowest {slowest[0]} "
                        f"{slowest[1]:.2f}s; failed keys: {_failed(runs[-1])}"
                    )
                    if use_pytest:
                        pw = [pytest_live_run(setup, f"dead-{dep}{i}") for i in range(repeat)]
                        p_wall = median([w for w, _v, _o in pw])
                        p_ratio = p_wall / (timeout + median(healthy_pytest))
                        verdict = pw[-1][1] or {}
                        root = verdict.get("root_cause") or {}
                        said = (
                            f"root cause {root.get('layer')}/{root.get('cause')}"
                            if root
                            else "healthy"
                            if verdict.get("healthy")
                            else "no root cause (some checks unknown)"
                        )
                        line += f"; pytest wall {p_wall:.2f}s, ratio {p_ratio:.2f}, verdict: {said}"
                        worst_pytest = max(worst_pytest, (p_ratio, dep))
                    info(NAME, line)
                    worst = max(worst, (ratio, dep))
            ratio_line(NAME, f"wall/(timeout+healthy), worst of {len(deps)} ({worst[1]} dead)", worst[0], "≤", 1.2)
            if use_pytest:
                ratio_line(
                    NAME,
                    f"pytest_wall/(timeout+healthy_pytest), worst of {len(deps)} ({worst_pytest[1]} dead)",
                    worst_pytest[0],
                    "≤",
                    1.2,
                )

    return main_wrapper(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
