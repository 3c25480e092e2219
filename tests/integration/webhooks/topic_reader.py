"""Reading back what the API produced: every event in a topic up to its current end offsets.

The API answers 202 only after Kafka acknowledged, so once an answer is in, the end offsets
include everything that request produced: reading up to them needs no sleep and no guess.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition

from opsassist.schemas import AnyEvent, decode_event


async def _read(bootstrap: str, topic: str, timeout: float) -> list[AnyEvent]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"test-reader-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    try:
        # The consumer's public partitions_for_topic reads a cache that a new topic is not in yet.
        cluster = await consumer._client.fetch_all_metadata()
        ids = cluster.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(ids)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        events: list[AnyEvent] = []
        async with asyncio.timeout(timeout):
            while not await _at_end(consumer, ends):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    events += [decode_event(r.value, headers=r.headers) for r in records]
        return events
    finally:
        await consumer.stop()


async def _at_end(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


def read_topic(bootstrap: str, topic: str, timeout: float = 30) -> list[AnyEvent]:
    """Every event in ``topic`` now (empty if the topic does not exist)."""
    return asyncio.run(_read(bootstrap, topic, timeout))
