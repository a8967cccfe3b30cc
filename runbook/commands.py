"""The exact commands an operator runs, with the target's real names. The suite prints them, never runs them."""

from __future__ import annotations

import re
import shlex
from datetime import datetime, timedelta

from runbook import production
from runbook.config import Side
from runbook.target import Target


def restart_worker(t: Target) -> str:
    if t.deployment == "docker" or "docker" in t.deployments:
        return f"sudo docker restart {t.worker_container}"
    if t.deployment == "asg":
        return (
            f"aws autoscaling start-instance-refresh --region {t.api.region or '<region>'} "
            f"--auto-scaling-group-name {t.asg_name}"
        )
    return f"워커 프로세스(/{t.worker_process}/) 재시작"


def replace_instance(t: Target, instance_id: str) -> str:
    """asg: one instance without a worker is replaced by the group (a fresh one runs the user data again)."""
    return (
        f"aws autoscaling terminate-instance-in-auto-scaling-group --region {t.api.region or '<region>'} "
        f"--instance-id {instance_id} --no-should-decrement-desired-capacity"
    )


def start_worker(t: Target, deployment: str) -> str:
    if deployment == "docker":
        return f"sudo docker start {t.worker_container}  # 원인: docker logs --tail 50 {t.worker_container}"
    how = f"python -m {t.worker_process}" if re.fullmatch(r"[\w.]+", t.worker_process) else f"/{t.worker_process}/"
    return f"워커 프로세스 시작 ({how}) 후 로그 맨 앞의 `Video Worker (SQS) started` 확인"


def worker_logs(t: Target) -> str:
    spec = t.worker_log or ""
    if spec.startswith("docker:"):
        return f"docker logs {spec[len('docker:') :]} 2>&1"
    if spec.startswith("cloudwatch:"):
        return f"aws logs tail {shlex.quote(spec[len('cloudwatch:') :])} --since 1h"
    return f"cat {shlex.quote(spec)}" if spec else f"docker logs {t.worker_container} 2>&1"


def retry_video(t: Target, video_id: int, tenant: str | None = None) -> str:
    """The real API's retry (``runbook.production``): authenticated, for the video's tenant, under the prefix.
    The token is named by its variable, never printed."""
    base = t.api.api_base_url or "$API_BASE_URL"
    code = t.api_tenant or tenant or "<tenant code>"
    auth = f'-H "Authorization: {production.AUTH_SCHEME} $RUNBOOK_API_TOKEN"'
    path = production.RETRY_PATH.replace("{id}", str(video_id))
    return f'curl -X POST {auth} -H "{production.TENANT_HEADER}: {code}" {base}{t.api_prefix.rstrip("/")}{path}'


def redis_cli(side: Side) -> str:
    r = side.redis
    auth = ' -a "$REDIS_PASSWORD"' if r.password else ""
    return f"redis-cli -h {r.host or '<REDIS_HOST>'} -p {r.port} -n {r.db}{auth}"


def ffmpeg_check(t: Target) -> str:
    if "docker" in t.deployments:
        return f"docker exec {t.worker_container} ffmpeg -version"
    return "ffmpeg -version  # 워커와 같은 PATH에서"


def find_in_log(spec: str, video_id: int, when: datetime) -> str:
    """How to look for ``video_id``'s lines around ``when`` in a log outside the window a run read."""
    frm, to = when - timedelta(minutes=10), when + timedelta(minutes=10)
    grep = shlex.quote(f"video_id={video_id}")
    if spec.startswith("docker:"):
        name = spec[len("docker:") :]
        return (
            f"docker logs -t --since {frm:%Y-%m-%dT%H:%M:%SZ} --until {to:%Y-%m-%dT%H:%M:%SZ} {name} 2>&1 | grep {grep}"
        )
    if spec.startswith("cloudwatch:"):
        group = shlex.quote(spec[len("cloudwatch:") :])
        pattern = shlex.quote(f'"video_id={video_id}"')
        return (
            f"aws logs filter-log-events --log-group-name {group} --start-time {int(frm.timestamp() * 1000)} "
            f"--end-time {int(to.timestamp() * 1000)} --filter-pattern {pattern}"
        )
    path = spec.removeprefix("file:")
    return f"zgrep -h {grep} {shlex.quote(path)}*  # 회전된 파일(.1, .gz) 포함 / rotated files included"


def logs_elsewhere(specs: tuple[str, ...], option: str, video_id: int, when: datetime) -> str:
    """What to look at when the logs read do not cover ``when``: each source's older lines, and the sources not
    given (another API instance, another worker)."""
    looks = [find_in_log(spec, video_id, when) for spec in specs]
    if any(spec.startswith(("docker:", "cloudwatch:")) for spec in specs):
        looks.append("더 긴 범위 / a longer window: --log-since 24h")
    looks.append(f"다른 인스턴스의 로그도 {option} 로 추가 (여러 번 지정 가능) / add other instances' logs: {option}")
    return "; ".join(looks)
