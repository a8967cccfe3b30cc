"""What operators read: each cause's explanation and its remediation, in Korean (default) and English.

Templates are filled with the check's facts (queue names, ids, TTLs, variables). The remediation is the exact
command, with real values, as the runbook writes it; the suite never runs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


class _Facts(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "" if key in _OPTIONAL else "<" + key + ">"


#: Facts a text may show when the check has them: §9's per-video evidence line and a table's summary.
_OPTIONAL = frozenset({"evidence", "more", "more_fix"})


@dataclass(frozen=True)
class Text:
    ko: str
    en: str
    fix: str = ""  # the command (its comments in Korean); FIX_EN has the English of those that need one


CAUSES: dict[str, Text] = {
    "worker-not-running": Text(
        "워커 {where}가 실행 중이 아님 ({state}): 메시지를 소비할 프로세스가 없어 인코딩이 진행되지 않음",
        "worker {where} is not running ({state}): nothing consumes the queue, so nothing encodes",
        "{start_cmd}",
    ),
    "no-inservice-instances": Text(
        "ASG {asg}: Desired {desired}, InService {in_service}, 실행 중 인스턴스(tag Name={tag}) {running}대 — 워커 없음",
        "ASG {asg}: desired {desired}, InService {in_service}, running instances (tag Name={tag}) {running}: no worker",
        "aws autoscaling set-desired-capacity --region {region} --auto-scaling-group-name {asg} --desired-capacity 1",
    ),
    "queue-missing": Text(
        "{side} 큐 {queue} 가 리전 {region}에 없음 (get_queue_url 실패)",
        "{side} queue {queue} does not exist in region {region} (get_queue_url failed)",
        "aws sqs create-queue --region {region} --queue-name {queue}  # 또는 VIDEO_SQS_QUEUE_NAME 확인",
    ),
    "queue-name-mismatch": Text(
        "API는 큐 {api_queue}에 넣고 워커는 {worker_queue}에서 받음 — VIDEO_SQS_QUEUE_NAME 불일치",
        "the API enqueues to {api_queue} but the worker receives from {worker_queue}: VIDEO_SQS_QUEUE_NAME differs",
        "워커 환경변수 VIDEO_SQS_QUEUE_NAME={api_queue} 로 맞춘 뒤: {restart_cmd}",
    ),
    "region-mismatch": Text(
        "API 리전 {api_region}, 워커 리전 {worker_region} — 서로 다른 큐를 봄 ({api_url} ≠ {worker_url})",
        "API region {api_region}, worker region {worker_region}: they see different queues ({api_url} != {worker_url})",
        "워커 환경변수 AWS_REGION={api_region} 로 맞춘 뒤: {restart_cmd}",
    ),
    "queue-access-denied": Text(
        "{side} 자격 증명으로 큐 {queue} 접근 거부: {error}",
        "{side} credentials are denied access to queue {queue}: {error}",
        "IAM 정책에 sqs:GetQueueUrl/ReceiveMessage/DeleteMessage/ChangeMessageVisibility 추가 후: "
        "docker exec -it {api_container} python scripts/check_sqs_worker_connectivity.py",
    ),
    "dlq-not-empty": Text(
        "DLQ {dlq}에 메시지 {count}개 — 재시도 한도를 넘긴 작업이 있음",
        "dead-letter queue {dlq} holds {count} message(s): jobs exhausted their retries",
        "aws sqs start-message-move-task --region {region} --source-arn {dlq_arn}  # 원인 해결 후 재처리",
    ),
    "queue-backlog": Text(
        "큐 {queue}: {figure_name} {value} > 기준 {threshold} — 작업이 소비되지 않고 쌓임 (워커 §1, 큐 §2, 부록 B 확인)",
        "queue {queue}: {figure_name_en} {value} > threshold {threshold}: jobs pile up instead of being consumed (see §1, §2, appendix B)",
        "aws sqs get-queue-attributes --region {region} --queue-url {queue_url} --attribute-names All  # 그 다음 §1 워커, 부록 B 오토스케일 점검",
    ),
    "config-missing": Text(
        "워커 필수 환경변수 {var} 없음 → 워커가 `config error`로 exit(1)",
        "the worker's required variable {var} is missing: the worker exits with `config error`",
        "워커 환경(.env / -e)에 {var} 설정 후: {restart_cmd}",
    ),
    "config-error-logged": Text(
        "워커 로그 시작 부분에 `{line}` — 설정 로드 실패로 종료",
        "the worker's log starts with `{line}`: it stopped on a configuration error",
        "워커 환경에 {var} 설정 후: {restart_cmd}",
    ),
    "db-mismatch": Text(
        "API와 워커가 서로 다른 DB를 봄 (API {api_db}, 워커 {worker_db})",
        "the API and the worker use different databases (API {api_db}, worker {worker_db})",
        "워커의 DB_HOST / DB_NAME / DB_USER (또는 DATABASE_URL)를 API와 같게 맞춘 뒤: {restart_cmd}",
    ),
    "aws-credentials-invalid": Text(
        "{side}의 AWS 자격 증명이 유효하지 않음 ({error})",
        "the {side}'s AWS credentials are invalid ({error})",
        "{side} 환경의 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY 교체 후 확인: aws sts get-caller-identity; {restart_cmd}",
    ),
    "r2-credentials-invalid": Text(
        "워커의 R2 키로 버킷 {bucket} 접근 불가 ({error})",
        "the worker's R2 keys cannot access bucket {bucket} ({error})",
        "R2_ACCESS_KEY / R2_SECRET_KEY 교체 후 확인: aws s3api head-bucket --bucket {bucket} --endpoint-url {endpoint}",
    ),
    "no-message-received": Text(
        "video_id={video_id}: API는 enqueue했으나 워커가 메시지를 받지 못함 (SQS_MESSAGE_RECEIVED 없음){evidence}{more}",
        "video_id={video_id}: the API enqueued it but the worker never received it (no SQS_MESSAGE_RECEIVED)"
        "{evidence}{more}",
        "§2 점검: docker exec -it {api_container} python scripts/check_sqs_worker_connectivity.py{more_fix}",
    ),
    "job-failed": Text(
        "video_id={video_id}: SQS_JOB_FAILED ({error})",
        "video_id={video_id}: SQS_JOB_FAILED ({error})",
        "{logs_cmd} | grep 'video_id={video_id}'",
    ),
    "processing-exception": Text(
        "video_id={video_id}: 처리 중 예외 — `Video processing failed: {error}`",
        "video_id={video_id}: exception while processing: `Video processing failed: {error}`",
        "ffmpeg/R2 확인: {ffmpeg_cmd}",
    ),
    "complete-not-found": Text(
        "video_id={video_id}: 인코딩은 끝났으나 complete_video가 행을 찾지 못함 (row exists={row_exists}){why}",
        "video_id={video_id}: encoded, but complete_video found no row (row exists={row_exists}){why}",
        "인코딩 중 강의/세션/영상을 삭제하지 말 것; 워커와 API의 DB_HOST / DB_NAME 비교 후 재시도: {retry_cmd}",
    ),
    "enqueue-not-logged": Text(
        "video_id={video_id}: API 로그에 `Video job enqueued: video_id={video_id}` 없음 — 업로드 완료 후 enqueue 안 됨",
        "video_id={video_id}: no `Video job enqueued: video_id={video_id}` in the API log: never enqueued",
        "재 enqueue: {retry_cmd}",
    ),
    "enqueue-failed": Text(
        "API enqueue 실패 {count}건 (예: video_id={video_id}: {error})",
        "{count} enqueue failure(s) in the API log (e.g. video_id={video_id}: {error})",
        "API 쪽 SQS 설정·자격 증명 점검 (§2): docker exec -it {api_container} python scripts/check_sqs_worker_connectivity.py",
    ),
    "redis-unreachable": Text(
        "{side}의 Redis {redis} 연결 실패 ({error}) — 진행률이 UNKNOWN/오래된 값으로 보임 (인코딩 자체는 진행 가능)",
        "the {side}'s Redis {redis} is unreachable ({error}): progress shows UNKNOWN or stale values",
        "redis-cli -h {host} -p {port} -n {db} PING",
    ),
    "redis-mismatch": Text(
        "API Redis {api_redis} ≠ 워커 Redis {worker_redis} — 진행률이 API에 보이지 않음",
        "API Redis {api_redis} != worker Redis {worker_redis}: the API never sees progress",
        "워커의 REDIS_HOST / REDIS_PORT / REDIS_PASSWORD / REDIS_DB 를 API와 같게 맞춘 뒤: {restart_cmd}",
    ),
    "stale-lock": Text(
        "video_id={video_id}: Redis 락 {key} 잔류 (TTL {ttl}s 남음), DB {status} — 워커가 skip 후 메시지 삭제"
        "{evidence}{more}",
        "video_id={video_id}: stale Redis lock {key} ({ttl}s left), DB {status}: workers skip and delete it"
        "{evidence}{more}",
        "{redis_cli} DEL {key}  # 그 다음 재시도: {retry_cmd}{more_fix}",
    ),
    "status-not-uploaded": Text(
        "video_id={video_id}: DB 상태 {status} (UPLOADED 아님) — {why}{evidence}{more}",
        "video_id={video_id}: DB status {status}, not UPLOADED: {why_en}{evidence}{more}",
        "retry API로 UPLOADED 후 재 enqueue: {retry_cmd}  # retry는 300초 cancel 플래그를 먼저 설정: 로그에 "
        "`Cancel requested`가 보이면 300초 후 한 번 더{more_fix}",
    ),
    "cancel-requested": Text(
        "video_id={video_id}: 취소 플래그 {key} 설정됨 (TTL {ttl}s) — 워커가 skip{evidence}{more}",
        "video_id={video_id}: cancel flag {key} is set ({ttl}s left): the worker skips it{evidence}{more}",
        "TTL 만료({ttl}s) 후 재시도: {retry_cmd}{more_fix}",
    ),
    "stuck-videos": Text(
        "{stuck_after} 넘게 UPLOADED/PROCESSING인 영상 {count}개 > 기준 {threshold} (예: {examples})",
        "{count} video(s) UPLOADED/PROCESSING for longer than {stuck_after} > threshold {threshold} (e.g. {examples})",
        "python scripts/check_video_stuck_diagnosis.py {ids}  # 또는 pytest -m live --video-id {ids}",
    ),
    "canary-slow": Text(
        "카나리 video_id={video_id}: enqueue 후 {seconds}s 시점 상태 {status} (기준 {threshold}s) — 인코딩이 느리거나 대기 중",
        "canary video_id={video_id}: {status} {seconds}s after enqueue (threshold {threshold}s): encoding is slow or waiting",
        "{logs_cmd} | grep 'video_id={video_id}'  # 큐 대기(§2 신호)와 워커 수(부록 B) 확인",
    ),
    "asg-max-too-low": Text(
        "ASG {asg} MaxSize {max} — 큐에 {depth}개가 있어도 절대 늘어나지 않음",
        "ASG {asg} MaxSize {max}: it never grows, with {depth} job(s) queued",
        "aws autoscaling update-auto-scaling-group --region {region} --auto-scaling-group-name {asg} --max-size 2",
    ),
    "scaler-lambda-missing": Text(
        "오토스케일 Lambda {function} 없음 (ASG 정책·알람 대안도 없음) — 스케일 안 됨",
        "scaler Lambda {function} is missing (and no ASG policy + alarm alternative): nothing scales",
        ".\\scripts\\deploy_worker_asg.ps1  # Lambda + EventBridge 배포",
    ),
    "scaler-rule-missing": Text(
        "EventBridge 규칙 {rule} 없음 또는 Lambda를 호출하지 않음 ({detail})",
        "EventBridge rule {rule} is missing or does not target the Lambda ({detail})",
        ".\\scripts\\deploy_worker_asg.ps1  # aws events list-rules --region {region} --query \"Rules[?Name=='{rule}']\"",
    ),
    "scaler-not-following": Text(
        "ASG {asg} desired {desired} < 큐가 요구하는 {expected} (visible {visible} + in flight {in_flight}, "
        "Min {min}, Max {max}) — {why}: 1분 주기 스케일러가 두 번 넘게 따라가지 않음",
        "ASG {asg} desired {desired} < the {expected} the queue calls for (visible {visible} + in flight "
        "{in_flight}, min {min}, max {max}): {why_en}: the one-minute scaler missed more than two ticks",
        "aws logs tail /aws/lambda/{function} --since 10m --region {region}  # 큐 깊이·desired 변경 확인 (부록 B 2); "
        "임시: aws autoscaling set-desired-capacity --region {region} --auto-scaling-group-name {asg} "
        "--desired-capacity {expected}",
    ),
    "scaler-rule-disabled": Text(
        "EventBridge 규칙 {rule} 이 {state} — Lambda가 1분마다 호출되지 않음",
        "EventBridge rule {rule} is {state}: the Lambda is not called every minute",
        "aws events enable-rule --region {region} --name {rule}",
    ),
    "scaler-cap-too-low": Text(
        "스케일러 Lambda {function}의 {setting}={cap} — 2대 이상으로 늘지 않음",
        "scaler Lambda {function} has {setting}={cap}: never more than {cap} instance(s)",
        "aws lambda update-function-configuration --region {region} --function-name {function} "
        "--environment 'Variables={{{setting}=2}}'  # 다른 변수도 함께 지정해야 함 (덮어씀)",
    ),
    "long-job-blocking": Text(
        "긴 작업(video_id={long_id})이 유일한 워커를 점유({age}s) — visible 메시지 {visible}개가 대기",
        "a long job (video_id={long_id}) holds the only worker ({age}s) while {visible} visible job(s) wait",
        "{restart_cmd}  # 새 워커가 짧은 작업을 먼저 가져감; 긴 작업은 visibility 만료 후 재처리",
    ),
    "visibility-too-short": Text(
        "큐 VisibilityTimeout {visibility}s ≤ 워커의 연장 주기 {interval}s — 첫 연장 전에 메시지가 다시 보임 "
        "(가장 긴 인코딩 {longest}s{evidence}): 다른 워커가 락 때문에 skip하며 메시지를 삭제",
        "queue VisibilityTimeout {visibility}s <= the worker's extension interval {interval}s: the message reappears "
        "before its first extension (longest encode {longest}s{evidence}); another worker skips it on the lock and "
        "deletes it",
        "aws sqs set-queue-attributes --queue-url {queue_url} --attributes VisibilityTimeout={recommended}",
    ),
    "not-verified": Text(
        "판정 불가: {detail}",
        "could not be judged: {detail}",
        "{fix}",
    ),
}

UNKNOWN: dict[str, Text] = {
    "not-configured": Text("설정 없음: {setting}", "not configured: {setting}", "{setting} 을(를) 지정하세요"),
    "probe-error": Text("{dependency} 확인 불가: {error}", "{dependency} could not be checked: {error}", ""),
    "permission-missing": Text(
        "{dependency} 확인 불가: {who}에 {action} 권한 없음 — 장애가 아니라 권한 부족 ({error})",
        "{dependency} could not be checked: {who_en} lacks the permission {action}, not a fault ({error})",
        "grant {action} to {who_en} (docs/permissions/README.md)",
    ),
    "no-datapoints": Text(
        "CloudWatch 지표 {metric} ({queue})에 최근 {minutes}분 데이터 없음 — 추정하지 않음",
        "CloudWatch metric {metric} ({queue}) has no datapoints in the last {minutes} min: not guessed",
        "aws cloudwatch get-metric-statistics --region {region} --namespace AWS/SQS --metric-name {metric} "
        "--dimensions Name=QueueName,Value={queue} --statistics Maximum --period 60 "
        "--start-time $(date -u -d '-{minutes} min' +%FT%TZ) --end-time $(date -u +%FT%TZ)",
    ),
    "identity-unreadable": Text(
        "{what}: API와 워커가 같은 서버를 보는지 확인 불가 ({why}) — 이름 비교는 하지 않음 (API {api}, 워커 {worker})",
        "{what}: cannot tell whether the API and the worker reach the same server ({why}); names are not compared "
        "(API {api}, worker {worker})",
        "{look}",
    ),
    "log-window": Text(
        "video_id={video_id}: {what} 시각 {when}이(가) 읽은 로그 범위 밖 ({window}) — `{line}` 줄이 없다는 것은 증거가 아님",
        "video_id={video_id}: the {what_en} at {when} is outside the window of the logs read ({window}): "
        "the absence of `{line}` proves nothing",
        "{look}",
    ),
    "lock-holder-unknown": Text(
        "video_id={video_id}: Redis 락 {key} (TTL {ttl}s, {set_at}에 잡힘)의 보유자가 아직 인코딩 중인지 알 수 없음 — "
        "{why}. 보유자가 살아 있으면 락 삭제는 두 번째 인코딩을 동시에 시작시킴{evidence}",
        "video_id={video_id}: cannot tell whether the holder of Redis lock {key} (TTL {ttl}s, taken at {set_at}) is "
        "still encoding: {why_en}. If it is, deleting the lock starts a second concurrent encode{evidence}",
        "{look}",
    ),
    "not-deployment": Text(
        "배포 방식이 지정되지 않음 ({deployment} 확인 생략)",
        "no deployment chosen ({deployment} check not run)",
        "pytest -m 'live and {deployment}'  또는 --deployment {deployment}",
    ),
}


#: The remediations whose command carries Korean words, in English.
FIX_EN: dict[str, str] = {
    "queue-missing": "aws sqs create-queue --region {region} --queue-name {queue}  # or check VIDEO_SQS_QUEUE_NAME",
    "queue-name-mismatch": "set the worker's VIDEO_SQS_QUEUE_NAME={api_queue}, then: {restart_cmd}",
    "region-mismatch": "set the worker's AWS_REGION={api_region}, then: {restart_cmd}",
    "queue-access-denied": "grant sqs:GetQueueUrl/ReceiveMessage/DeleteMessage/ChangeMessageVisibility in IAM, then: "
    "docker exec -it {api_container} python scripts/check_sqs_worker_connectivity.py",
    "dlq-not-empty": "aws sqs start-message-move-task --region {region} --source-arn {dlq_arn}  # after the cause is "
    "fixed",
    "queue-backlog": "aws sqs get-queue-attributes --region {region} --queue-url {queue_url} --attribute-names All  "
    "# then check the worker (§1) and the autoscaling (appendix B)",
    "config-missing": "set {var} in the worker's environment (.env / -e), then: {restart_cmd}",
    "config-error-logged": "set {var} in the worker's environment, then: {restart_cmd}",
    "db-mismatch": "make the worker's DB_HOST / DB_NAME / DB_USER (or DATABASE_URL) the API's, then: {restart_cmd}",
    "aws-credentials-invalid": "replace AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the {side}'s environment and "
    "check: aws sts get-caller-identity; {restart_cmd}",
    "r2-credentials-invalid": "replace R2_ACCESS_KEY / R2_SECRET_KEY and check: aws s3api head-bucket --bucket {bucket} "
    "--endpoint-url {endpoint}",
    "no-message-received": "check §2: docker exec -it {api_container} python "
    "scripts/check_sqs_worker_connectivity.py{more_fix}",
    "processing-exception": "check ffmpeg/R2: {ffmpeg_cmd}",
    "complete-not-found": "do not delete lectures/sessions/videos while they encode; compare the worker's and the API's "
    "DB_HOST / DB_NAME, then retry: {retry_cmd}",
    "enqueue-not-logged": "enqueue again: {retry_cmd}",
    "enqueue-failed": "check the API's SQS settings and credentials (§2): docker exec -it {api_container} python "
    "scripts/check_sqs_worker_connectivity.py",
    "redis-mismatch": "make the worker's REDIS_HOST / REDIS_PORT / REDIS_PASSWORD / REDIS_DB the API's, then: "
    "{restart_cmd}",
    "stale-lock": "{redis_cli} DEL {key}  # then retry: {retry_cmd}{more_fix}",
    "status-not-uploaded": "retry (UPLOADED, enqueue again): {retry_cmd}  # the retry sets a 300 s cancel flag "
    "first: if the log then shows `Cancel requested`, retry once more after 300 s{more_fix}",
    "cancel-requested": "retry after the TTL ({ttl}s): {retry_cmd}{more_fix}",
    "stuck-videos": "python scripts/check_video_stuck_diagnosis.py {ids}  # or pytest -m live --video-id {ids}",
    "canary-slow": "{logs_cmd} | grep 'video_id={video_id}'  # check the queue wait (§2 signals) and the number "
    "of workers (appendix B)",
    "scaler-lambda-missing": ".\\scripts\\deploy_worker_asg.ps1  # deploys the Lambda and the EventBridge rule",
    "scaler-not-following": "aws logs tail /aws/lambda/{function} --since 10m --region {region}  # queue depth and "
    "desired changes (appendix B 2); meanwhile: aws autoscaling set-desired-capacity --region {region} "
    "--auto-scaling-group-name {asg} --desired-capacity {expected}",
    "long-job-blocking": "{restart_cmd}  # a new worker takes the short jobs first; the long one is redone after its "
    "visibility runs out",
    "not-configured": "set {setting}",
    "scaler-cap-too-low": "aws lambda update-function-configuration --region {region} --function-name {function} "
    "--environment 'Variables={{{setting}=2}}'  # give its other variables too: this replaces them",
    "not-deployment": "pytest -m 'live and {deployment}'  or --deployment {deployment}",
    "lock-holder-unknown": "{look_en}",
}

#: Korean words that facts carry (written for the Korean report) and their English, for ``--runbook-lang en``.
#: Longer phrases first: a phrase is replaced before the words inside it.
#: Why a lock's holder could not be judged alive or gone (``runbook.lock_holder``), and what to look at.
HOLDER_WHY: dict[str, tuple[str, str]] = {
    "log-misses-lock": (
        "읽은 워커 로그가 락이 잡힌 시각까지 거슬러 가지 않음 (보유자의 줄이 읽은 범위 밖일 수 있음)",
        "the worker logs read do not reach back to when the lock was taken (its holder's lines may lie outside them)",
    ),
    "in-flight-unexplained": (
        "로그에 살아 있는 시도는 없지만 큐에 처리 중 메시지가 있음 (보유자의 메시지일 수 있음)",
        "the log shows no live attempt, but the queue has messages in flight (one may be the holder's)",
    ),
    "queue-unreadable": (
        "큐의 처리 중 메시지 수를 읽지 못함",
        "the queue's in-flight count could not be read",
    ),
}
HOLDER_LOOK = (
    "읽기만: `{redis_cli} GET {progress_key}` 를 몇 초 간격으로 두 번 (값이 바뀌면 인코딩 중), 모든 워커 로그에서 "
    "{set_at} 이후 `video_id={video_id}` (결과 줄 없이 최근 줄이 있으면 인코딩 중), 큐의 "
    "ApproximateNumberOfMessagesNotVisible — 보유자가 없다고 확인되기 전에는 락을 지우지 말 것",
    "read only: `{redis_cli} GET {progress_key}` twice a few seconds apart (a changing value means it encodes), "
    "`video_id={video_id}` in every worker log since {set_at} (recent lines and no outcome mean it encodes), the "
    "queue's ApproximateNumberOfMessagesNotVisible; leave the lock alone until no holder is left",
)


GLOSSARY: tuple[tuple[str, str], ...] = (
    ("워커 로그의 `Video Worker (SQS) started` 줄", "the worker log's `Video Worker (SQS) started` line"),
    ("워커 프로세스 시작", "start the worker process"),
    (
        "후 로그 맨 앞의 `Video Worker (SQS) started` 확인",
        "then check `Video Worker (SQS) started` at the top of its log",
    ),
    ("워커 프로세스", "worker process"),
    ("워커와 같은 PATH에서", "with the worker's PATH"),
    ("규칙 없음 / rule not found", "rule not found"),
    ("(READY 상태 영상)", "(a READY video)"),
    ("(또는 DB에서 찾은 멈춘 영상)", "(or the stuck videos found in the database)"),
    ("순간적인 지연인지 판단할 메시지 나이", "the messages' ages, to tell a momentary lag"),
    ("(ASG 없음)", "(no ASG)"),
    ("(행 없음)", "(no row)"),
    ("재시작", "restart"),
    ("원인:", "why:"),
    ("컨테이너", "container"),
    ("프로세스", "process"),
    ("워커", "worker"),
    ("없음", "absent"),
)

_HANGUL = re.compile("[\uac00-\ud7a3]")


def english(text: str) -> str:
    """``text`` with the facts' known Korean words in English (see :data:`GLOSSARY`)."""
    if not _HANGUL.search(text):
        return text
    for korean, english_ in GLOSSARY:
        text = text.replace(korean, english_)
    return text


def render(table: Mapping[str, Text], key: str, facts: Mapping[str, object], lang: str) -> tuple[str, str]:
    """(message, remediation) for ``key`` in ``lang`` (``ko`` or ``en``).

    In English a fact ``name`` is taken from ``name_en`` when the check gave one, and the remediation from
    :data:`FIX_EN`; known Korean words in the facts are translated, so the English report carries none.
    """
    text = table.get(key) or Text(key, key)
    if lang != "en":
        values = _Facts(facts)
        return text.ko.format_map(values), text.fix.format_map(values)
    values = _Facts({name: facts.get(f"{name}_en", value) for name, value in facts.items()})
    message = english(text.en.format_map(values))
    return message, english(FIX_EN.get(key, text.fix).format_map(values))


LABELS: dict[str, dict[str, str]] = {
    "ko": {
        "healthy": "정상 — 모든 계층 확인됨",
        "healthy_partial": "실패 없음 — 일부 확인 못 함: {layers}",
        "unhealthy": "장애",
        "root_cause": "근본 원인",
        "remediation": "조치 명령",
        "consequences": "이로 인한 결과",
        "confirming": "같은 원인을 확인한 다른 검사",
        "others": "그 밖의 실패",
        "layers": "계층별 상태",
        "section": "런북",
        "mode": "모드",
        "services": "사용한 백엔드",
        "ok": "정상",
        "warn": "주의",
        "fail": "실패",
        "unknown": "알 수 없음",
        # the HTML report (runbook.render, runbook.diagram, runbook.history)
        "root_badge": "근본 원인",
        "diagram": "파이프라인 상태도",
        "diagram_key": "굵은 테두리 = 근본 원인 · 점선 화살표 = 그로 인한 결과 · 흐린 칸 = 이번 실행에서 확인 안 함",
        "copy": "복사",
        "copied": "복사됨",
        "checks": "검사",
        "passed": "통과",
        "failed": "실패",
        "skipped": "판정 불가",
        "error": "오류",
        "evidence": "근거",
        "timelines": "영상별 처리 타임라인 (§5, §9, 워커 로그)",
        "timelines_none": "워커 로그에 영상 기록 없음",
        "stopped_here": "여기서 멈춤",
        "total": "총",
        "attempts": "수신",
        "history": "최근 실행",
        "history_summary": "최근 {n}회 중 정상 {ok}회",
        "this_run": "이번 실행",
        "phase_received": "메시지 수신",
        "phase_processing": "처리 시작",
        "phase_encoded": "인코딩 완료",
        "phase_completed": "완료",
        "phase_failed": "실패",
        "phase_skipped": "건너뜀",
        "skip_lock": "락 잔류",
        "skip_status": "상태가 UPLOADED 아님",
        "skip_cancel": "취소 요청",
        "checked_at": "확인 시각",
        "videos_table": "영상별 진단 (§9): {shown}/{total}개 표시",
        "vt_id": "video_id",
        "vt_status": "DB 상태",
        "vt_lock": "락 TTL",
        "vt_cancel": "취소 TTL",
        "vt_message": "SQS 메시지 (추정)",
        "vt_enqueue": "API enqueue",
        "vt_phase": "워커 로그 단계",
        "vt_cause": "원인",
        "vt_command": "조치 명령",
        "short_ok": "정상",
        "short_warn": "주의",
        "short_fail": "실패",
        "short_unknown": "미확인",
        "signals": "큐 신호 (수치 / 기준)",
        "signal_oldest_message_age": "가장 오래된 메시지",
        "signal_visible": "대기 메시지",
        "signal_in_flight": "처리 중 메시지",
        "signal_dlq_depth": "DLQ 메시지",
        "signal_stuck_videos": "멈춘 영상",
        "signal_canary_seconds": "카나리 enqueue→READY",
        "log_windows": "읽은 로그 범위",
    },
    "en": {
        "healthy": "Healthy: every layer verified",
        "healthy_partial": "No failure; not everything could be checked: {layers}",
        "unhealthy": "Failure",
        "root_cause": "Root cause",
        "remediation": "Fix",
        "consequences": "Consequences",
        "confirming": "Other checks confirming it",
        "others": "Also failing",
        "layers": "Layers",
        "section": "Runbook",
        "mode": "Mode",
        "services": "Backends",
        "ok": "ok",
        "warn": "warn",
        "fail": "fail",
        "unknown": "unknown",
        "root_badge": "root cause",
        "diagram": "pipeline state diagram",
        "diagram_key": "thick border = root cause · dashed arrow = its consequence · faded = not checked in this run",
        "copy": "Copy",
        "copied": "Copied",
        "checks": "checks",
        "passed": "passed",
        "failed": "failed",
        "skipped": "not judged",
        "error": "error",
        "evidence": "Evidence",
        "timelines": "Per-video timeline (§5, §9, worker log)",
        "timelines_none": "the worker log mentions no video",
        "stopped_here": "stopped here",
        "total": "total",
        "attempts": "received",
        "history": "Recent runs",
        "history_summary": "{ok} of the last {n} runs healthy",
        "this_run": "this run",
        "phase_received": "received",
        "phase_processing": "processing",
        "phase_encoded": "encoded",
        "phase_completed": "completed",
        "phase_failed": "failed",
        "phase_skipped": "skipped",
        "skip_lock": "lock held",
        "skip_status": "status not UPLOADED",
        "skip_cancel": "cancel requested",
        "checked_at": "checked at",
        "videos_table": "Per-video diagnosis (§9): {shown} of {total} shown",
        "vt_id": "video_id",
        "vt_status": "DB status",
        "vt_lock": "lock TTL",
        "vt_cancel": "cancel TTL",
        "vt_message": "SQS message (inferred)",
        "vt_enqueue": "API enqueue",
        "vt_phase": "worker log phase",
        "vt_cause": "cause",
        "vt_command": "command",
        "short_ok": "ok",
        "short_warn": "warn",
        "short_fail": "fail",
        "short_unknown": "n/a",
        "signals": "Queue signals (value / threshold)",
        "signal_oldest_message_age": "oldest message",
        "signal_visible": "visible messages",
        "signal_in_flight": "in-flight messages",
        "signal_dlq_depth": "DLQ messages",
        "signal_stuck_videos": "stuck videos",
        "signal_canary_seconds": "canary enqueue→READY",
        "log_windows": "log window read",
    },
}


def _merge_fleet_texts() -> None:
    """The ASG fleet's texts (issue 18) live in :mod:`runbook.texts_fleet`."""
    from runbook import texts_fleet

    CAUSES.update({key: Text(*value) for key, value in texts_fleet.CAUSES.items()})
    UNKNOWN.update({key: Text(*value) for key, value in texts_fleet.UNKNOWN.items()})
    FIX_EN.update(texts_fleet.FIX_EN)
    for lang, labels in texts_fleet.LABELS.items():
        LABELS[lang].update(labels)


_merge_fleet_texts()
