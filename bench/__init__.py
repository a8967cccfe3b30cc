"""Benchmarks that print ratios measured side by side in one run (no absolute time is a target).

One script per target of the "fast enough for every PR and for 3 a.m." issue; each runs with one command,
``--short`` gives the small form CI runs, and each prints ``name: what = ratio (target ...) OK|MISS``:

    python -m bench.live_parallel      # 1. live run, parallel evidence, 200 ms per request
    python -m bench.dead_dependency    # 2. one black-holed dependency costs its timeout once
    python -m bench.rehearsal          # 3. rehearsal vs Python start-up + one ffmpeg encode; backend start-ups
    python -m bench.fault_matrix       # 4. every fault row on embedded backends, -n 2
    python -m bench.log_timeline       # 5. a 1 GB worker log vs grep -c -E, peak RSS
    python -m bench.stuck_videos       # 6. 10,000 stuck videos: batched vs the naive loop
    python -m bench                    # all of them, short form (--full for the full figures)

Targets are reported, never asserted: a benchmark exits 0 whether it met its target or not, 1 only when
the benchmark itself broke. The figures of this machine are in ``bench/RESULTS.md``.
"""
