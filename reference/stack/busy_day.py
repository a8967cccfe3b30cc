"""A busy production day, compressed: seeded mixed traffic through a running stack, then a fault mid-day.

    day = BusyDay(stack, seed=7, videos=40)    # stack: a started healthy Stack (no faults yet)
    day.run()                                   # the morning: bursts of uploads, retries, deletes, ...
    day.inject(["stale-lock"])                  # mid-day: the fault starts in the running system
    stack.scenario.run()                        # the fault's own flow and symptom, as in the fault matrix

What a day holds (``events(seed, videos)``: the same seed gives the same day, event for event):

- uploads through two API instances (``api.log`` and ``api-2.log``), short (1-3 s) and long (8-10 s) clips,
  in bursts, so jobs wait in the queue behind each other;
- duplicate deliveries: the API's job message for a video sent a second time (SQS delivers at least once);
- retries of finished videos through the API (the source back and the row FAILED first, as the real retry
  needs: a second attempt, long after the first); deletes of finished videos and of abandoned uploads;
- worker restarts (SIGTERM: the current job finishes; the log is rotated: renamed, the new process writes a
  new ``worker.log``), SIGKILLs of an idle worker (restarted on the same log, as a restart policy does), and
  the second API instance restarted onto a rotated log.

What a healthy day leaves out, because production shows it only when something is wrong: a SIGKILL during an
encode (its lock stays for 4 h: the stale-lock fault), a retry's cancel flag meeting an idle worker (the API's
retry sets it for 300 s before it enqueues, so the worker skips the new job: the cancel-requested fault; the
day's API retries without it, as the canary's rehearsal does) and a video deleted while it encodes (row 17).
Every "wait" is a bounded poll of the real state, never a fixed sleep standing in for time.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reference.db import VIDEO_TABLE
from reference.stack import aws as awsmod
from reference.stack.clients import LOCK_KEY, TENANT_CODE, TENANT_ID, key
from reference.stack.faults import resolve
from reference.stack.plan import overlay
from reference.stack.processes import ManagedProcess

#: Busy-day videos are numbered from here: apart from the fault matrix's own (17, 111, 222, 333, 444, 1111).
FIRST_VIDEO = 5001
#: The worker's long poll on a busy day (a stand-in switch, not part of the judged env file): a stopped or killed
#: worker's last poll stays open at the queue this long, and a job sent meanwhile would go to the dead
#: connection (in flight for the queue's 300 s): the day waits this out after every stop, as a deploy would.
WAIT_TIME = 1.0
SETTLE_TIMEOUT = 180.0
HEALTH_INTERVAL = 1.0


@dataclass(frozen=True)
class Event:
    kind: str  # upload | abandon | duplicate | retry | delete | restart | kill | rotate-api | settle
    video: int = 0
    seconds: float = 0.0
    api: int = 0  # which API instance answers (0: api.log, 1: api-2.log)


def events(seed: int, videos: int) -> list[Event]:
    """The day's traffic, from ``seed`` alone (no clock, no state): reproducible."""
    rng = random.Random(seed)
    out: list[Event] = []
    done: list[int] = []  # videos uploaded, not deleted: candidates for retries, duplicates, deletes
    next_id = FIRST_VIDEO
    restarts = {round(videos * f) for f in (0.3, 0.6)}  # two deploys (rotations) in the morning
    kills = {round(videos * 0.45)}
    api_rotation = round(videos * 0.5)
    uploaded = 0
    while uploaded < videos:
        burst = rng.randint(1, 5)
        for _ in range(min(burst, videos - uploaded)):
            long_video = rng.random() < 0.15
            seconds = float(rng.randint(8, 10) if long_video else rng.randint(1, 3))
            vid, next_id = next_id, next_id + 1
            api = rng.randint(0, 1)
            if rng.random() < 0.05:
                out.append(Event("abandon", vid, 1.0, api))  # upload/init only, then deleted by its owner
                continue
            out.append(Event("upload", vid, seconds, api))
            done.append(vid)
            uploaded += 1
            if rng.random() < 0.12:
                out.append(Event("duplicate", vid))
            if uploaded in restarts:
                # A deploy lands while a long job encodes (it finishes first) and nothing else waits: a poll that
                # SIGTERM abandons while jobs wait would take one with it for the queue's 300 s (see _restart).
                vid, next_id = next_id, next_id + 1
                out += [Event("settle"), Event("upload", vid, 10.0, rng.randint(0, 1)), Event("restart", vid)]
                done.append(vid)
            if uploaded in kills:
                out.append(Event("settle"))
                out.append(Event("kill"))
            if uploaded == api_rotation:
                out.append(Event("rotate-api", api=1))
        # Between bursts: sometimes a quiet moment (the queue drains); people act on finished videos.
        if rng.random() < 0.25:
            out.append(Event("settle"))
        if len(done) > 3 and rng.random() < 0.3:
            out.append(Event("retry", rng.choice(done[:-1]), api=rng.randint(0, 1)))
        if len(done) > 6 and rng.random() < 0.12:
            victim = rng.choice(done[:-3])
            done.remove(victim)
            out.append(Event("delete", victim, api=rng.randint(0, 1)))
    out.append(Event("settle"))
    return out


class BusyDay:
    """Drive one seeded day through ``stack`` (a started Stack of the ``embedded`` backend, no fault yet)."""

    def __init__(self, stack: Any, seed: int, videos: int, workers: int = 1) -> None:
        self.stack = stack
        self.seed = seed
        self.videos = videos
        self.workers = workers  # 2: a second worker (the scaler's second instance) polls beside the first
        self.worker2: ManagedProcess | None = None
        self.plan = events(seed, videos)
        self.live: set[int] = set()  # uploaded, not deleted: must end READY
        self.api2: ManagedProcess | None = None
        self.done: Counter[str] = Counter()
        self.attempts: Counter[int] = Counter()  # jobs sent per video (the API's, duplicates, retries)
        self.rotations = {"worker": 0, "api-2": 0}
        self.fault_ids: list[str] = []  # what starts mid-day (set by the rehearsal)
        self.started = 0.0
        self._closed = threading.Event()
        self._api1_url = ""
        self._api2_url = ""

    # --- the day -------------------------------------------------------------------------------------

    @staticmethod
    def configure(stack: Any) -> None:
        """Before the stack starts: the day's stand-in switches (never part of what the checks judge)."""
        stack.plan.api_switches.setdefault("RETRY_CANCEL_TTL", "0")
        stack.plan.worker_switches["VIDEO_WORKER_WAIT_TIME"] = f"{WAIT_TIME:g}"

    def run(self) -> dict[str, Any]:
        self.started = time.monotonic()
        self.api2 = self._start_api2()
        self._api1_url = self.stack.api_url
        threading.Thread(target=self._health_checks, daemon=True, name="busy-day-lb").start()
        if self.workers > 1:
            w, log = self.stack.worker, Path(self.stack.workdir) / "worker-2.log"
            self.worker2 = ManagedProcess("worker-2", w.argv, w.env, log, cwd=w.cwd)
            self.worker2.start().wait_for_log("Video Worker \\(SQS\\) started", 30)
        for event in self.plan:
            getattr(self, "_" + event.kind.replace("-", "_"))(event)
            self.done[event.kind] += 1
        self._settle(None)
        return self.summary()

    def diagnosed(self) -> list[int]:
        """The videos an operator would name (``--video-id``): the last retried, duplicated, long and uploaded."""
        picks: list[int] = []
        for kind in ("retry", "duplicate"):
            ids = [e.video for e in self.plan if e.kind == kind and e.video in self.live]
            picks += ids[-1:]
        longs = [e.video for e in self.plan if e.kind == "upload" and e.seconds >= 8 and e.video in self.live]
        picks += longs[-1:]
        uploads = [e.video for e in self.plan if e.kind == "upload" and e.video in self.live]
        picks += uploads[-1:]
        return list(dict.fromkeys(picks))

    def api_logs(self) -> tuple[str, ...]:
        """Every API instance's files, rotated ones first (what ``--api-log`` is given: ``api-2.log*``)."""
        return (str(self.stack.api_log), *self._files("api-2.log"))

    def worker_logs(self) -> tuple[str, ...]:
        """The worker's files, rotated ones first: an operator looking at a day reads ``worker.log*``, as the
        verdict's own remediation says when a line it needs is older than the file it was given."""
        second = (str(self.worker2.log_path),) if self.worker2 is not None else ()
        return (*self._files("worker.log"), *second)

    def _files(self, name: str) -> tuple[str, ...]:
        current = Path(self.stack.workdir) / name
        rotated = sorted(current.parent.glob(f"{name}.*"), key=lambda p: int(p.suffix[1:]))
        return tuple(str(p) for p in [*rotated, current])

    def summary(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "videos": self.videos,
            "events": dict(self.done),
            "live": len(self.live),
            "max_attempts": max(self.attempts.values(), default=0),
            "rotations": dict(self.rotations),
            "seconds": round(time.monotonic() - self.started, 1),
            "diagnosed": self.diagnosed(),
        }

    def write_summary(self, path: Path) -> None:
        path.write_text(json.dumps({**self.summary(), "plan": [asdict(e) for e in self.plan]}, indent=1))

    # --- events --------------------------------------------------------------------------------------

    def _upload(self, e: Event) -> None:
        stack = self.stack
        with self._via(e.api):
            stack.upload_video(e.video, stack.make_clip(e.seconds))
            code, body = stack.upload_complete(e.video)
        if code != 200:
            raise RuntimeError(f"busy day: upload/complete of {e.video} -> {code} {body}")
        self.live.add(e.video)
        self.attempts[e.video] += 1

    def _abandon(self, e: Event) -> None:
        with self._via(e.api):
            self.stack.upload_video(e.video, self.stack.make_clip(e.seconds))
            self._ok(self.stack.delete_video(e.video), "delete of an abandoned upload", e.video)

    def _duplicate(self, e: Event) -> None:
        """The API's message for ``e.video`` delivered a second time (SQS: at least once)."""
        row = self.stack.video_row(e.video)
        body = {
            "video_id": e.video,
            "file_key": str(row["file_key"]),
            "tenant_id": TENANT_ID,
            "tenant_code": TENANT_CODE,
            "created_at": datetime.now(UTC).isoformat(),
            "attempt": 1,
        }
        self.stack.sqs().send_message(QueueUrl=self.stack.aws.queue_url, MessageBody=json.dumps(body))
        self.attempts[e.video] += 1

    def _retry(self, e: Event) -> None:
        self._finished(e.video)
        self.stack.prepare_retry(e.video)  # its source back, the row FAILED: what the real retry needs
        with self._via(e.api):
            self._ok(self.stack.retry(e.video), "retry", e.video)
        self.attempts[e.video] += 1

    def _delete(self, e: Event) -> None:
        self._finished(e.video)
        with self._via(e.api):
            self._ok(self.stack.delete_video(e.video), "delete", e.video)
        self.live.discard(e.video)

    def _restart(self, e: Event) -> None:
        """A deploy: SIGTERM to the worker alone (``docker stop``: PID 1, not its ffmpeg) while job ``e.video``
        encodes; the job finishes, the log is rotated, a new worker writes a new file. Were the worker polling
        while jobs wait, the abandoned poll could take one with it, back only after the queue's 300 s."""
        stack = self.stack
        stack.wait_for(
            lambda: stack.video_status(e.video) != "UPLOADED", 60, f"busy day: job {e.video} started before the deploy"
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(stack.worker.pid, signal.SIGTERM)
        stack.worker.proc.wait(timeout=120)
        stack.worker.stop()
        time.sleep(WAIT_TIME + 0.5)  # its abandoned long poll ends at the queue (see WAIT_TIME)
        self.rotations["worker"] += 1
        log = Path(stack.workdir) / "worker.log"
        log.rename(log.with_name(f"worker.log.{self.rotations['worker']}"))
        stack.start_worker()
        stack.worker.wait_for_log("Video Worker \\(SQS\\) started", 30)

    def _kill(self, _e: Event) -> None:
        """SIGKILL of an idle worker (after a settle), restarted on the same log as a restart policy would."""
        stack = self.stack
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stack.worker.pid, signal.SIGKILL)
        stack.worker.proc.wait(timeout=10)
        time.sleep(WAIT_TIME + 0.5)
        before = stack.worker_log_text().count("Video Worker (SQS) started")
        stack.start_worker()
        stack.wait_for(
            lambda: stack.worker_log_text().count("Video Worker (SQS) started") > before, 30, "worker restarted"
        )

    def _rotate_api(self, _e: Event) -> None:
        assert self.api2 is not None
        self.api2.stop()
        self.rotations["api-2"] += 1
        self.api2.log_path.rename(self.api2.log_path.with_name(f"api-2.log.{self.rotations['api-2']}"))
        self.api2 = self._start_api2()

    def _settle(self, _e: Event | None) -> None:
        """A quiet moment: the queue drained, every live video READY, no lock held."""
        stack = self.stack

        def settled() -> bool:
            if stack.queue_counts() != {"visible": 0, "in_flight": 0}:
                return False
            return not self._unfinished(self.live)

        stack.wait_for(settled, SETTLE_TIMEOUT, f"busy day {self.seed}: every live video READY, the queue empty")

    def _finished(self, video: int) -> None:
        """Until ``video`` is READY with its lock released and the queue empty: people retry and delete finished
        videos (a delete while it encodes is row 17's fault; a retry's FAILED row meeting the video's own
        duplicate still queued is a skip with ``status=FAILED``, row 15's line)."""
        stack = self.stack
        stack.wait_for(
            lambda: not self._unfinished({video}) and stack.queue_counts() == {"visible": 0, "in_flight": 0},
            SETTLE_TIMEOUT,
            f"busy day: video {video} READY, the queue empty",
        )

    def _unfinished(self, videos: set[int]) -> list[int]:
        if not videos:
            return []
        with self.stack.db() as conn:
            rows = conn.execute(f"SELECT id, status FROM {VIDEO_TABLE}")
        ready = {int(r[0]) for r in rows if r[1] == "READY"}
        pending = [v for v in sorted(videos) if v not in ready]
        if pending:
            return pending
        redis = self.stack.redis()
        return [v for v in sorted(videos) if redis.exists(key(LOCK_KEY, v))]

    # --- helpers -------------------------------------------------------------------------------------

    def _start_api2(self) -> ManagedProcess:
        api = self.stack.api
        env = {**api.env, "API_PORT": "0"}
        proc = ManagedProcess("api-2", api.argv, env, Path(self.stack.workdir) / "api-2.log", cwd=api.cwd).start()
        self._api2_url = proc.wait_for_log(r"API listening on (http://127\.0\.0\.1:\d+)", 30).group(1)
        return proc

    def _health_checks(self) -> None:
        """The load balancer: ``GET /health`` on each API instance every second, for as long as the day is
        judged. Its access lines keep an idle instance's log written up to now, as production's are (a file's
        coverage ends at its last write: without them an idle instance's log could prove no absence)."""
        while not self._closed.wait(HEALTH_INTERVAL):
            for url in (self._api1_url, self._api2_url):
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(url + "/health", timeout=2).read()

    @contextlib.contextmanager
    def _via(self, api: int) -> Iterator[None]:
        """Requests inside go to API instance ``api`` (the day is one thread: swapping the URL is safe)."""
        stack, url = self.stack, self.stack.api_url
        if api == 1 and self.api2 is not None:
            stack.api_url = self._api2_url
        try:
            yield
        finally:
            stack.api_url = url

    @staticmethod
    def _ok(response: tuple[int, dict[str, Any]], what: str, video: int) -> None:
        if response[0] >= 300:
            raise RuntimeError(f"busy day: {what} of {video} -> {response[0]} {response[1]}")

    # --- mid-day: the fault --------------------------------------------------------------------------

    def inject(self, fault_ids: Sequence[str]) -> None:
        """Start ``fault_ids`` in the running system, each the way it would begin mid-day in production: a
        worker or API restarted with the fault's configuration (a bad deploy), a resource changed, a lock
        left behind. Then ``stack.scenario.run()`` runs the fault's own flow and waits for its symptom."""
        stack = self.stack
        faults = [resolve(f) for f in fault_ids]
        plan = stack.plan
        before = json.dumps(
            [plan.worker_env, plan.worker_switches, plan.ffmpeg, plan.worker_other_db], sort_keys=True, default=str
        )
        api_before = json.dumps([plan.api_env, plan.api_switches], sort_keys=True)
        queues_before, asg_max_before = list(plan.extra_queues), plan.asg_max
        stack.faults = faults
        if self.worker2 is not None:  # scaled in before the fault: the fault's worker is the only one
            self.worker2.stop()
            time.sleep(WAIT_TIME + 0.5)
        for fault in faults:
            fault.configure(stack)
        if any(f.id == "cancel-requested" for f in faults):
            plan.api_switches.pop("RETRY_CANCEL_TTL", None)  # the fault is the retry's production cancel flag
        for name, region in plan.extra_queues[len(queues_before) :]:
            stack.aws.client("sqs", region=region).create_queue(QueueName=name)
        if plan.asg_max != asg_max_before:
            stack.autoscaling().update_auto_scaling_group(
                AutoScalingGroupName=awsmod.ASG_NAME, MaxSize=plan.asg_max, DesiredCapacity=min(1, plan.asg_max)
            )
        if plan.worker_other_db:
            stack.worker_database = stack.database.other_database(plan.worker_other_db)
        for fault in faults:
            fault.prepare(stack)
        if json.dumps([plan.api_env, plan.api_switches], sort_keys=True) != api_before:
            self._restart_api()
        worker_changed = (
            json.dumps([plan.worker_env, plan.worker_switches, plan.ffmpeg, plan.worker_other_db], sort_keys=True,
                       default=str) != before
        )  # fmt: skip
        if not plan.start_worker or plan.stop_worker_after_start:
            stack.stop_worker()
            time.sleep(WAIT_TIME + 0.5)
        elif worker_changed:
            stack.stop_worker()
            time.sleep(WAIT_TIME + 0.5)
            stack._write_worker_env()
            before_starts = stack.worker_log_text().count("Video Worker (SQS) started")
            stack.start_worker()
            stack.wait_for(
                lambda: (
                    stack.worker_log_text().count("Video Worker (SQS) started") > before_starts
                    or "config error" in stack.worker_log_text()[-2000:]
                    or "Failed to get queue URL" in stack.worker_log_text()[-4000:]
                    or "SQS unavailable" in stack.worker_log_text()[-4000:]
                    or not stack.worker_running()
                ),
                30,
                "the reconfigured worker to start (or fail)",
            )
        for fault in faults:
            fault.inject(stack)

    def _restart_api(self) -> None:
        """API instance 1 restarted on its port (the worker's API_BASE_URL) with the fault's settings."""
        stack = self.stack
        old = stack.api
        port = stack.api_url.rsplit(":", 1)[1]
        stack.api_env = overlay(stack.api_env, stack.plan.api_env)
        env = overlay(dict(old.env), stack.plan.api_env)
        env.pop("RETRY_CANCEL_TTL", None)  # back only if the plan still has it (not for cancel-requested)
        env.update(stack.plan.api_switches)
        env["API_PORT"] = port
        starts = stack.api_log_text().count("API listening on")
        old.stop()
        stack.api = ManagedProcess("api", old.argv, env, old.log_path, cwd=old.cwd).start()
        stack.wait_for(lambda: stack.api_log_text().count("API listening on") > starts, 30, "API 1 restarted")

    def close(self) -> None:
        self._closed.set()
        if self.worker2 is not None:
            self.worker2.stop()
        if self.api2 is not None:
            self.api2.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m reference.stack.busy_day SEED [VIDEOS]``: print the day's plan (what a seed generates)."""
    args = list(sys.argv[1:] if argv is None else argv)
    seed, videos = int(args[0]) if args else 1, int(args[1]) if len(args) > 1 else 40
    plan = events(seed, videos)
    print(f"seed {seed}, {videos} videos: {dict(Counter(e.kind for e in plan))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
