"""A moto server in its own process, on 127.0.0.1 and a free port.

    python -m reference.stack.moto_server [--label NAME]

Prints ``MOTO_LISTENING http://127.0.0.1:PORT`` as its first stdout line, then serves until stdin closes
(the parent died or closed the pipe), SIGTERM or SIGINT. A separate process per emulated provider gives
each its own backends and its own IAM authentication switch (moto keeps both in module globals, so two
ThreadedMotoServers in one process would share the S3 data and the auth setting).

Auth is not enforced at start (moto's default); the stack enforces it with ``POST /moto-api/reset-auth 0``
after it has created the IAM user whose keys are the "valid" keys.

Three corrections to moto 5.2.1 make it answer like AWS where the rehearsal depends on it (each documented
at its function): auth errors in JSON for JSON-protocol clients (``json_auth_errors``), SigV4 checks that
match botocore for bodiless GETs and ``/`` in query strings (``_patch_signature_check``), and
``SetDesiredCapacity`` refused outside [MinSize, MaxSize] (``_patch_desired_capacity_bounds``). A fourth
keeps ``GET /moto-api/data.json`` answering without a Docker engine (``_patch_lambda_dump``). The fleet's
console outputs and Run Command answers come from :mod:`reference.stack.fleet_standin` (moto runs nothing).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import re
import signal
import sys
import threading

_XML_ERROR = re.compile(rb"<Code>(?P<code>[^<]+)</Code>\s*<Message>(?P<message>[^<]*)</Message>")


def _is_json_protocol(environ: dict) -> bool:
    content_type = environ.get("CONTENT_TYPE", "")
    return (
        content_type.startswith("application/x-amz-json")
        or "HTTP_X_AMZ_TARGET" in environ
        or environ.get("PATH_INFO", "").startswith("/2015-03-31/")  # Lambda (rest-json)
    )


def json_auth_errors(app):
    """moto answers auth failures (IAMRequest) in the query protocol's XML even to JSON-protocol clients
    (SQS, Lambda, EventBridge), where botocore then reports the code as "403". Rewrite those answers the
    way AWS sends them, so that boto3 sees Code=InvalidClientTokenId / SignatureDoesNotMatch."""

    def wrapped(environ, start_response):
        if not _is_json_protocol(environ):
            return app(environ, start_response)
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(app(environ, capture))
        status, headers = captured["status"], captured["headers"]
        match = _XML_ERROR.search(body) if status[:1] == "4" and b"<ErrorResponse>" in body else None
        if match:
            code, message = match["code"].decode(), match["message"].decode()
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
            headers += [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("Content-Length", str(len(body))),
                ("x-amzn-ErrorType", code),
                ("x-amzn-query-error", f"{code};Sender"),
            ]
        start_response(status, headers)
        return [body]

    return wrapped


def _patch_signature_check() -> None:
    """moto 5.2 recomputes a SigV4 signature over its parsed request *data* when the body is empty, so a
    bodiless GET to a rest-json service (lambda list_functions / get_function) never matches: botocore
    signed an empty payload. Sign an empty payload for bodiless GET/HEAD/DELETE, as the client did."""
    from moto.iam import access_control

    original = access_control.IAMRequestBase._create_aws_request

    def _create_aws_request(self):
        if not self._body and self._method in ("GET", "HEAD", "DELETE"):
            saved, self._data = self._data, {}
            try:
                request = original(self)
            finally:
                self._data = saved
        else:
            request = original(self)
        # werkzeug hands moto the query with "/" (and other "safe" characters) unescaped, while botocore
        # signed the strict RFC 3986 form (prefix=hls%2F111%2F): re-escape before recomputing.
        path, sep, query = request.url.partition("?")
        if sep:
            request.url = path + "?" + _requote(query)
        return request

    access_control.IAMRequestBase._create_aws_request = _create_aws_request
    _patch_presigned_urls()


def _requote(query: str) -> str:
    """A query string in the strict RFC 3986 form botocore signs (werkzeug leaves "/" and the like bare)."""
    from urllib.parse import quote, unquote

    pairs = (pair.partition("=") for pair in query.split("&") if pair)
    return "&".join(f"{quote(unquote(k), safe='-_.~')}{eq}{quote(unquote(v), safe='-_.~')}" for k, eq, v in pairs)


def _patch_presigned_urls() -> None:
    """moto 5.2's auth mode reads only the Authorization header: a presigned URL (SigV4 in the query string,
    what a real worker downloads its source with) makes it fail with KeyError, an HTTP 500. Check it as S3
    does instead: the key must be one the IAM issued (else InvalidAccessKeyId), the signature the one
    botocore's ``S3SigV4QueryAuth`` computes over the same request (else SignatureDoesNotMatch). Expiry is
    not checked (the rehearsal's URLs live seconds)."""
    from urllib.parse import parse_qsl

    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from moto.iam import access_control

    base = access_control.IAMRequestBase
    original_init, original_check = base.__init__, base.check_signature

    def __init__(self, account_id, method, path, data, body, headers, action):
        query = dict(parse_qsl(path.partition("?")[2], keep_blank_values=True))
        self._presigned = None
        if "Authorization" not in headers and "X-Amz-Credential" in query:
            self._presigned = query
            # The header moto parses the key, region and service from, made from the query's parts.
            headers = dict(headers.items())
            credential, signed = query["X-Amz-Credential"], query.get("X-Amz-SignedHeaders", "host")
            headers["Authorization"] = (
                f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed}, "
                f"Signature={query.get('X-Amz-Signature', '')}"
            )
        original_init(self, account_id, method, path, data, body, headers, action)

    def check_signature(self):
        query = getattr(self, "_presigned", None)
        if query is None:
            return original_check(self)
        auth = S3SigV4QueryAuth(
            self._access_key.create_credentials(), self._service, self._region, int(query.get("X-Amz-Expires", 3600))
        )
        path, _, raw = self._path.partition("?")
        kept = _requote("&".join(p for p in raw.split("&") if p and not p.startswith("X-Amz-Signature=")))
        signed = query.get("X-Amz-SignedHeaders", "host").split(";")
        headers = {k: v for k, v in self._headers.items() if k.lower() in signed and k != "Authorization"}
        request = AWSRequest(method=self._method, url=path + ("?" + kept if kept else ""), headers=headers)
        request.context["timestamp"] = query.get("X-Amz-Date", "")
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        if expected != query.get("X-Amz-Signature"):
            self._raise_signature_does_not_match()
        return None

    base.__init__ = __init__
    base.check_signature = check_signature


def _patch_desired_capacity_bounds() -> None:
    """AWS refuses ``SetDesiredCapacity`` outside [MinSize, MaxSize] (ValidationError); moto 5.2 accepts
    it, which would let a scaler "scale" an ASG whose MaxSize is 1 (appendix B 2). Refuse like AWS."""
    from moto.autoscaling.exceptions import ValidationError
    from moto.autoscaling.models import AutoScalingBackend

    original = AutoScalingBackend.set_desired_capacity

    def set_desired_capacity(self, group_name, desired_capacity):
        group = self.autoscaling_groups.get(group_name)
        if group is not None and desired_capacity is not None:
            if desired_capacity > group.max_size:
                raise ValidationError(
                    f"New SetDesiredCapacity value {desired_capacity} is above max value {group.max_size} "
                    "for the AutoScalingGroup."
                )
            if desired_capacity < group.min_size:
                raise ValidationError(
                    f"New SetDesiredCapacity value {desired_capacity} is below min value {group.min_size} "
                    "for the AutoScalingGroup."
                )
        return original(self, group_name, desired_capacity)

    AutoScalingBackend.set_desired_capacity = set_desired_capacity


def _patch_lambda_dump() -> None:
    """``GET /moto-api/data.json`` (the safety tests' before/after snapshot of every backend) reads every public
    attribute of every model and skips those raising TypeError, AttributeError or ValueError. A Lambda
    function's ``docker_client`` raises DockerException while no Docker engine answers, and the whole dump
    fails with HTTP 500. Hide that one attribute from ``dir()``, which is all the dump walks; invoking a
    function still reaches it."""
    from moto.awslambda.models import LambdaFunction

    listed = LambdaFunction.__dir__

    def without_docker_client(self):
        return [name for name in listed(self) if name != "docker_client"]

    LambdaFunction.__dir__ = without_docker_client


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="moto")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--preload", default="", help="comma-separated moto services to import before listening (first calls get fast)"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    for service in filter(None, args.preload.split(",")):
        # The server imports a service's backend on its first request (~0.1-0.5 s each); do it now,
        # while the parent is busy starting other services.
        importlib.import_module(f"moto.{service}.urls")
    _patch_signature_check()
    _patch_desired_capacity_bounds()
    _patch_lambda_dump()
    from reference.stack import fleet_standin  # console output and Run Command answers moto cannot give

    fleet_standin.install()
    app = fleet_standin.middleware(json_auth_errors(DomainDispatcherApplication(create_backend_app)))
    server = make_server(args.host, 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    print(f"MOTO_LISTENING http://{host}:{port} label={args.label}", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    # Nothing to flush (state lives in memory and dies with us); skip the slow interpreter teardown of
    # moto's many modules (~1 s).
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
