"""The Faust app factory and its agents: one agent per raw topic, each a short loop that takes a
batch of events, hands it to the ingest stage, and lets Faust commit the offsets only after the
stage has returned — that is, after the rows and dead letters are durable (at-least-once from
Kafka, effectively-once in PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import faust
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from infra.local import Endpoints
from opsassist.settings import Settings
from schemas import EventKind
from store.pool import create_pool
from store.sink import EventSink
from streams import metrics
from streams.deadletter import DeadLetter
from streams.ingest import IngestStage, RawMessage

log = structlog.get_logger(__name__)


def _broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server.strip()]


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


def _raw(event: Any) -> RawMessage:
    message = event.message
    headers = message.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return RawMessage(topic=message.topic, partition=message.partition, offset=message.offset,
                      key=message.key, value=message.value,
                      headers=[(k, bytes(v) if v is not None else b"") for k, v in headers])


def create_app(settings: Settings, endpoints: Endpoints) -> faust.App:
    """A Faust app wired to the configured Kafka and PostgreSQL; ``faust.Worker`` runs it."""
    app = faust.App(
        settings.worker_id,
        broker=_broker_urls(endpoints.kafka_bootstrap_servers),
        key_serializer="raw",
        value_serializer="raw",
        web_host="127.0.0.1",
        web_port=settings.worker_web_port,
        web_in_thread=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_commit_every=settings.worker_batch_size,
        stream_buffer_maxsize=max(4096, settings.worker_batch_size * 2),
        producer_acks=-1,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        topic_allow_declare=False,
        store="memory://",
    )
    state: dict[str, Any] = {}
    dlq = app.topic(settings.topic_dead_letter, key_serializer="raw", value_serializer="raw")

    async def send_dead_letters(letters: Sequence[DeadLetter]) -> None:
        # force=True: send now, not "attached" to the current event until it is acked.
        futures = [await dlq.send(key=dl.key, value=dl.value, headers=dl.headers, force=True)
                   for dl in letters]
        for future in futures:
            await future  # the broker has acknowledged it (acks=all)

    @app.task
    async def open_database() -> None:
        pool = await create_pool(endpoints.database_url, settings.worker_db_pool_size)
        state["pool"] = pool
        sink = EventSink(pool)
        for kind in ("log", "commit", "ticket"):
            state[kind] = IngestStage(kind, sink, send_dead_letters)  # type: ignore[arg-type]
        state["ready"].set()

    state["ready"] = asyncio.Event()

    def make_agent(kind: EventKind, topic_name: str) -> None:
        topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw")

        async def agent(stream: Any) -> None:
            await state["ready"].wait()
            stage: IngestStage = state[kind]
            async for events in stream.take_events(settings.worker_batch_size,
                                                   within=settings.worker_batch_seconds):
                with ack_fence(events):
                    await stage.handle([_raw(e) for e in events])

        agent.__name__ = f"ingest_{kind}"
        app.agent(topic, name=f"ingest-{kind}")(agent)

    for kind, topic_name in settings.topics.items():
        make_agent(kind, topic_name)  # type: ignore[arg-type]

    @app.timer(interval=5.0)
    async def report_lag() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            committed = consumer._committed_offset.get(tp)
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            lag = max(0, highwater - (committed if committed is not None else 0))
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    return app


class Worker(faust.Worker):  # type: ignore[misc]
    """Faust's worker, with logging through structlog instead of mode's own set-up."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        super().__init__(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
        self._opsassist_settings = settings

    def _setup_logging(self) -> None:
        from opsassist.structured_logging import configure_logging

        configure_logging(self._opsassist_settings.log_level, self._opsassist_settings.log_format)
