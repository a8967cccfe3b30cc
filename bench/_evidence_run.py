"""Child process of the live benchmarks: one cold evidence run of a live target, as JSON on stdout.

    python -m bench._evidence_run SPEC.json [--serial]

SPEC holds the API's environment, the worker env file, log files, the worker process pattern, the
video ids and the timeout (written by :func:`bench._live.proxied`). Prints one JSON line:
``{"wall": s, "timings": {key: s}, "errors": {key: "dependency/kind"}, "concurrent": bool}``.
Imports happen before the clock starts; client creation, connections and requests are inside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from runbook.config import read_env_file, side_from_env
from runbook.evidence import Evidence, NotConfigured
from runbook.probes.errors import ProbeError
from runbook.target import Target


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("--serial", action="store_true", help="Evidence(concurrent=False)")
    args = parser.parse_args()
    spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    target = Target(
        mode="live",
        api=side_from_env(spec["api_env"], "api"),
        deployment=None,
        deployments=("docker", "asg", "local"),  # every probe starts
        worker_env=read_env_file(spec["worker_env_file"]),
        worker_env_source=f"--worker-env-file {spec['worker_env_file']}",
        worker_log=spec["worker_log"],
        api_log=spec["api_log"],
        worker_process=spec["worker_process"],
        video_ids=tuple(spec["video_ids"]),
        timeout=float(spec["timeout"]),
    )
    errors: dict[str, str] = {}
    started = time.perf_counter()
    evidence = Evidence(target, concurrent=not args.serial).start()
    keys = evidence.keys()  # a method of Evidence, not a dict
    for key in keys:
        try:
            evidence.get(key)
        except ProbeError as exc:
            errors[key] = f"{exc.dependency}/{exc.kind}"
        except NotConfigured as exc:
            errors[key] = f"not-configured/{exc.setting}"
        except Exception as exc:
            errors[key] = type(exc).__name__
    wall = time.perf_counter() - started
    evidence.close()
    print(json.dumps({"wall": wall, "timings": evidence.timings, "errors": errors, "concurrent": not args.serial}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
