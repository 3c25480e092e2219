"""Webhook ingestion against its ceiling, a bare aiokafka producer sending the same events.

1. Batch ingest: log lines through ``POST /ingest/logs`` in NDJSON batches of 1,000 lines, a few
   requests in flight; the ceiling sends the same lines as log events in the same batches,
   awaiting each batch's acknowledgements as the API does (``acks=all``, idempotent).
2. Single events: ``POST /ingest/events`` with one log event each, paced open-loop at a fixed
   rate (200/s); latency from the moment a request was due to its answer, so a stalled sender is
   counted. The ceiling sends one event at a time at the same pace and waits for its ack.

The API runs as a real process (``opsassist api``) on the harness's Kafka and PostgreSQL.

    python -m bench.webhooks [--batches 100] [--seconds 15] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from bench.harness import Services, services, start_api
from bench.report import write_section
from opsassist.api.webhooks.auth import generate_api_key, hash_secret
from opsassist.bus.topics import ensure_topics
from opsassist.infra.processes import free_port
from opsassist.memory import tune_garbage_collector
from opsassist.schemas import LogEvent, LogPayloadV1, encode_event, kafka_headers, kafka_key
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.store.api_keys import insert_api_key

BATCH_LINES = 1000
IN_FLIGHT = 4
_PARTITIONER = DefaultPartitioner()
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def log_payload(i: int) -> dict[str, Any]:
    return {
        "timestamp": (T0 + timedelta(milliseconds=i)).isoformat(),
        "service": f"svc-{i % 16}",
        "host": f"host-{i % 7}",
        "level": "INFO" if i % 20 else "ERROR",
        "message": f"GET /api/v1/orders/{i} 200 {i % 250}ms user-agent=curl/8.{i % 9}",
        "attributes": {"route": "/api/v1/orders/{id}", "status": 200},
    }


def log_event(i: int) -> LogEvent:
    payload = LogPayloadV1.model_validate(log_payload(i))
    return LogEvent(
        id=str(uuid.uuid4()),
        schema_version=1,
        source="bench",
        occurred_at=payload.timestamp,
        payload=payload,
    )


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


# -- the API as a process ----------------------------------------------------------------------


async def create_key(database_url: str) -> str:
    key = generate_api_key()
    conn = await asyncpg.connect(database_url)
    try:
        await insert_api_key(conn, key.key_id, "bench", hash_secret(key.secret), ["*"])
    finally:
        await conn.close()
    return key.token


def start_webhooks_api(
    svc: Services, database_url: str, settings: Settings
) -> subprocess.Popen[bytes]:
    return start_api(
        svc,
        database_url,
        settings.api_port,
        {
            "OPSASSIST_TOPIC_LOGS": settings.topic_logs,
            "OPSASSIST_TOPIC_COMMITS": settings.topic_commits,
            "OPSASSIST_TOPIC_TICKETS": settings.topic_tickets,
            "OPSASSIST_TOPIC_DEAD_LETTER": settings.topic_dead_letter,
            "OPSASSIST_WEBHOOK_RATE_LIMIT_PER_SECOND": "1000000",
            "OPSASSIST_WEBHOOK_RATE_LIMIT_BURST": "1000000",
        },
    )


# -- batch ingest ------------------------------------------------------------------------------


async def in_parallel(jobs: list[Callable[[], Awaitable[None]]], width: int) -> float:
    """Run the jobs ``width`` at a time; the seconds it took."""
    queue = list(reversed(jobs))

    async def lane() -> None:
        while queue:
            await queue.pop()()

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(width)))
    return time.perf_counter() - started


async def http_batches(base: str, token: str, batches: int) -> float:
    bodies = [
        b"\n".join(orjson.dumps(log_payload(b * BATCH_LINES + i)) for i in range(BATCH_LINES))
        for b in range(batches)
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        def job(body: bytes) -> Callable[[], Awaitable[None]]:
            async def post() -> None:
                resp = await client.post("/ingest/logs", content=body, headers=headers)
                if resp.status_code != 202 or resp.json()["accepted"] != BATCH_LINES:
                    raise SystemExit(f"/ingest/logs answered {resp.status_code}: {resp.text[:300]}")

            return post

        await client.post("/ingest/logs", content=bodies[0], headers=headers)  # warm-up
        seconds = await in_parallel([job(b) for b in bodies], IN_FLIGHT)
    return batches * BATCH_LINES / seconds


def bare_producer(bootstrap: str) -> AIOKafkaProducer:
    # The same producer settings as the API's (api/webhooks/publisher.py).
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=Settings().webhook_producer_linger_ms,
        max_batch_size=256 * 1024,
    )


# A partition's turn, per event loop: an asyncio.Lock belongs to the loop it was first used on,
# and each phase of the benchmark runs in a loop of its own (asyncio.run).
_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Lock]]
_TURNS = weakref.WeakKeyDictionary()


async def send_all(producer: AIOKafkaProducer, topic: str, events: list[LogEvent]) -> None:
    """The fastest plain aiokafka way we know: record batches per partition, senders of a
    partition taking turns (aiokafka's own wait for a partition times out early under
    concurrency); the API does the same through opsassist.bus.producer.EventSender."""
    partitions = sorted(await producer.partitions_for(topic))
    chains: dict[int, list[Any]] = {}
    for e in events:
        key = kafka_key(e)
        chain = chains.setdefault(_PARTITIONER(key, partitions, partitions), [])
        record = {
            "key": key,
            "value": encode_event(e),
            "timestamp": None,
            "headers": kafka_headers(e),
        }
        if not chain or chain[-1].append(**record) is None:
            chain.append(producer.create_batch())
            chain[-1].append(**record)
    pending = []
    for partition, chain in chains.items():
        turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
        async with turns.setdefault((topic, partition), asyncio.Lock()):
            for batch in chain:
                batch.close()
                pending.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*pending)


Sender = Callable[[AIOKafkaProducer, str, list[LogEvent]], Awaitable[None]]


async def bare_batches(bootstrap: str, topic: str, batches: int, send: Sender) -> float:
    tune_garbage_collector()  # as the API process does, so that the two differ by the API alone
    producer = bare_producer(bootstrap)
    await producer.start()
    try:
        await send(producer, topic, [log_event(i) for i in range(BATCH_LINES)])  # warm-up

        def job(b: int) -> Callable[[], Awaitable[None]]:
            async def one_batch() -> None:
                # built per batch, as the API builds events from each request's lines
                events = [log_event(b * BATCH_LINES + i) for i in range(BATCH_LINES)]
                await send(producer, topic, events)

            return one_batch

        seconds = await in_parallel([job(b) for b in range(batches)], IN_FLIGHT)
    finally:
        await producer.stop()
    return batches * BATCH_LINES / seconds


# -- single events at a fixed rate -------------------------------------------------------------


async def paced(rate: float, count: int, one: Callable[[int], Awaitable[None]]) -> list[float]:
    """Start ``one(i)`` at ``i / rate`` seconds, whatever the earlier ones do; each latency is
    measured from when its request was due."""

    async def timed(i: int, due: float) -> float:
        await one(i)
        return time.perf_counter() - due

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(count):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(timed(i, due)))
    return list(await asyncio.gather(*tasks))


async def http_singles(base: str, token: str, rate: float, count: int) -> list[float]:
    bodies = [encode_event(log_event(i)) for i in range(count + 200)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def post(i: int) -> None:
            resp = await client.post("/ingest/events", content=bodies[i], headers=headers)
            if resp.status_code != 202:
                raise SystemExit(f"/ingest/events answered {resp.status_code}: {resp.text[:300]}")

        await paced(rate, 200, lambda i: post(count + i))  # warm-up: connections, producer
        return await paced(rate, count, post)


async def bare_singles(bootstrap: str, topic: str, rate: float, count: int) -> list[float]:
    events = [log_event(i) for i in range(count + 200)]
    producer = bare_producer(bootstrap)
    await producer.start()
    try:

        async def send(i: int) -> None:
            await send_all(producer, topic, [events[i]])

        await paced(rate, 200, lambda i: send(count + i))
        return await paced(rate, count, send)
    finally:
        await producer.stop()


# -- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=100, help="batches of 1,000 lines")
    parser.add_argument("--seconds", type=float, default=15.0, help="of single events")
    parser.add_argument("--rate", type=float, default=200.0, help="single events per second")
    args = parser.parse_args()
    count = int(args.seconds * args.rate)
    with services() as svc:
        suffix = uuid.uuid4().hex[:6]
        settings = Settings(
            KAFKA_BOOTSTRAP_SERVERS=svc.kafka_bootstrap_servers,
            topic_logs=f"bench.webhooks.{suffix}.logs",
            topic_commits=f"bench.webhooks.{suffix}.commits",
            topic_tickets=f"bench.webhooks.{suffix}.tickets",
            topic_dead_letter=f"bench.webhooks.{suffix}.dlq",
            api_port=free_port(),
        )
        bare_topic = f"bench.webhooks.{suffix}.bare"
        asyncio.run(ensure_topics(svc.kafka_bootstrap_servers, settings))
        asyncio.run(
            ensure_topics(
                svc.kafka_bootstrap_servers, settings.model_copy(update={"topic_logs": bare_topic})
            )
        )
        database_url = asyncio.run(svc.new_database())
        token = asyncio.run(create_key(database_url))
        api = start_webhooks_api(svc, database_url, settings)
        base = f"http://127.0.0.1:{settings.api_port}"
        try:
            print(f"batch ingest: {args.batches} x {BATCH_LINES} lines ...", file=sys.stderr)
            api_rate = asyncio.run(http_batches(base, token, args.batches))
            bootstrap = svc.kafka_bootstrap_servers
            bare_rate = asyncio.run(bare_batches(bootstrap, bare_topic, args.batches, send_all))
            print(f"single events: {count} at {args.rate:g}/s ...", file=sys.stderr)
            api_lat = asyncio.run(http_singles(base, token, args.rate, count))
            bare_lat = asyncio.run(
                bare_singles(svc.kafka_bootstrap_servers, bare_topic, args.rate, count)
            )
        finally:
            api.terminate()
            api.wait(timeout=30)

    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.1f}"

    text = "\n".join(
        [
            f"Batch ingest: {args.batches} batches of {BATCH_LINES:,} NDJSON lines, "
            f"{IN_FLIGHT} requests in flight. Single events: {count:,} requests paced open-loop "
            f"at {args.rate:g}/s (latency counted from when each was due), after 200 warm-up "
            "requests. Kafka `acks=all`, idempotent producer, 4 partitions, one local broker. "
            "The bare producer builds the same log events from the same lines; for single events "
            "it sends one event and waits for its ack. The load generator runs on the same "
            "machine as the API and the broker.",
            "",
            "| run | batch ingest lines/s | single event p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|",
            f"| ceiling: bare aiokafka producer | {bare_rate:,.0f} | {ms(bare_lat, 0.5)} | "
            f"{ms(bare_lat, 0.99)} | {max(bare_lat) * 1000:.1f} |",
            f"| opsassist API (`/ingest/logs`, `/ingest/events`) | {api_rate:,.0f} | "
            f"{ms(api_lat, 0.5)} | {ms(api_lat, 0.99)} | {max(api_lat) * 1000:.1f} |",
            "",
            f"- batch ingest: **{api_rate:,.0f} lines/s** (target ≥ 50,000), "
            f"{api_rate / bare_rate:.0%} of the ceiling",
            f"- single event p99 at {args.rate:g}/s: **{ms(api_lat, 0.99)} ms** (target < 25 ms)",
        ]
    )
    print(text)
    write_section(
        Path(PROJECT_ROOT / "docs" / "benchmarks.md"),
        "Webhooks: HTTP → Kafka",
        text,
        "python -m bench.webhooks",
    )


if __name__ == "__main__":
    main()
