"""Services for benchmarks: the same local Kafka and PostgreSQL the tests use (or the configured
ones), a fresh migrated database, and the worker and the API as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from opsassist.infra.kafka import LocalKafka
from opsassist.infra.postgres import LocalPostgres
from opsassist.infra.processes import free_port
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.store.migrations import migrate


@dataclass
class Services:
    kafka_bootstrap_servers: str
    server_url: str  # a database URL on the server, to create others from
    work_dir: Path

    async def new_database(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        url = self.server_url.rsplit("/", 1)[0] + f"/{name}"
        await migrate(url)
        return url


@contextlib.contextmanager
def services(durable_postgres: bool = True) -> Iterator[Services]:
    env = Settings()
    work = Path(tempfile.mkdtemp(prefix="opsassist-bench-"))
    work.chmod(0o755)
    kafka: LocalKafka | None = None
    pg: LocalPostgres | None = None
    try:
        bootstrap = env.kafka_bootstrap_servers
        if not bootstrap:
            kafka = LocalKafka(
                version=env.kafka_version,
                cache_dir=env.cache_dir,
                data_dir=work / "kafka",
                port=free_port(),
                controller_port=free_port(),
            )
            bootstrap = kafka.start(timeout=120)
        url = env.database_url
        if not url:
            pg = LocalPostgres(data_dir=work / "pg", port=free_port(), durable=durable_postgres)
            url = pg.start()
        yield Services(bootstrap, url, work)
    finally:
        if kafka is not None:
            kafka.stop()
        if pg is not None:
            pg.destroy()
        shutil.rmtree(work, ignore_errors=True)


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def start_api(
    svc: Services, database_url: str, port: int, settings: dict[str, str]
) -> subprocess.Popen[bytes]:
    """``opsassist api`` on ``port``, with the environment's settings but ``OPSASSIST_*`` ones
    replaced by ``settings`` (full variable names), logging to ``api.log`` in the work dir;
    returns once it answers ``/healthz``."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSASSIST_")},
        "KAFKA_BOOTSTRAP_SERVERS": svc.kafka_bootstrap_servers,
        "DATABASE_URL": database_url,
        "OPSASSIST_API_PORT": str(port),
        "OPSASSIST_LOG_LEVEL": "WARNING",
        "OPSASSIST_STATE_DIR": str(svc.work_dir / "state"),
        **settings,
    }
    log = (svc.work_dir / "api.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsassist", "api"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited; see {svc.work_dir / 'api.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the API did not answer within 60 s")
