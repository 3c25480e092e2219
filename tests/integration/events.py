"""Building test events and talking to the test's Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from opsassist.schemas import (
    CommitEvent,
    CommitPayloadV1,
    LogEvent,
    LogPayloadV1,
    TicketEvent,
    TicketPayloadV2,
)
from opsassist.settings import Settings

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def log_event(i: int, service: str = "payments-api", message: str | None = None) -> LogEvent:
    ts = T0 + timedelta(milliseconds=i)
    return LogEvent(
        id=f"log-{i}",
        schema_version=1,
        source="test",
        occurred_at=ts,
        trace_id=f"{i:032x}",
        payload=LogPayloadV1(
            timestamp=ts,
            service=service,
            host=f"host-{i % 3}",
            level="ERROR" if i % 10 == 0 else "INFO",
            message=message or f"request {i} served in {i % 97} ms",
            attributes={"n": i},
        ),
    )


def commit_event(i: int, repo: str = "acme/shop") -> CommitEvent:
    ts = T0 + timedelta(seconds=i)
    sha = f"{i:040x}"
    return CommitEvent(
        id=f"{repo}@{sha}",
        schema_version=1,
        source="test",
        occurred_at=ts,
        payload=CommitPayloadV1(
            repo=repo,
            sha=sha,
            parents=[f"{i - 1:040x}"] if i else [],
            author_name="Dev",
            authored_at=ts,
            committed_at=ts,
            message=f"fix: thing {i}",
            branch="main",
        ),
    )


def ticket_event(
    i: int, version: int = 0, title: str | None = None, body: str = "body"
) -> TicketEvent:
    created = T0 + timedelta(seconds=i)
    updated = created + timedelta(minutes=version)
    return TicketEvent(
        id=f"ticket-{i}-v{version}",
        schema_version=2,
        source="test",
        occurred_at=updated,
        payload=TicketPayloadV2(
            external_id=f"OPS-{i}",
            source_system="jira",
            title=title or f"Ticket {i}",
            body=body,
            status="open",
            created_at=created,
            updated_at=updated,
        ),
    )


async def send_raw(
    bootstrap: str,
    topic: str,
    messages: list[tuple[bytes | None, bytes]],
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Send raw (key, value) pairs, as a misbehaving producer would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value=v, key=k, headers=headers or []) for k, v in messages
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[Any]:
    """Read a topic from the beginning until ``expected`` records arrived (or the deadline)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records


async def fetchval(database_url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def count_rows(settings: Settings, table: str) -> int:
    return int(asyncio.run(fetchval(settings.database_url, f"SELECT count(*) FROM {table}")))


async def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    """A topic's configuration as the broker describes it (name -> value)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [resource] = response.resources
        entries = resource[4]
        return {entry[0]: entry[1] for entry in entries}
    finally:
        await admin.close()
