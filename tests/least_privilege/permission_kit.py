"""The least-privilege kit (``docs/permissions/``) as data: the IAM policy, the Redis ACL line, the PostgreSQL role.

Every test of ``tests/least_privilege`` takes its expectations from these files, so a statement, command or grant
added to the kit is proven (and its removal named) without touching the tests.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "docs" / "permissions"
POLICY_FILE = KIT / "live-readonly.iam.json"
ACL_FILE = KIT / "redis-acl.txt"
ROLE_FILE = KIT / "postgres-role.sql"

#: The user and role names the kit's Redis and PostgreSQL files create.
KIT_USER = "runbook"


def policy() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    return doc


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """``Statement`` is one object or a list of them."""
    found = doc["Statement"]
    return list(found) if isinstance(found, list) else [found]


def policy_actions(doc: dict[str, Any] | None = None) -> list[str]:
    """Every allowed action, in file order (``sqs:GetQueueUrl``, ...)."""
    found: list[str] = []
    for statement in statements(doc or policy()):
        if statement.get("Effect") == "Allow":
            found += [a for a in _listed(statement.get("Action", [])) if a not in found]
    return found


def without_action(doc: dict[str, Any], action: str) -> dict[str, Any]:
    """The policy with ``action`` taken out of every statement (a statement left empty is dropped)."""
    reduced = copy.deepcopy(doc)
    kept = []
    for statement in statements(reduced):
        actions = [a for a in _listed(statement.get("Action", [])) if a != action]
        if actions:
            statement["Action"] = actions
            kept.append(statement)
    reduced["Statement"] = kept
    return reduced


def acl_words() -> list[str]:
    """The ``ACL SETUSER`` line of ``redis-acl.txt`` as words (comments skipped)."""
    lines = [
        line.strip()
        for line in ACL_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(lines) == 1, f"{ACL_FILE.name} should hold exactly one ACL SETUSER line, found {len(lines)}"
    return shlex.split(lines[0])


def acl_commands(words: list[str] | None = None) -> list[str]:
    """The commands the ACL allows (``ping``, ``client|setinfo``, ...)."""
    return [w[1:] for w in (words or acl_words()) if w.startswith("+")]


def acl_key_patterns(words: list[str] | None = None) -> list[str]:
    """The key patterns with their permission prefix (``%R~job:encode:*:lock``)."""
    return [w for w in (words or acl_words()) if "~" in w]


def acl_setuser(user: str, password: str, *, drop_command: str | None = None) -> list[str]:
    """The kit's ``ACL SETUSER`` as arguments for ``execute_command``, for ``user`` with ``password``
    (optionally without one of its ``+command`` rules)."""
    words = acl_words()
    assert words[:3] == ["ACL", "SETUSER", KIT_USER], words[:3]
    args = ["ACL", "SETUSER", user]
    for word in words[3:]:
        if word == "><password>":
            word = f">{password}"
        if drop_command is not None and word == f"+{drop_command}":
            continue
        args.append(word)
    return args


def role_statements(role: str, password: str, dbname: str, *, drop_table: str | None = None) -> list[str]:
    """The kit's SQL, one statement each, for ``role`` (psql's ``:'runbook_password'`` and ``:"DBNAME"``
    filled in); ``drop_table``: leave that table out of its ``GRANT SELECT``."""
    text = "\n".join(
        line for line in ROLE_FILE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("--")
    )
    quoted_password = "'" + password.replace("'", "''") + "'"
    text = text.replace(":'runbook_password'", quoted_password).replace(':"DBNAME"', f'"{dbname}"')
    text = re.sub(rf"\b{KIT_USER}\b", role, text)
    out: list[str] = []
    for raw in text.split(";"):
        statement = " ".join(raw.split())
        if not statement:
            continue
        if drop_table is not None and statement.upper().startswith("GRANT SELECT ON TABLE"):
            tables = [t.strip() for t in re.split(r"(?i)GRANT SELECT ON TABLE|TO", statement)[1].split(",")]
            kept = [t for t in tables if t != drop_table]
            if not kept:
                continue
            statement = f"GRANT SELECT ON TABLE {', '.join(kept)} TO {role}"
        out.append(statement)
    return out


def granted_tables() -> list[str]:
    """Tables the role may SELECT from, in file order."""
    tables: list[str] = []
    for statement in role_statements(KIT_USER, "x", "db"):
        match = re.match(r"(?i)GRANT SELECT ON TABLE (.+) TO ", statement)
        if match:
            tables += [t.strip() for t in match.group(1).split(",")]
    return tables
