"""The video database: a SQLite file (embedded) or a PostgreSQL container (containers).

Both create the schema through ``reference.db`` (the API would too) and can make a second, separate
database for the "API and worker on different databases" fault (matrix row 18).
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from reference import db as refdb

POSTGRES_IMAGE = "postgres:15"


class SqliteDatabase:
    """``DATABASE_URL=sqlite:////abs/path`` (four slashes: absolute path)."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def start(self) -> None:
        with refdb.connect(self.url) as conn:
            refdb.create_schema(conn)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url}

    def connect(self) -> refdb.Database:
        return refdb.connect(self.url, create=False)

    def other_database(self, name: str) -> SqliteDatabase:
        """Another SQLite file beside this one, with the schema but none of the rows."""
        other = SqliteDatabase(self.path.with_name(f"{name}.sqlite3"))
        other.start()
        return other

    def stop(self) -> None:
        pass

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} file {self.path}"


class PostgresDatabase:
    """testcontainers ``PostgresContainer``; the API and worker get ``DB_HOST``/``DB_PORT``/``DB_NAME``/
    ``DB_USER``/``DB_PASSWORD`` like the production deployment."""

    kind = "postgresql"

    def __init__(self, image: str = POSTGRES_IMAGE, dbname: str = "academy", user: str = "academy") -> None:
        from reference.stack.containers import testcontainers_env

        testcontainers_env()
        from testcontainers.community.postgres import PostgresContainer

        self.image = image
        self.dbname = dbname
        self.user = user
        self.password = secrets.token_hex(12)
        self.container: Any = PostgresContainer(
            image, username=user, password=self.password, dbname=dbname, driver=None
        )
        self.host = "127.0.0.1"
        self.port = 0
        self._stopped = False
        self._owner: PostgresDatabase | None = None

    def start(self) -> None:
        self.container.start()
        self.port = int(self.container.get_exposed_port(5432))
        with self.connect() as conn:
            refdb.create_schema(conn)

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    def env(self) -> dict[str, str]:
        return {
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": self.dbname,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
        }

    def connect(self) -> refdb.Database:
        return refdb.connect(self.url)

    def other_database(self, name: str) -> PostgresDatabase:
        """Another database on the same server (a different ``DB_NAME``), with the schema."""
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        other = object.__new__(PostgresDatabase)
        other.__dict__.update(self.__dict__)
        other.dbname = name
        other._owner = self
        with other.connect() as conn:
            refdb.create_schema(conn)
        return other

    def stop(self) -> None:
        if self._owner is None and not self._stopped:
            self._stopped = True
            with contextlib.suppress(Exception):
                self.container.stop()

    def describe(self) -> str:
        try:
            with self.connect() as conn:
                version = conn.execute("SHOW server_version")[0][0]
        except Exception:
            version = "?"
        return f"PostgreSQL {version} container ({self.image}, PostgresContainer, 127.0.0.1:{self.port})"
