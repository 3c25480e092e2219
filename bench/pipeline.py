"""End-to-end throughput, Kafka → PostgreSQL, of the Faust worker against its ceiling.

The ceiling is a bare aiokafka consumer that decodes the same events and writes the same rows
with the same batched COPY + upsert, without Faust. Both read the same 200,000 log events from
the same topic (separate consumer groups, separate databases), one after the other. The rate of
each is counted from its first row to its last (start-up is reported apart), and the worker's
peak RSS is sampled at each reading of its progress (every 50 to 250 ms).

    make bench            # or: .venv/bin/python -m bench.pipeline [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer

from bench.harness import Services, services
from bench.report import write_section
from opsassist.bus.producer import produce_events
from opsassist.infra.processes import free_port
from opsassist.memory import tune_garbage_collector
from opsassist.schemas import LogEvent, LogPayloadV1, decode_event
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.store.pool import create_pool
from opsassist.store.sink import EventSink, Origin, log_row

BATCH = 2000


def make_events(n: int) -> list[LogEvent]:
    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    services_ = [f"svc-{i}" for i in range(16)]
    return [
        LogEvent(
            id=str(uuid.uuid4()),
            schema_version=1,
            source="bench",
            occurred_at=t0,
            payload=LogPayloadV1(
                timestamp=t0 + timedelta(milliseconds=i),
                service=services_[i % 16],
                host=f"host-{i % 7}",
                level="INFO" if i % 20 else "ERROR",
                message=f"GET /api/v1/orders/{i} 200 {i % 250}ms user-agent=curl/8.{i % 9}",
                attributes={"route": "/api/v1/orders/{id}", "status": 200},
            ),
        )
        for i in range(n)
    ]


async def count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM log_events"))
    finally:
        await conn.close()


async def ceiling(bootstrap: str, topic: str, url: str, total: int) -> dict[str, float]:
    """Bare aiokafka: fetch, decode, COPY+upsert, commit; no Faust. The garbage collector is
    tuned as in the worker, so that the two differ by Faust alone."""
    tune_garbage_collector()
    pool = await create_pool(url)
    sink = EventSink(pool)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"ceiling-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=BATCH,
    )
    started = time.perf_counter()
    await consumer.start()
    written = 0
    first_row = None
    try:
        while written < total:
            batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            rows = []
            for records in batches.values():
                for r in records:
                    event = decode_event(r.value, "log", r.headers)
                    rows.append(log_row(event, Origin(r.topic, r.partition, r.offset)))  # type: ignore[arg-type]
            if rows:
                written += await sink.write_logs(rows)
                await consumer.commit()
                first_row = first_row or time.perf_counter()
    finally:
        await consumer.stop()
        await pool.close()
    end = time.perf_counter()
    assert first_row is not None
    return {
        "rate": total / (end - first_row),
        "startup": first_row - started,
        "total_seconds": end - started,
    }


def _written(metrics_url: str, topic: str) -> int:
    """Rows the worker reports durable (its counter moves after each batch's commit)."""
    try:
        text = httpx.get(metrics_url, timeout=2).text
    except httpx.HTTPError:
        return 0
    prefix = f'opsassist_events_written_total{{topic="{topic}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return int(float(line[len(prefix) :]))
    return 0


def pipeline(
    svc: Services, settings_env: dict[str, str], url: str, topic: str, total: int
) -> dict[str, float]:
    """The real worker process. Progress is read from its /metrics (cheap, unlike a count(*)
    on the table being written, which would take CPU from the database under test), every 50 ms
    until the first row and over the last tenth, every 250 ms in between, and checked against
    the table at the end; RSS is sampled at each reading."""
    log = (svc.work_dir / "worker.log").open("wb")
    metrics_url = f"http://127.0.0.1:{settings_env['OPSASSIST_WORKER_WEB_PORT']}/metrics"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsassist", "worker"],
        env=settings_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )
    ps = psutil.Process(proc.pid)
    peak = 0
    first_row = None
    n = 0
    try:
        while n < total:
            if proc.poll() is not None:
                raise SystemExit(f"worker exited: see {svc.work_dir / 'worker.log'}")
            peak = max(peak, ps.memory_info().rss)
            n = _written(metrics_url, topic)
            if n and first_row is None:
                first_row = time.perf_counter()
            # Each scrape costs the worker CPU (a Prometheus exposition of all its series): 20
            # a second took about 3% of its busy time. Only the first row and the last one need
            # a fine clock; in between, progress is read four times a second.
            time.sleep(0.05 if not n or n > total * 0.9 else 0.25)
        end = time.perf_counter()
        peak = max(peak, ps.memory_info().rss)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert first_row is not None
    stored = asyncio.run(count(url))
    if stored != total:
        raise SystemExit(f"the worker reported {n:,} rows written but the table holds {stored:,}")
    return {
        "rate": total / (end - first_row),
        "startup": first_row - started,
        "total_seconds": end - started,
        "peak_rss_mb": peak / 2**20,
    }


WHAT_DIFFERS = (
    "The worker does to each event what the product does: decode, enrich and redact "
    "(`streams/agents/sanitize.py`), mine its template (`streams/agents/logs.py`), write it with "
    "its template and redaction record, and keep windows and incidents; the ceiling decodes and "
    "COPYs the same rows into the same schema, and nothing more."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    with services() as svc:
        topic = f"bench.logs.{uuid.uuid4().hex[:6]}"
        settings = Settings(
            KAFKA_BOOTSTRAP_SERVERS=svc.kafka_bootstrap_servers,
            topic_logs=topic,
            topic_partitions=4,
        )
        events = make_events(args.events)
        print(f"producing {args.events:,} log events to {topic} ...", file=sys.stderr)
        from opsassist.bus.topics import ensure_topics

        asyncio.run(ensure_topics(svc.kafka_bootstrap_servers, settings))
        asyncio.run(produce_events(svc.kafka_bootstrap_servers, settings.topics, events))
        del events

        print("ceiling: bare aiokafka consumer + COPY ...", file=sys.stderr)
        ceiling_db = asyncio.run(svc.new_database())
        bare = asyncio.run(ceiling(svc.kafka_bootstrap_servers, topic, ceiling_db, args.events))

        print("pipeline: opsassist worker (Faust) ...", file=sys.stderr)
        worker_db = asyncio.run(svc.new_database())
        import os

        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": svc.kafka_bootstrap_servers,
            "DATABASE_URL": worker_db,
            "OPSASSIST_TOPIC_LOGS": topic,
            "OPSASSIST_TOPIC_PARTITIONS": "4",
            "OPSASSIST_WORKER_ID": f"bench-{uuid.uuid4().hex[:6]}",
            "OPSASSIST_WORKER_WEB_PORT": str(free_port()),
            "OPSASSIST_LOG_LEVEL": "WARNING",
            "OPSASSIST_STATE_DIR": str(svc.work_dir / "state"),
        }
        faust_run = pipeline(svc, env, worker_db, topic, args.events)

    ratio = faust_run["rate"] / bare["rate"]
    rows = [
        (
            "ceiling: aiokafka + decode + COPY",
            f"{bare['rate']:,.0f}",
            f"{bare['startup']:.1f}",
            "—",
        ),
        (
            "opsassist worker (Faust)",
            f"{faust_run['rate']:,.0f}",
            f"{faust_run['startup']:.1f}",
            f"{faust_run['peak_rss_mb']:.0f}",
        ),
    ]
    table = [
        "| run | events/s | start-up s | peak RSS MB |",
        "|---|---:|---:|---:|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    verdict = [
        f"- worker / ceiling: **{ratio:.0%}** (target ≥ 50%)",
        f"- worker rate: **{faust_run['rate']:,.0f} events/s** (target ≥ 15,000)",
        f"- worker peak RSS: **{faust_run['peak_rss_mb']:.0f} MB** (target < 300 MB)",
    ]
    text = "\n".join(
        [
            f"{args.events:,} log events, 4 partitions, batches of {BATCH}; "
            "rate = events / (last row - first row); start-up = process start to first row.",
            "",
            WHAT_DIFFERS,
            "",
            *table,
            "",
            *verdict,
        ]
    )
    print(text)
    write_section(
        Path(PROJECT_ROOT / "docs" / "benchmarks.md"),
        "Pipeline: Kafka → PostgreSQL",
        text,
        "python -m bench.pipeline",
    )


if __name__ == "__main__":
    main()
