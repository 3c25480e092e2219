"""``opsassist migrate``, ``worker`` and ``api``: the long-running processes and their schema."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from enum import StrEnum
from typing import TYPE_CHECKING

import typer
from rich.console import Console

# Only what the commands' signatures need is imported here: `opsassist --help` and shell completion
# import this module, and the settings, the stages, the store and the drivers cost seconds to
# import (docs/decisions/0003-cli-startup.md). Each command imports what it runs.
if TYPE_CHECKING:
    from fastapi import FastAPI

    from opsassist.endpoints import Endpoints
    from opsassist.settings import Settings
    from opsassist.streams.privacy import Redactor

# soft_wrap: an error message stays on one line, whole, however narrow the terminal (and greppable).
console = Console(stderr=True, soft_wrap=True)


class MigrationPhase(StrEnum):
    """The phases of ``opsassist migrate --phase``, in order; equal to ``store.migrations.PHASES``
    (a unit test holds them equal; the store is not imported here, for the CLI's start-up)."""

    EXPAND = "expand"
    MIGRATE = "migrate"
    CONTRACT = "contract"


def without_created_series() -> None:
    """Drop prometheus_client's ``*_created`` samples (one per counter and histogram child)
    from this process's /metrics: start times nobody graphs, doubling the series Prometheus
    stores. Called first by every process that serves /metrics: API, worker, lag exporter."""
    from prometheus_client import disable_created_metrics

    disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client


def endpoints_or_exit(settings: Settings) -> Endpoints:
    from opsassist.endpoints import ServicesError, resolve_endpoints

    try:
        return resolve_endpoints(settings)
    except ServicesError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


def migrate(
    phase: MigrationPhase | None = typer.Option(  # noqa: B008
        None,
        help="Apply only pending migrations of this phase and the phases before it: 'expand' "
        "and 'migrate' are safe while the previous app version runs; 'contract' fails while it "
        "is still connected. Without it: everything, except contract steps an older app "
        "version still blocks (left pending, with a warning).",
    ),
    batch_size: int = typer.Option(
        1000, min=1, help="Rows per transaction in batched (backfill) migrations."
    ),
) -> None:
    """Apply the pending database migrations (each in its own transaction, backfills in
    resumable batches); see docs/schema-evolution.md."""
    import asyncio

    from opsassist.settings import get_settings
    from opsassist.store.errors import SchemaMismatch
    from opsassist.store.migrations import BatchProgress, Migration
    from opsassist.store.migrations import migrate as apply_migrations

    endpoints = endpoints_or_exit(get_settings())

    def progress(step: BatchProgress) -> None:
        share = step.rows_scanned / step.rows_total if step.rows_total else 1.0
        console.print(
            f"{step.migration.label}: {step.rows_scanned}/{step.rows_total} rows "
            f"({share:.0%}), {step.rows_changed} changed"
        )

    left: list[Migration] = []

    def blocked(migration: Migration, reason: str) -> None:
        left.append(migration)
        console.print(f"[yellow]left pending:[/] {reason}")

    try:
        applied = asyncio.run(
            apply_migrations(
                endpoints.database_url,
                phase=phase.value if phase else None,
                batch_size=batch_size,
                progress=progress,
                on_blocked=blocked,
            )
        )
    except SchemaMismatch as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    for m in applied:
        console.print(f"applied {m.label} ({m.phase})")
    done = f"{len(applied)} migration(s) applied." if applied else "Nothing to apply."
    pending = f" {len(left)} contract migration(s) left pending." if left else ""
    if applied or left:
        console.print(done + pending)
    else:
        console.print(
            f"Nothing to apply up to the {phase.value} phase." if phase else "Schema is up to date."
        )


async def _preflight(settings: Settings, endpoints: Endpoints) -> None:
    import asyncpg

    from opsassist.bus.topics import ensure_topics
    from opsassist.store.migrations import check_schema

    conn = await asyncpg.connect(endpoints.database_url)
    try:
        await check_schema(conn)
    finally:
        await conn.close()
    await ensure_topics(endpoints.kafka_bootstrap_servers, settings)


def _privacy(settings: Settings) -> Redactor:
    """The redaction policy every log line goes through; a bad policy file stops here."""
    from opsassist.streams.privacy import PrivacyError, Redactor

    try:
        return Redactor.from_settings(settings)
    except PrivacyError as exc:
        console.print(f"[red]error:[/] OPSASSIST_PRIVACY_POLICY={settings.privacy_policy}: {exc}")
        raise typer.Exit(1) from None


def worker() -> None:
    """Run the stream worker (Faust): raw topics into PostgreSQL, bad input to the dead-letter
    topic."""
    import asyncio

    from opsassist.memory import tune_garbage_collector
    from opsassist.settings import get_settings
    from opsassist.store.errors import SchemaMismatch
    from opsassist.streams.agents.tickets import TicketTriage
    from opsassist.streams.changelog import InvalidConfig
    from opsassist.streams.changelog import load_config as load_changelog_config
    from opsassist.streams.enrich import Enricher, SourceFormatError
    from opsassist.streams.triage import TriageError
    from opsassist.structured_logging import configure_logging

    without_created_series()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, _privacy(settings))
    endpoints = endpoints_or_exit(settings)
    try:
        Enricher.from_settings(settings)
    except SourceFormatError as exc:
        console.print(f"[red]error:[/] OPSASSIST_ENRICH_SOURCES: {exc}")
        raise typer.Exit(1) from None
    try:
        load_changelog_config(settings.changelog_config, settings.changelog_repository_url or None)
    except InvalidConfig as exc:
        console.print(
            f"[red]error:[/] OPSASSIST_CHANGELOG_CONFIG={settings.changelog_config}: {exc}"
        )
        raise typer.Exit(1) from None
    try:
        TicketTriage.from_settings(settings)  # a bad triage configuration or model stops here
    except (TriageError, OSError) as exc:
        console.print(f"[red]error:[/] triage: {exc}")
        raise typer.Exit(1) from None
    try:
        asyncio.run(_preflight(settings, endpoints))
    except SchemaMismatch as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    from opsassist.streams.app import Worker, create_app  # Faust is heavy: import only when it runs
    from opsassist.tracing import configure_tracing

    configure_tracing(settings, "opsassist-worker")  # before any span or connection is made
    worker_ = Worker(create_app(settings, endpoints), settings)
    tune_garbage_collector()
    worker_.execute_from_commandline()


# Each API process holds up to five PostgreSQL connections (its pool and its LISTEN): on a big
# host, one per core would exhaust PostgreSQL's default 100. More takes OPSASSIST_API_WORKERS.
_MAX_AUTOMATIC_API_WORKERS = 8


def api_worker_count(settings: Settings) -> int:
    """OPSASSIST_API_WORKERS, or one process per CPU core this process may run on, at most 8."""
    if settings.api_workers > 0:
        return settings.api_workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, _MAX_AUTOMATIC_API_WORKERS))


def api() -> None:
    """Run the HTTP API (FastAPI on uvicorn), in OPSASSIST_API_WORKERS processes."""
    import structlog
    import uvicorn

    from opsassist.api.app import create_app
    from opsassist.memory import tune_garbage_collector
    from opsassist.settings import get_settings
    from opsassist.structured_logging import configure_logging

    without_created_series()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, _privacy(settings))
    endpoints = endpoints_or_exit(settings)
    workers = api_worker_count(settings)
    if workers == 1:
        app = create_app(settings, endpoints)
        tune_garbage_collector()
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            # a subscription message is a /graphql request: the same size limit
            ws_max_size=settings.graphql_max_body_bytes,
        )
        return
    # Several processes on one socket: uvicorn starts each from api_worker_app in a fresh
    # interpreter, which reads its settings from the environment set here.
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = endpoints.kafka_bootstrap_servers
    os.environ["DATABASE_URL"] = endpoints.database_url
    log = structlog.get_logger(__name__)
    if not settings.graphql_jwt_secret.get_secret_value():
        # one random key for all the processes, or a token would only work on its issuer
        log.warning("graphql_jwt_secret_unset", hint="set OPSASSIST_GRAPHQL_JWT_SECRET")
        os.environ["OPSASSIST_GRAPHQL_JWT_SECRET"] = secrets.token_urlsafe(48)
    # Prometheus metrics of all the processes, summed when /metrics is scraped (api/health.py)
    metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="opsassist-api-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    log.info("api_workers", workers=workers)
    try:
        uvicorn.run(
            "opsassist.cli.services:api_worker_app",
            factory=True,
            workers=workers,
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            # a subscription message is a /graphql request: the same size limit
            ws_max_size=settings.graphql_max_body_bytes,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def api_worker_app() -> FastAPI:
    """The app of one API worker process (``opsassist api`` with several workers)."""
    from opsassist.api.app import create_app
    from opsassist.endpoints import resolve_endpoints
    from opsassist.memory import tune_garbage_collector
    from opsassist.settings import get_settings
    from opsassist.structured_logging import configure_logging

    without_created_series()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, _privacy(settings))
    app = create_app(settings, resolve_endpoints(settings))
    tune_garbage_collector()
    return app
