"""Producing the events a request carries, and answering only once Kafka has them.

One producer per API process (``acks=all``, idempotent), started on first use so the API starts
and answers health checks while Kafka is down. A request's events are sent together, as record
batches per partition (``opsassist.bus.producer.EventSender``), and waited for together; if the
broker does not acknowledge all of them within the timeout, the request fails with
:class:`KafkaUnavailable` and the sender is told to retry (503), never a 2xx.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from opsassist.bus.producer import EventSender
from opsassist.bus.topics import ensure_topics
from opsassist.schemas import AnyEvent
from opsassist.settings import Settings

log = structlog.get_logger(__name__)


class KafkaUnavailable(RuntimeError):
    """The events were not (all) acknowledged by Kafka; nothing may be reported as queued."""


class EventPublisher:
    def __init__(self, bootstrap_servers: str, settings: Settings) -> None:
        self._bootstrap = bootstrap_servers
        self._settings = settings
        self._timeout = settings.webhook_produce_timeout_seconds
        self._producer: AIOKafkaProducer | None = None
        self._sender: EventSender | None = None
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    def _new_producer(self) -> AIOKafkaProducer:
        timeout_ms = int(self._timeout * 1000)
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=self._settings.webhook_producer_linger_ms,
            max_batch_size=256 * 1024,
            request_timeout_ms=timeout_ms,
            metadata_max_age_ms=60_000,
        )

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is not None:
                return self._producer
            producer = self._new_producer()
            try:
                async with asyncio.timeout(self._timeout):
                    await producer.start()
            except (TimeoutError, KafkaError, OSError) as exc:
                self._retire(producer)
                raise KafkaUnavailable(f"cannot reach Kafka at {self._bootstrap}: {exc!r}") from exc
            try:
                async with asyncio.timeout(self._timeout):
                    await ensure_topics(self._bootstrap, self._settings, retry_for=0)
            except (TimeoutError, KafkaError, OSError) as exc:
                # Best effort: on a cluster where the API may not create topics they exist
                # already, or producing fails on its own and says so.
                log.warning("webhook_topics_not_ensured", error=repr(exc))
            self._producer = producer
            self._sender = EventSender(producer)
            return producer

    def _retire(self, producer: AIOKafkaProducer) -> None:
        """Stop a producer in the background: stopping flushes, which waits on a dead broker."""

        async def stop() -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._timeout * 2):
                    await producer.stop()

        task = asyncio.get_running_loop().create_task(stop())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def publish(self, events: Sequence[AnyEvent]) -> None:
        """Return once Kafka acknowledged every event; raise :class:`KafkaUnavailable` if not."""
        if not events:
            return
        producer = await self._started()
        try:
            async with asyncio.timeout(self._timeout):
                assert self._sender is not None  # set together with the producer
                await self._sender.send(
                    {**self._settings.topics, "alert": self._settings.topic_alerts}, events
                )
        except (TimeoutError, KafkaError) as exc:
            # Start afresh next time: a producer whose sends timed out may hold stale batches.
            if self._producer is producer:
                self._producer = None
                self._retire(producer)
            raise KafkaUnavailable(
                f"Kafka did not acknowledge {len(events)} event(s) within {self._timeout:g}s: "
                f"{exc!r}"
            ) from exc

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._timeout * 2):
                    await producer.stop()
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
