"""A PostgreSQL cluster from the server binaries on the machine: ``initdb`` into a data directory,
``pg_ctl`` to start and stop it on a chosen port, listening on 127.0.0.1 only.

PostgreSQL refuses to run as root. When we are root (containers, CI), the cluster is owned by
and run as the ``postgres`` system user if it exists, else ``nobody``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from opsassist.infra.errors import InfraError
from opsassist.infra.processes import port_free

DB_USER = "opsassist"
DB_NAME = "opsassist"


def postgres_bindir() -> Path:
    """Where initdb/pg_ctl live: PATH first, then the Debian/Ubuntu layout."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise InfraError(
        "The local PostgreSQL needs the server binaries (initdb, pg_ctl) and none were found. "
        "Install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install "
        "postgresql@15), or set DATABASE_URL to an existing server."
    )


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise InfraError("Running as root and neither a 'postgres' nor a 'nobody' user exists.")


def _traversable_by_others(path: Path) -> bool:
    return all(parent.stat().st_mode & 0o001 for parent in [*path.parents][:-1] if parent.exists())


def data_dir_for(preferred: Path) -> Path:
    """The data directory to use: ``preferred``, unless we are root and the server user could
    not reach it (a home directory with mode 0700), then a stable path under /var/tmp."""
    if os.geteuid() != 0 or _traversable_by_others(preferred):
        return preferred
    import hashlib

    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    # Not a temporary file: a stable, per-path location that survives reboots like /var/tmp does.
    return Path("/var/tmp") / f"opsassist-{digest}" / preferred.name  # noqa: S108


@dataclass
class LocalPostgres:
    """One local cluster with a database and a superuser both named ``opsassist``."""

    data_dir: Path
    port: int = 5433
    durable: bool = True

    @property
    def database_url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.sock"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        user = _run_as()
        done = subprocess.run(
            [str(postgres_bindir() / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            cwd="/",
        )
        if check and done.returncode != 0:
            raise InfraError(
                f"{args[0]} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}"
            )
        return done

    def _chown(self, *paths: Path) -> None:
        user = _run_as()
        if user is None:
            return
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialized():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0

    def start(self, timeout: int = 60) -> str:
        """Initialize the cluster if needed, start it (or find it running), ensure the database."""
        if self.running():
            return self.database_url
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if not self.initialized():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._chown(self.data_dir)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                DB_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
            )
        if not port_free(self.port):
            raise InfraError(
                f"Port {self.port} is taken, so the local PostgreSQL cannot listen there. "
                "Stop whatever uses it, or set OPSASSIST_POSTGRES_PORT."
            )
        self.socket_dir.mkdir(exist_ok=True)
        self.log_file.touch()
        self._chown(self.socket_dir, self.log_file)
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-k {self.socket_dir}",
            "-c max_connections=200",
        ]
        if not self.durable:
            # A throwaway test cluster: durability buys nothing and costs seconds.
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        done = self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(timeout),
            "-o",
            " ".join(options),
            check=False,
        )
        if done.returncode != 0:
            log = (
                self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            )
            raise InfraError(f"PostgreSQL did not start: {done.stderr.strip()}\n{log}")
        exists = self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            DB_USER,
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'",
        )
        if exists.stdout.strip() != "1":
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, DB_NAME)
        return self.database_url

    def stop(self) -> bool:
        """Stop the cluster (fast shutdown: clients disconnected, data flushed); False if it was
        not running."""
        if not self.running():
            return False
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w")
        return True

    def destroy(self) -> None:
        self.stop()
        for path in (self.data_dir, self.socket_dir):
            shutil.rmtree(path, ignore_errors=True)
        self.log_file.unlink(missing_ok=True)
