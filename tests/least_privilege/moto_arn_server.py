"""``reference.stack.moto_server`` with IAM evaluated against the resources AWS evaluates, for the operations the
live run (and its refused write attempts) send.

    python tests/least_privilege/moto_arn_server.py --label aws --preload ...

moto 5.2 authorizes S3 and SQS requests against a resource ARN, but SQS only when the request names an existing
queue by URL (``GetQueueUrl`` names it by ``QueueName`` and is checked against ``*``), and every other service
against ``*``. A statement scoped to an ARN then never matches, so a least-privilege policy would be refused
everywhere. AWS authorizes these operations against the resource they name (Service Authorization Reference):

- SQS: ``arn:aws:sqs:<region>:<account>:<queue name>`` from ``QueueUrl`` or ``QueueName`` (also for a queue that
  does not exist: a granted name answers ``QueueDoesNotExist``, an ungranted one ``AccessDenied``);
- Lambda: ``arn:aws:lambda:<region>:<account>:function:<name>`` from the request path;
- EventBridge: ``arn:aws:events:<region>:<account>:rule/[<bus>/]<name>`` from ``Name`` / ``Rule``;
- CloudWatch Logs: ``arn:aws:logs:<region>:<account>:log-group:<name>:*`` from ``logGroupName``;
- SSM: ``arn:aws:ssm:<region>:<account>:parameter/<name>`` from ``Name`` (GetParameter); SendCommand against its
  document (``arn:aws:ssm:<region>::document/<name>`` for AWS's own, AWS also checks the target instances, which
  moto cannot: one resource per request); GetCommandInvocation against the account's commands.

Describe/Get calls without resource-level permissions (Auto Scaling, EC2, CloudWatch metrics) keep ``*``, as in
AWS. Conditions are not evaluated (moto does not), which is why the policy carries none.

One more correction: moto names the action after the SigV4 signing name, which for CloudWatch is ``monitoring``
(``monitoring:GetMetricStatistics``); IAM's prefix for it is ``cloudwatch`` (``cloudwatch:GetMetricStatistics``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote

_LAMBDA_PATH = re.compile(r"/\d{4}-\d{2}-\d{2}/functions/([^/?]+)")
#: SigV4 signing names whose IAM action prefix differs.
_IAM_PREFIX = {"monitoring": "cloudwatch"}


def _account(handler: object) -> str:
    return str(getattr(handler, "current_account", "123456789012"))


def _sqs_resource(self: object) -> str:
    get = self._get_param  # type: ignore[attr-defined]
    url = get("QueueUrl") or ""
    name = str(url).rstrip("/").split("/")[-1] if url else (get("QueueName") or "")
    if not name:
        return "*"
    account = get("QueueOwnerAWSAccountId") or _account(self)
    return f"arn:aws:sqs:{self.region}:{account}:{name}"  # type: ignore[attr-defined]


def _lambda_resource(self: object) -> str:
    match = _LAMBDA_PATH.search(str(getattr(self, "path", "")))
    if not match:
        return "*"
    name = unquote(match.group(1))
    if name.startswith("arn:"):
        return ":".join(name.split(":")[:7])  # without a qualifier
    return f"arn:aws:lambda:{self.region}:{_account(self)}:function:{name.split(':')[0]}"  # type: ignore[attr-defined]


def _events_resource(self: object) -> str:
    get = self._get_param  # type: ignore[attr-defined]
    name = get("Name") or get("Rule")
    if not name:
        return "*"
    bus = get("EventBusName")
    bus_name = str(bus).split("/")[-1] if bus else "default"
    path = f"rule/{name}" if bus_name == "default" else f"rule/{bus_name}/{name}"
    return f"arn:aws:events:{self.region}:{_account(self)}:{path}"  # type: ignore[attr-defined]


def _logs_resource(self: object) -> str:
    group = self._get_param("logGroupName")  # type: ignore[attr-defined]
    if not group:
        return "*"
    return f"arn:aws:logs:{self.region}:{_account(self)}:log-group:{group}:*"  # type: ignore[attr-defined]


def _ssm_resource(self: object) -> str:
    get = self._get_param  # type: ignore[attr-defined]
    region, account = self.region, _account(self)  # type: ignore[attr-defined]
    action = str(getattr(self, "_get_action", lambda: "")() or "")
    if get("DocumentName"):
        document = str(get("DocumentName"))
        owner = "" if document.startswith("AWS-") else account
        return f"arn:aws:ssm:{region}:{owner}:document/{document}"
    if get("Name") and action != "GetCommandInvocation":
        return f"arn:aws:ssm:{region}:{account}:parameter/{str(get('Name')).lstrip('/')}"
    return f"arn:aws:ssm:{region}:{account}:*"


def patch_resources() -> None:
    """Give each service's response class the resource AWS authorizes (moto calls ``_determine_resource``)."""
    from moto.awslambda.responses import LambdaResponse
    from moto.events.responses import EventsHandler
    from moto.iam.access_control import IAMRequestBase
    from moto.logs.responses import LogsResponse
    from moto.sqs.responses import SQSResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    original_init = IAMRequestBase.__init__

    def init(self: IAMRequestBase, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]
        prefix, _, name = self._action.partition(":")
        self._action = f"{_IAM_PREFIX.get(prefix, prefix)}:{name}"

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]
    SQSResponse._determine_resource = _sqs_resource  # type: ignore[method-assign]
    LambdaResponse._determine_resource = _lambda_resource  # type: ignore[attr-defined]
    EventsHandler._determine_resource = _events_resource  # type: ignore[attr-defined]
    LogsResponse._determine_resource = _logs_resource  # type: ignore[attr-defined]
    SimpleSystemManagerResponse._determine_resource = _ssm_resource  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from reference.stack import moto_server

    patch_resources()
    sys.exit(moto_server.main())
