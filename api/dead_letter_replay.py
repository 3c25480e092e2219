"""Replaying dead letters: each original is read back from the dead-letter topic, where the
worker put it byte for byte, and produced again onto the topic it came from, with its own key
and headers (the ``dlq-*`` ones left out), so the worker processes it again, as new. An original
the dead-letter topic no longer holds (its retention passed) is reported missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from opsassist.bus.deadletter import DLQ_HEADER_PREFIX

_READ_TIMEOUT_MS = 5_000


@dataclass(frozen=True, slots=True)
class Placed:
    """A stored dead letter's id and where its original is."""

    id: int
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    source_topic: str


async def replay_dead_letters(
    bootstrap_servers: str, letters: Sequence[Placed]
) -> tuple[list[int], list[int]]:
    """Produce each letter's original again onto its source topic; (replayed ids, missing ids).
    Every replayed record is acknowledged by the broker (acks=all) before this returns."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True
    )
    await consumer.start()
    await producer.start()
    replayed: list[int] = []
    missing: list[int] = []
    try:
        for letter in letters:
            partition = TopicPartition(letter.dlq_topic, letter.dlq_partition)
            consumer.assign([partition])
            consumer.seek(partition, letter.dlq_offset)
            found = await consumer.getmany(partition, timeout_ms=_READ_TIMEOUT_MS, max_records=1)
            records = found.get(partition, [])
            if not records or records[0].offset != letter.dlq_offset:
                missing.append(letter.id)
                continue
            original = records[0]
            headers = [(k, v) for k, v in original.headers if not k.startswith(DLQ_HEADER_PREFIX)]
            await producer.send_and_wait(
                letter.source_topic, value=original.value, key=original.key, headers=headers
            )
            replayed.append(letter.id)
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed, missing
