"""What schema evolution costs.

1. The worker's decoding: ticket events at the newest version (v2, the fast path) against v1
   events that the general path upcasts, with log events (v1, newest, fast path, untouched by
   the change) as the reference, in one run.
2. The reporter rename on a table of ``--tickets`` legacy tickets on a real PostgreSQL: the
   expand step, the batched backfill at two batch sizes (rows per second, history rows written)
   and the contract step.

    .venv/bin/python -m bench.schema_evolution [--events N] [--tickets N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import orjson

from bench.harness import services
from bench.report import write_section
from opsassist.schemas import decode_event
from opsassist.schemas.registry import Headers
from opsassist.settings import PROJECT_ROOT
from opsassist.store.migrations import load_migrations, migrate

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "events"


def variants(name: str, n: int) -> list[bytes]:
    """``n`` distinct events shaped like the fixture ``name``."""
    base = orjson.loads((FIXTURES / name).read_bytes())
    out = []
    for i in range(n):
        event = {**base, "id": f"{base['id']}-{i}", "payload": dict(base["payload"])}
        if "title" in event["payload"]:
            event["payload"]["title"] = f"{event['payload']['title']} #{i}"
        else:
            event["payload"]["message"] = f"{event['payload']['message']} #{i}"
        out.append(orjson.dumps(event))
    return out


def per_event_us(
    decode: Callable[[bytes, Headers], object], events: list[bytes], headers: Headers, repeats: int
) -> float:
    """Median over ``repeats`` runs of the CPU time per event, in microseconds (CPU time, not
    wall time: the machines these run on are shared, and decoding is single-threaded CPU work)."""
    runs = []
    for _ in range(repeats):
        started = time.process_time()
        for raw in events:
            decode(raw, headers)
        runs.append((time.process_time() - started) / len(events) * 1e6)
    return statistics.median(runs)


_LEGACY_TICKETS = """
INSERT INTO tickets (source_system, external_id, title, body, reporter, status, labels,
                     created_at, updated_at, changed_by)
SELECT 'jira', 'OPS-' || i, 'Ticket ' || i, repeat('body ', 40),
       'user' || (i % 5000) || '@example.com', 'open', ARRAY['bench'], now(), now(), 'bench'
FROM generate_series(1, $1) AS i
"""


async def rename_on(url: str, tickets: int, batch_size: int) -> dict[str, float]:
    """Seconds of each step of the rename on ``tickets`` legacy tickets, and history rows."""
    everything = load_migrations()
    await migrate(url, [m for m in everything if m.version < 10])
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_LEGACY_TICKETS, tickets)
        await conn.execute("ANALYZE tickets")
        history_before = await conn.fetchval("SELECT count(*) FROM ticket_changes")
        started = time.perf_counter()
        await migrate(url, phase="expand")
        expanded = time.perf_counter()
        await migrate(url, phase="migrate", batch_size=batch_size)
        backfilled = time.perf_counter()
        await migrate(url, phase="contract")
        contracted = time.perf_counter()
        history = await conn.fetchval("SELECT count(*) FROM ticket_changes") - history_before
    finally:
        await conn.close()
    return {
        "expand": expanded - started,
        "backfill": backfilled - expanded,
        "contract": contracted - backfilled,
        "history": float(history),
    }


async def empty_database(server_url: str) -> str:
    name = f"bench_rename_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


async def rename_runs(
    server_url: str, tickets: int, sizes: list[int]
) -> list[tuple[int, dict[str, float]]]:
    return [
        (size, await rename_on(await empty_database(server_url), tickets, size)) for size in sizes
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()

    cases = [
        ("log v1 (newest; reference)", "log.v1.json", "log"),
        ("ticket v2 (newest)", "ticket.v2.json", "ticket"),
        ("ticket v1 (upcast to v2)", "ticket.v1.json", "ticket"),
    ]
    rows = []
    for label, fixture, kind in cases:
        events = variants(fixture, args.events)
        version = orjson.loads(events[0])["schema_version"]
        # as the worker gets them: with the schema-version header producers set, and without
        for with_header in (True, False):
            headers: Headers = [("schema-version", str(version).encode())] if with_header else []

            def decode(raw: bytes, headers: Headers, kind: str = kind) -> object:
                return decode_event(raw, kind, headers)  # type: ignore[arg-type]

            us = per_event_us(decode, events, headers, args.repeats)
            name = f"{label}, {'with' if with_header else 'without'} header"
            rows.append((name, us))
            print(f"{name:48} {us:6.2f} µs/event  {1e6 / us:>10,.0f} events/s")
    reference = rows[2][1]
    table = [
        "| events | µs per event | events/s | time vs ticket v2 with header |",
        "|---|---:|---:|---:|",
    ]
    for label, us in rows:
        table.append(f"| {label} | {us:.2f} | {1e6 / us:,.0f} | {us / reference:.2f} |")
    body = (
        f"Decoding {args.events:,} distinct events per case with `decode_event(raw, kind)` as "
        f"the worker does (median of {args.repeats} runs of CPU time, one core). v2 ticket "
        "events take the fast path (pydantic-core validates the bytes directly); v1 ticket "
        "events take the general path: JSON parse, the upcaster's rename, validation as v2; "
        "with a `schema-version` header naming v1 (producers set it) they skip the fast path, "
        "without one they try it first "
        "([schema-evolution.md](schema-evolution.md#event-schema-v2-and-its-upcaster)).\n\n"
        + "\n".join(table)
    )
    sizes = [1000, 10_000]
    with services() as found:
        renames = asyncio.run(rename_runs(found.server_url, args.tickets, sizes))
    lines = [
        "| batch size | expand s | backfill s | backfilled rows/s | history rows | contract s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size, r in renames:
        lines.append(
            f"| {size:,} | {r['expand']:.3f} | {r['backfill']:.1f} | "
            f"{args.tickets / r['backfill']:,.0f} | {r['history']:,.0f} | {r['contract']:.3f} |"
        )
        print(f"rename, batches of {size}: {r}")
    body += (
        f"\n\nThe `tickets.reporter` → `reporter_id` rename (migrations 0010 to 0012) on "
        f"{args.tickets:,} tickets written before it, with `opsassist migrate` phase by phase "
        "(wall time, nothing else writing): expand adds a column and a trigger (no table "
        "rewrite), the backfill updates every ticket in batches of one transaction each (with "
        "its history row), contract checks every row and drops the column.\n\n" + "\n".join(lines)
    )
    write_section(
        args.out,
        "Schema evolution",
        body,
        "python -m bench.schema_evolution",
    )


if __name__ == "__main__":
    main()
