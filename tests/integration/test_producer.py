"""Producing in record batches keeps what one send per event gave: every event acknowledged,
in order per key, on the partition the key's murmur2 picks, and events larger than a batch."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from opsassist.bus.producer import produce_events
from tests.integration.events import log_event, read_topic

pytestmark = pytest.mark.integration


def test_batches_keep_order_per_key_and_take_events_larger_than_a_batch(settings) -> None:  # type: ignore[no-untyped-def]
    big = "x" * 300_000  # larger than a 256 KiB record batch
    events = [
        log_event(i, service=f"svc-{i % 3}", message=big if i in (4, 9) else None)
        for i in range(12)
    ]
    sent = asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, events))
    assert sent == len(events)
    records = asyncio.run(read_topic(settings.kafka_bootstrap_servers, settings.topic_logs, 12))
    assert len(records) == 12
    by_partition: dict[int, list[str]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_partition.setdefault(record.partition, []).append(orjson.loads(record.value)["id"])
    # every service's events on one partition, in the order they were produced
    for service in range(3):
        ids = [e.id for e in events if e.payload.service == f"svc-{service}"]
        holders = [p for p, seen in by_partition.items() if ids[0] in seen]
        assert len(holders) == 1
        assert [i for i in by_partition[holders[0]] if i in ids] == ids

    async def partition_send_would_pick() -> dict[str, int]:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            picks = {}
            for service in range(3):
                meta = await producer.send_and_wait(
                    settings.topic_dead_letter, value=b"probe", key=f"svc-{service}".encode()
                )
                picks[f"svc-{service}"] = meta.partition
            return picks
        finally:
            await producer.stop()

    # the dead-letter topic has the same partition count: send()'s own choice per key matches
    picks = asyncio.run(partition_send_would_pick())
    for record in records:
        assert record.partition == picks[record.key.decode()]
