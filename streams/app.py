"""The Faust app factory and its agents: one agent per raw topic, each a short loop that takes a
batch of events, hands it to the ingest stage, and lets Faust commit the offsets only after the
stage has returned — that is, after the rows and dead letters are durable (at-least-once from
Kafka, effectively-once in PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import faust
import structlog

from opsassist.bus.deadletter import DeadLetter
from opsassist.endpoints import Endpoints
from opsassist.llm import LLMClient
from opsassist.schemas import EventKind
from opsassist.settings import Settings
from opsassist.store.dead_letters import dead_letter_record, record_dead_letters
from opsassist.store.llm_cache import PostgresAnswerCache
from opsassist.store.pool import create_pool
from opsassist.store.sink import EventSink
from opsassist.streams.agents.changelog import ChangelogUpdater
from opsassist.streams.agents.handler import (
    AlertHandler,
    CommitHandler,
    EventHandler,
    LogHandler,
    TicketHandler,
)
from opsassist.streams.agents.ingest import IngestStage, SendDeadLetters
from opsassist.streams.agents.logs import LogIntelligence
from opsassist.streams.agents.sanitize import EventSanitizer
from opsassist.streams.agents.tickets import ModelWatcher, TicketTriage
from opsassist.streams.changelog import load_config
from opsassist.streams.enrich import Enricher
from opsassist.streams.privacy import Redactor
from opsassist.streams.runtime import metrics
from opsassist.streams.runtime.consumer_metrics import add_consumer_metrics
from opsassist.streams.runtime.monitor import LeanMonitor
from opsassist.streams.runtime.progress import ProgressWatch
from opsassist.streams.runtime.transport import RawSchema, Transport

log = structlog.get_logger(__name__)


def _broker_urls(bootstrap_servers: str) -> list[str]:
    return [
        f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server.strip()
    ]


@contextlib.contextmanager
def ack_fence(events: Sequence[Any]) -> Iterator[None]:
    """Keep a failed or cancelled batch from being acknowledged.

    ``Stream.take_events`` acks every event of a batch when the loop body is left, even by an
    exception or a cancellation (shutdown in the middle of a write). Marking the messages as
    already acked, without telling the consumer, turns that ack into a no-op: their offsets are
    never committed and the batch is delivered again after a restart or rebalance.
    """
    try:
        yield
    except BaseException:
        for event in events:
            event.message.acked = True
        raise


class _App(faust.App):
    """``faust.App`` resolving its Event class once instead of through its settings registry
    for every message (a measurable share of the per-event cost)."""

    #: Read by our consumer (streams/runtime/transport.py) when it builds the aiokafka consumer.
    fetch_max_wait_ms: int = 100

    _event_class: Any = None

    def create_event(self, key: Any, value: Any, headers: Any, message: Any) -> Any:
        event_class = self._event_class
        if event_class is None:
            event_class = self._event_class = self.conf.Event
        return event_class(self, key, value, headers, message)


def _dead_letter_sender(dlq: faust.types.TopicT, pool: asyncpg.Pool) -> SendDeadLetters:
    """Sends dead letters to the dead-letter topic and records them in PostgreSQL."""

    async def send_dead_letters(letters: Sequence[DeadLetter]) -> None:
        # force=True: send now, not "attached" to the current event until it is acked.
        futures = [
            await dlq.send(key=dl.key, value=dl.value, headers=dl.headers, force=True)
            for dl in letters
        ]
        # each awaited: the broker has acknowledged it (acks=all), at this place
        placed = [await future for future in futures]
        # Recorded for the API (list, replay) before the batch's offsets may be committed; a
        # failure fails the batch, which is read again (the record is an upsert).
        await record_dead_letters(
            pool,
            [dead_letter_record(letter, meta.topic, meta.partition, meta.offset)
             for letter, meta in zip(letters, placed, strict=True)],
        )  # fmt: skip

    return send_dead_letters


@dataclass(frozen=True, slots=True)
class WorkerServices:
    """What the agents run on, built once per process when the worker starts."""

    settings: Settings
    pool: asyncpg.Pool
    #: Sends to the dead-letter topic (the app's producer) and records in PostgreSQL.
    send_dead_letters: SendDeadLetters
    llm: LLMClient
    #: Enrichment and redaction, shared by every kind: nothing unredacted is stored or sent on.
    sanitizer: EventSanitizer
    handlers: Mapping[EventKind, EventHandler[Any, Any, Any]]
    stages: Mapping[EventKind, IngestStage]
    #: Keeps ticket triage on the newest stored model; None when a model file pins it.
    model_watcher: ModelWatcher | None


class _Started:
    """The services, once built; the agents and the timers wait for them (the database is
    opened in a Faust task, after the app's constructor has returned)."""

    def __init__(self) -> None:
        self._ready = asyncio.Event()
        self._services: WorkerServices | None = None

    def set(self, services: WorkerServices) -> None:
        self._services = services
        self._ready.set()

    @property
    def services(self) -> WorkerServices | None:
        return self._services

    async def wait(self) -> WorkerServices:
        await self._ready.wait()
        assert self._services is not None
        return self._services


def _faust_app(settings: Settings, endpoints: Endpoints) -> _App:
    workers_dir = settings.state_dir / "worker"
    workers_dir.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    app = _App(
        settings.worker_id,
        broker=_broker_urls(endpoints.kafka_bootstrap_servers),
        key_serializer="raw",
        value_serializer="raw",
        web_host="127.0.0.1",
        web_port=settings.worker_web_port,
        web_in_thread=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.worker_session_timeout_seconds,
        broker_heartbeat_interval=max(1.0, settings.worker_session_timeout_seconds / 5),
        broker_commit_every=settings.worker_batch_size,
        stream_buffer_maxsize=max(settings.worker_stream_buffer, settings.worker_batch_size * 2),
        broker_max_poll_records=settings.worker_max_poll_records,
        producer_acks=-1,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        topic_allow_declare=False,
        store="memory://",
        # Faust's default is "<id>-data" in the working directory; keep it with the state.
        datadir=workers_dir / settings.worker_id,
        Monitor=LeanMonitor,
    )
    # Our transport: a shorter fetch wait and a cheaper hand-off (see streams/runtime/transport.py).
    app.fetch_max_wait_ms = settings.worker_fetch_max_wait_ms
    app.transport = Transport(app.conf.broker_consumer, app)
    return app


async def open_services(
    settings: Settings, endpoints: Endpoints, dlq: faust.types.TopicT
) -> WorkerServices:
    """Open the database and build every kind's handler and ingest stage on it."""
    pool = await create_pool(endpoints.database_url, settings.worker_db_pool_size)
    llm = LLMClient.from_settings(settings, cache=PostgresAnswerCache(pool))
    sanitizer = EventSanitizer(Enricher.from_settings(settings), Redactor.from_settings(settings))
    triage = TicketTriage.from_settings(settings, llm=llm, pool=pool)
    model_watcher = triage.model_watcher()
    if model_watcher is not None:
        await model_watcher.refresh()
    handlers = _handlers(settings, pool, llm, triage)
    send_dead_letters = _dead_letter_sender(dlq, pool)
    stages = {
        kind: IngestStage(
            handler,
            send_dead_letters,
            max_backoff=settings.worker_retry_max_backoff_seconds,
            sanitizer=sanitizer,
        )
        for kind, handler in handlers.items()
    }
    return WorkerServices(
        settings=settings,
        pool=pool,
        send_dead_letters=send_dead_letters,
        llm=llm,
        sanitizer=sanitizer,
        handlers=handlers,
        stages=stages,
        model_watcher=model_watcher,
    )


def _handlers(
    settings: Settings, pool: asyncpg.Pool, llm: LLMClient, triage: TicketTriage
) -> dict[EventKind, EventHandler[Any, Any, Any]]:
    sink = EventSink(pool)
    changelogs = ChangelogUpdater(
        pool,
        load_config(settings.changelog_config, settings.changelog_repository_url or None),
        llm=llm if settings.changelog_polish else None,
    )
    return {
        "log": LogHandler(sink, LogIntelligence.from_settings(settings, pool, llm=llm)),
        "ticket": TicketHandler(sink, triage),
        "commit": CommitHandler(sink, changelogs),
        "alert": AlertHandler(pool),
    }


def _add_ingest_agent(
    app: faust.App,
    kind: EventKind,
    topic_name: str,
    *,
    started: _Started,
    settings: Settings,
    progress: ProgressWatch,
) -> None:
    """The agent of one raw topic: batches handed to the kind's ingest stage, offsets
    acknowledged only after it returns (``ack_fence``)."""
    topic = app.topic(topic_name, schema=RawSchema())

    async def agent(stream: Any) -> None:
        stage = (await started.wait()).stages[kind]
        async for events in stream.take_events(
            settings.worker_batch_size, within=settings.worker_batch_seconds
        ):
            started_at = time.perf_counter()
            batch = progress.batch_started()
            with ack_fence(events):
                await stage.handle_until_done([event.message for event in events])
            progress.batch_done(batch)
            metrics.BATCH_SECONDS.labels(topic_name).observe(time.perf_counter() - started_at)

    agent.__name__ = f"ingest_{kind}"
    app.agent(topic, name=f"ingest-{kind}")(agent)


def create_app(settings: Settings, endpoints: Endpoints) -> faust.App:
    """A Faust app wired to the configured Kafka and PostgreSQL; ``faust.Worker`` runs it."""
    app = _faust_app(settings, endpoints)
    dlq = app.topic(settings.topic_dead_letter, key_serializer="raw", value_serializer="raw")
    started = _Started()

    async def start_services() -> None:
        started.set(await open_services(settings, endpoints, dlq))

    async def refresh_triage_model() -> None:
        # A newer active model in PostgreSQL replaces the triage model without a restart.
        services = started.services
        if services is not None and services.model_watcher is not None:
            await services.model_watcher.refresh()

    app.task(start_services)
    app.timer(interval=settings.triage_model_poll_seconds)(refresh_triage_model)
    progress = ProgressWatch()
    for kind, topic_name in settings.topics.items():
        _add_ingest_agent(
            app,
            kind,  # type: ignore[arg-type]
            topic_name,
            started=started,
            settings=settings,
            progress=progress,
        )
    topics = list(settings.topics.values())
    metrics.initialize(topics)
    add_consumer_metrics(app, topics, progress, settings.worker_stall_seconds)
    return app


class Worker(faust.Worker):
    """Faust's worker, with logging through structlog instead of mode's own set-up."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        super().__init__(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
        self._opsassist_settings = settings

    def _setup_logging(self) -> None:
        from opsassist.structured_logging import configure_logging

        settings = self._opsassist_settings
        configure_logging(settings.log_level, settings.log_format, Redactor.from_settings(settings))
