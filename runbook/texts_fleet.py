"""Operator texts of the ASG fleet (issue 18): its causes, its unknowns and the fleet table's labels.

Merged into :mod:`runbook.texts` (``CAUSES``, ``UNKNOWN``, ``LABELS``); kept apart so the fleet's texts read
together. The remediations replace one instance (the group launches a fresh one, which runs the user data
again) after its cause is fixed; they are printed, never run.
"""

from __future__ import annotations

#: (Korean, English, remediation), as :class:`runbook.texts.Text` takes them.
Text = tuple[str, str, str]

_REPLACE = (
    "aws autoscaling terminate-instance-in-auto-scaling-group --region {region} --instance-id {instance} "
    "--no-should-decrement-desired-capacity"
)
_CONSOLE = "aws ec2 get-console-output --region {region} --instance-id {instance} --latest --output text"

CAUSES: dict[str, Text] = {
    "docker-run-failed": (
        "인스턴스 {instance}: user data의 docker run 3회 모두 실패 (`{evidence}`) — 워커 컨테이너가 없음{others}",
        "instance {instance}: all three docker run tries of the user data failed (`{evidence}`): no worker"
        " container{others}",
        _CONSOLE + " | grep -B3 'docker run attempt'  # 원인(디스크, 메모리, env 파일 형식) 확인 후: " + _REPLACE,
    ),
    "ecr-login-failed": (
        "인스턴스 {instance}: ECR 로그인 실패로 user data가 중단됨 (`{evidence}`) — 이미지도 컨테이너도 없음{others}",
        "instance {instance}: the ECR login failed and the user data stopped (`{evidence}`): no image, no"
        " container{others}",
        "인스턴스 역할에 ecr:GetAuthorizationToken / ecr:BatchGetImage / ecr:GetDownloadUrlForLayer 허용 확인 후: "
        + _REPLACE,
    ),
    "boot-script-failed": (
        "인스턴스 {instance}: user data 스크립트가 끝나기 전에 실패 (`{evidence}`), "
        "`Video worker user data done` 없음 — 워커 컨테이너 없음{others}",
        "instance {instance}: the user data script failed before its end (`{evidence}`), no `Video worker user"
        " data done`: no worker container{others}",
        _CONSOLE + " | tail -40  # 실패한 단계 확인 후: " + _REPLACE,
    ),
    "env-file-empty": (
        "인스턴스 {instance}: 워커가 `config error: {var}` 로 재시작 반복 — "
        "SSM 파라미터 {parameter}에는 {var}가 있으므로 이 인스턴스의 /opt/academy/.env가 비어 있음 "
        "(부팅 때 SSM 읽기 실패가 `|| true`로 무시됨){others}",
        "instance {instance}: the worker restarts on `config error: {var}` although SSM parameter {parameter} has"
        " it: the instance's /opt/academy/.env is empty (the boot-time SSM read failed, swallowed by `|| true`)"
        "{others}",
        "인스턴스 역할에 ssm:GetParameter ({parameter}) 및 kms:Decrypt 허용 확인 후: " + _REPLACE,
    ),
}

UNKNOWN: dict[str, Text] = {
    "fleet-logs-off": (
        "ASG 인스턴스의 워커 로그를 읽지 않음 (--asg-logs ssm 없음): 로그 기반 판정 불가. "
        "같은 명령을 손으로: {command}",
        "the instances' worker logs were not read (no --asg-logs ssm): log-based checks cannot judge. The same"
        " command by hand: {command}",
        "pytest -m 'live and asg' --asg-logs ssm  # 또는 / or: {hand}",
    ),
    "fleet-boot-unknown": (
        "부팅 결과를 알 수 없는 인스턴스: {instances} ({why})",
        "instances whose boot outcome is unknown: {instances} ({why})",
        "aws ec2 get-console-output --region {region} --instance-id <instance-id> --latest --output text",
    ),
    "fleet-worker-unknown": (
        "워커 상태를 알 수 없는 인스턴스: {instances}",
        "instances whose worker state is unknown: {instances}",
        "{hand}",
    ),
}

#: The remediations in English (``--runbook-lang en``), for those whose comments are Korean.
FIX_EN: dict[str, str] = {
    "docker-run-failed": _CONSOLE + " | grep -B3 'docker run attempt'  # find the cause (disk, memory, env file"
    " format), then: " + _REPLACE,
    "ecr-login-failed": "allow ecr:GetAuthorizationToken / ecr:BatchGetImage / ecr:GetDownloadUrlForLayer to the"
    " instance role, then: " + _REPLACE,
    "boot-script-failed": _CONSOLE + " | tail -40  # find the failed step, then: " + _REPLACE,
    "env-file-empty": "allow ssm:GetParameter ({parameter}) and kms:Decrypt to the instance role, then: " + _REPLACE,
    "fleet-logs-off": "pytest -m 'live and asg' --asg-logs ssm  # or: {hand}",
}

LABELS: dict[str, dict[str, str]] = {
    "ko": {
        "fleet_table": "ASG 인스턴스 (§1): {n}대",
        "fleet_sent": "인스턴스마다 보낸 읽기 전용 명령 ({document}, command id {command_id})",
        "ft_instance": "인스턴스",
        "ft_lifecycle": "ASG 상태",
        "ft_state": "EC2 상태",
        "ft_launched": "시작 시각",
        "ft_boot": "부팅 결과",
        "ft_container": "컨테이너",
        "ft_last_video": "마지막으로 받은 영상",
        "ft_cause": "원인",
    },
    "en": {
        "fleet_table": "ASG instances (§1): {n}",
        "fleet_sent": "read-only command sent to each instance ({document}, command id {command_id})",
        "ft_instance": "instance",
        "ft_lifecycle": "ASG state",
        "ft_state": "EC2 state",
        "ft_launched": "launched",
        "ft_boot": "boot",
        "ft_container": "container",
        "ft_last_video": "last video taken",
        "ft_cause": "cause",
    },
}
