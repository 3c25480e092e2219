"""The test harness: a real Apache Kafka broker and a real PostgreSQL server, started once per
test session from the jars and binaries on the machine (or taken from KAFKA_BOOTSTRAP_SERVERS /
DATABASE_URL when set), and helpers to run the worker as a real process.

Each test gets its own topics, consumer group and database (cloned from a migrated template),
so tests never see each other's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from opsassist.infra.kafka import LocalKafka
from opsassist.infra.postgres import LocalPostgres
from opsassist.infra.processes import free_port
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.store.migrations import migrate

ENV = Settings()  # what the environment configures; tests derive their own settings from it


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2
) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` did not happen within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="session")
def session_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="opsassist-tests-"))
    path.chmod(0o755)  # the postgres server user must reach its data dir when we are root
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_bootstrap(session_dir: Path) -> Iterator[str]:
    if ENV.kafka_bootstrap_servers:
        yield ENV.kafka_bootstrap_servers
        return
    broker = LocalKafka(
        version=ENV.kafka_version,
        cache_dir=ENV.cache_dir,
        data_dir=session_dir / "kafka",
        port=free_port(),
        controller_port=free_port(),
        heap="512m",
    )
    try:
        yield broker.start(timeout=120)
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres_server(session_dir: Path) -> Iterator[LocalPostgres | None]:
    if ENV.database_url:
        yield None
        return
    server = LocalPostgres(data_dir=session_dir / "pg", port=free_port(), durable=False)
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def stoppable_postgres(postgres_server: LocalPostgres | None) -> Iterator[LocalPostgres]:
    """The test PostgreSQL server, for a test that stops and starts it (an outage); it is
    running again after the test, whatever happened."""
    if postgres_server is None:
        pytest.skip("stops the PostgreSQL server the tests start; DATABASE_URL points elsewhere")
    yield postgres_server
    postgres_server.start()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def migrated_template(postgres_server: LocalPostgres | None) -> str:
    """A database with every migration applied, cloned for each test."""
    base_url = ENV.database_url or postgres_server.database_url  # type: ignore[union-attr]
    template = "opsassist_template"

    async def create() -> None:
        conn = await asyncpg.connect(base_url)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {template}")
            await conn.execute(f"CREATE DATABASE {template}")
        finally:
            await conn.close()
        await migrate(_with_database(base_url, template))

    asyncio.run(create())
    return base_url


@contextlib.contextmanager
def _scratch_database(server_url: str, prefix: str, template: str | None) -> Iterator[str]:
    """A database of its own for one test (cloned from ``template``, or empty), dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    clone = f" TEMPLATE {template}" if template else ""
    asyncio.run(run(f"CREATE DATABASE {name}{clone}"))
    try:
        yield _with_database(server_url, name)
    finally:
        asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def database_url(migrated_template: str) -> Iterator[str]:
    """A fresh, migrated database of this test's own."""
    with _scratch_database(migrated_template, "t", "opsassist_template") as url:
        yield url


@pytest.fixture
def empty_database_url(migrated_template: str) -> Iterator[str]:
    """A fresh database with no migrations applied, for tests of the migration runner."""
    with _scratch_database(migrated_template, "e", None) as url:
        yield url


@pytest.fixture
def settings(kafka_bootstrap: str, database_url: str, tmp_path: Path) -> Settings:
    """Settings of this test: its own topics and consumer group on the shared services."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        DATABASE_URL=database_url,
        state_dir=tmp_path / "state",
        topic_logs=f"t{suffix}.logs.raw",
        topic_commits=f"t{suffix}.commits.raw",
        topic_tickets=f"t{suffix}.tickets.raw",
        topic_alerts=f"t{suffix}.alerts.raw",
        topic_dead_letter=f"t{suffix}.deadletter",
        topic_partitions=3,
        worker_id=f"test-worker-{suffix}",
        worker_web_port=free_port(),
        api_port=free_port(),
        log_level="INFO",
        # One API process without the response cache: tests read their own direct database
        # writes at once and count one process's queries. The defaults (a process per core,
        # a 1 s cache) have their own tests (tests/integration/graphql/test_response_cache.py).
        api_workers=1,
        graphql_response_cache_seconds=0.0,
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSASSIST_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.kafka_bootstrap_servers
    env["DATABASE_URL"] = settings.database_url
    for name in (
        "state_dir",
        "topic_logs",
        "topic_commits",
        "topic_tickets",
        "topic_alerts",
        "topic_dead_letter",
        "topic_partitions",
        "worker_id",
        "worker_web_port",
        "log_level",
        "worker_batch_size",
        "worker_batch_seconds",
        "api_port",
        "triage_model_poll_seconds",
    ):
        env[f"OPSASSIST_{name.upper()}"] = str(getattr(settings, name))
    # and whatever a test set itself (``worker_process(privacy_pseudonym_key=...)``)
    for name in settings.model_fields_set - {"kafka_bootstrap_servers", "database_url"}:
        env[f"OPSASSIST_{name.upper()}"] = _env_value(getattr(settings, name))
    return env


def _env_value(value: object) -> str:
    """A settings value as pydantic-settings reads it from the environment."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value)
    return str(value)


def run_cli(
    settings: Settings, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``opsassist ARGS`` as a user runs it, with exactly these settings."""
    return subprocess.run(
        [sys.executable, "-m", "opsassist", *args],
        env={**settings_env(settings), "COLUMNS": "300"},
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
    )


@dataclass
class ServiceProcess:
    """An ``opsassist`` command as a real child process, started until it answers /healthz."""

    settings: Settings
    log_file: Path
    proc: subprocess.Popen[bytes] | None = None
    command: ClassVar[str] = ""

    @property
    def health_url(self) -> str:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return settings_env(self.settings)

    def start(self, timeout: float = 90) -> None:
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsassist", self.command],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.command} exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            try:
                return httpx.get(self.health_url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout, f"the {self.command} to serve /healthz")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class WorkerProcess(ServiceProcess):
    """``opsassist worker`` as a real child process."""

    command: ClassVar[str] = "worker"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.worker_web_port}/healthz"

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.settings.worker_web_port}/metrics"
        return httpx.get(url, timeout=5).text

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` on /metrics whose labels include ``labels``."""
        from prometheus_client.parser import text_string_to_metric_families

        return sum(
            sample.value
            for family in text_string_to_metric_families(self.metrics())
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def health(self) -> httpx.Response:
        return httpx.get(self.health_url, timeout=5)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no commit, nothing flushed."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def worker_process(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def make(**overrides: object) -> WorkerProcess:
        worker = WorkerProcess(
            settings.model_copy(update=overrides), tmp_path / f"worker{len(started)}.log"
        )
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


@dataclass
class ApiProcess(ServiceProcess):
    """``opsassist api`` as a real child process (uvicorn on a free port)."""

    command: ClassVar[str] = "api"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def health_url(self) -> str:
        return f"{self.url}/healthz"


@pytest.fixture
def api_process(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., ApiProcess]]:
    started: list[ApiProcess] = []

    def make(**overrides: object) -> ApiProcess:
        api = ApiProcess(settings.model_copy(update=overrides), tmp_path / f"api{len(started)}.log")
        started.append(api)
        return api

    yield make
    for api in started:
        api.stop()


# -- webhooks (issue 3): the API with webhook settings and an API key of its own


WEBHOOK_SETTINGS = (
    "github_webhook_secret",
    "webhook_max_body_bytes",
    "webhook_max_decompressed_bytes",
    "webhook_rate_limit_per_second",
    "webhook_rate_limit_burst",
    "webhook_produce_timeout_seconds",
    "webhook_retry_after_seconds",
    "webhook_api_key_cache_seconds",
)


@dataclass
class WebhookApiProcess(ApiProcess):
    """``opsassist api`` with the webhook settings passed on, and an API key made for it."""

    api_key: str = ""

    def env(self) -> dict[str, str]:
        env = settings_env(self.settings)
        for name in WEBHOOK_SETTINGS:
            env[f"OPSASSIST_{name.upper()}"] = str(getattr(self.settings, name))
        return env

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", **extra}


def create_api_key(database_url: str, name: str, scopes: list[str]) -> str:
    """A new API key in the database; the token a sender presents."""
    from opsassist.api.webhooks.auth import generate_api_key, hash_secret
    from opsassist.store.api_keys import insert_api_key

    key = generate_api_key()

    async def insert() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await insert_api_key(conn, key.key_id, name, hash_secret(key.secret), scopes)
        finally:
            await conn.close()

    asyncio.run(insert())
    return key.token


@pytest.fixture
def webhook_api(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WebhookApiProcess]]:
    """Make (not start) API processes with webhook settings and an all-scopes API key."""
    started: list[WebhookApiProcess] = []

    def make(scopes: tuple[str, ...] = ("*",), **overrides: object) -> WebhookApiProcess:
        merged: dict[str, object] = {"github_webhook_secret": "It's a Secret to Everybody"}
        merged.update(overrides)
        api = WebhookApiProcess(
            settings.model_copy(update=merged), tmp_path / f"webhook-api{len(started)}.log"
        )
        api.api_key = create_api_key(settings.database_url, f"test-{len(started)}", list(scopes))
        started.append(api)
        return api

    yield make
    for api in started:
        api.stop()


# -- GraphQL (issue 10): the API with a known JWT key, fast bcrypt, and accounts per role

GRAPHQL_JWT_SECRET = "test-jwt-key-" + "k" * 40
GRAPHQL_SETTINGS = (
    "graphql_jwt_secret",
    "graphql_bcrypt_rounds",
    "graphql_open_signup",
    "graphql_production",
    "graphql_graphiql",
    "graphql_access_token_minutes",
    "graphql_max_page_size",
    "graphql_max_depth",
    "graphql_max_aliases",
    "graphql_max_tokens",
)


@dataclass
class GraphqlApiProcess(ApiProcess):
    """``opsassist api`` with the GraphQL settings passed on."""

    def env(self) -> dict[str, str]:
        env = settings_env(self.settings)
        for name in GRAPHQL_SETTINGS:
            value = getattr(self.settings, name)
            value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            env[f"OPSASSIST_{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        return env

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"


@pytest.fixture
def graphql_api(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., GraphqlApiProcess]]:
    """Make (not start) API processes with a known JWT key and 4 bcrypt rounds."""
    started: list[GraphqlApiProcess] = []

    def make(**overrides: object) -> GraphqlApiProcess:
        merged: dict[str, object] = {
            "graphql_jwt_secret": GRAPHQL_JWT_SECRET,
            "graphql_bcrypt_rounds": 4,
        }
        merged.update(overrides)
        api = GraphqlApiProcess(
            settings.model_copy(update=merged), tmp_path / f"graphql-api{len(started)}.log"
        )
        started.append(api)
        return api

    yield make
    for api in started:
        api.stop()
