"""Producing events to Kafka with delivery confirmed: ``acks=all`` and an idempotent producer,
so an event counted as sent is durably in the topic, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaProducer

from schemas import AnyEvent, encode_event, kafka_headers, kafka_key

#: How many sends may be outstanding before we wait for their acknowledgements.
WINDOW = 5000


async def produce_events(
    bootstrap_servers: str,
    topics: dict[str, str],
    events: Iterable[AnyEvent],
    on_sent: Callable[[int], None] | None = None,
) -> int:
    """Send every event to its kind's topic; return how many the broker acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        compression_type=None,
    )
    await producer.start()
    sent = 0
    pending: list[asyncio.Future[object]] = []

    async def drain() -> None:
        nonlocal sent
        for future in pending:
            await future
        sent += len(pending)
        if on_sent is not None:
            on_sent(len(pending))
        pending.clear()

    try:
        for event in events:
            pending.append(
                await producer.send(
                    topics[event.kind],
                    value=encode_event(event),
                    key=kafka_key(event),
                    headers=kafka_headers(event),
                )
            )
            if len(pending) >= WINDOW:
                await drain()
        await drain()
    finally:
        await producer.stop()
    return sent
