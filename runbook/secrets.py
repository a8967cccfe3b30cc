"""Keeping secrets out of every output.

Values of secret settings are registered once, when configuration is loaded; every text that leaves the
suite (terminal, HTML, JSON, JUnit) is passed through :func:`scrub`. Masks keep enough to compare two
settings at 3 a.m. (length and last two characters), never the value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|ACCESS_KEY|CREDENTIAL|WEBHOOK)", re.I)
#: Values shorter than this are not scrubbed from free text: "1" or "db" would mangle every message.
_MIN_SCRUB_LEN = 4

_lock = threading.Lock()
_registered: set[str] = set()


def is_secret_name(name: str) -> bool:
    """True for an environment variable whose value must never be printed."""
    return bool(_SECRET_NAME.search(name))


def mask(value: str | None) -> str:
    """A printable stand-in: ``set (len 40, …Xy)``; comparing two masks says same or different."""
    if value is None or value == "":
        return "unset"
    tail = value[-2:] if len(value) >= 12 else ""
    return f"set (len {len(value)}{', …' + tail if tail else ''})"


def url_password(url: str) -> str | None:
    """The password inside ``scheme://user:password@host``, if any."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """``postgresql://app:***@db:5432/academy`` from a URL with credentials; tokens in the query masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = re.sub(r"((?:token|key|secret|password|signature)[^=&]*=)[^&]*", r"\1***", parts.query, flags=re.I)
    return parts._replace(netloc=netloc, query=query).geturl()


def register(values: Iterable[str | None]) -> None:
    """Remember secret values so that :func:`scrub` removes them from any text."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_SCRUB_LEN:
                _registered.add(value)


def register_env(env: Mapping[str, str]) -> None:
    """Register every secret-looking value of an environment (keys, tokens, passwords in URLs)."""
    values: list[str | None] = []
    for name, value in env.items():
        if is_secret_name(name):
            values.append(value)
        if "://" in value:
            values.append(url_password(value))
            query_tokens = re.findall(r"(?:token|key|secret|password|signature)[^=&]*=([^&]+)", value, re.I)
            values.extend(query_tokens)
    register(values)


def scrub(text: str) -> str:
    """Replace every registered secret in ``text`` by ``***``; longest first so overlaps stay masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_registered, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def registered_count() -> int:
    with _lock:
        return len(_registered)
