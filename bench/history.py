"""Time travel over the versioned history (store/history.py), and what history costs per write.

On a PostgreSQL of its own (or a new database on DATABASE_URL's server), with every migration:

- one ticket with 1,000 versions: ``as_of`` at random times of its life;
- 100,000 tickets with 10 versions each (written in transactions of 10,000 rows, so that times
  spread): ``list_as_of`` pages of 50 at random times and offsets, without and with a filter;
- the same two questions answered the other way the issue allows, by folding the deltas up to
  t (the representation docs/history.md compares and rejects);
- write amplification: bytes of history (heap, TOAST and indexes) per update beside the size
  of the updated row, and the time of 100,000 updates with and without the history trigger.

Latencies are measured at the client (one asyncpg connection, the registry lookup included).

    make bench BENCHES=history    # or: .venv/bin/python -m bench.history [--entities N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.report import write_section
from opsassist.infra.postgres import LocalPostgres
from opsassist.infra.processes import free_port
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.store.history import _LIST_AS_OF, as_of, list_as_of
from opsassist.store.migrations import migrate

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = "ARRAY['open','pending','in_progress','resolved','closed']"
_INSERT = """
INSERT INTO tickets (source_system, external_id, title, body, reporter_id, status, labels,
                     created_at, updated_at, changed_by, priority, team)
SELECT 'bench', 'T-' || g, 'Ticket ' || g || ': checkout fails with a timeout for some users',
       repeat('The customer reports that the page stops loading after payment. ', 4),
       'user' || (g % 500) || '@example.com', 'open', ARRAY['bench', 'checkout'],
       $1, $1, 'agent:bench', 'p3', 'team-' || (g % 8)
FROM generate_series($2::int, $3::int) g
"""
_UPDATE = f"""
UPDATE tickets SET status = ({STATUSES})[1 + (id + $1) % 5], priority = 'p' || (1 + (id + $1) % 4),
                   updated_at = updated_at + interval '1 hour'
WHERE source_system = 'bench' AND id BETWEEN $2 AND $3
"""
# The rejected representation: the state as of t is the fold of the deltas up to t.
_FOLD_ONE = """
SELECT history_merge(delta ORDER BY version)::text FROM ticket_changes
WHERE ticket_id = $1 AND changed_at <= $2
"""
_FOLD_PAGE = """
SELECT born.ticket_id, f.state::text FROM ticket_changes born
CROSS JOIN LATERAL (
    SELECT history_merge(c.delta ORDER BY c.version) AS state FROM ticket_changes c
    WHERE c.ticket_id = born.ticket_id AND c.changed_at <= $1
) f
WHERE born.version = 1 AND born.changed_at <= $1 AND born.ticket_id > $2 AND f.state @> $3::jsonb
ORDER BY born.ticket_id LIMIT 50
"""
# The middle way: the full state every K versions only (1, K+1, 2K+1, ...), and the deltas
# after the newest such checkpoint folded onto it. Emulated on the same data: it reads only the
# checkpoint's state and the deltas after it.
_CHECKPOINT_ONE = """
WITH target AS (
    SELECT version FROM ticket_changes WHERE ticket_id = $1 AND changed_at <= $2
    ORDER BY changed_at DESC, version DESC LIMIT 1
), base AS (SELECT version, ((version - 1) / $3) * $3 + 1 AS checkpoint FROM target)
SELECT ((SELECT state FROM ticket_changes WHERE ticket_id = $1 AND version = base.checkpoint)
        || coalesce((SELECT history_merge(delta ORDER BY version) FROM ticket_changes
                     WHERE ticket_id = $1 AND version > base.checkpoint
                       AND version <= base.version), '{}'))::text
FROM base
"""
_SIZES = """
SELECT pg_table_size('ticket_changes') AS heap, pg_indexes_size('ticket_changes') AS indexes,
       (SELECT count(*) FROM ticket_changes) AS rows
"""


@contextlib.contextmanager
def server() -> Iterator[str]:
    """DATABASE_URL's server when set, else a local cluster of our own (durable, as in
    production), removed afterwards."""
    configured = Settings().database_url
    if configured:
        yield configured
        return
    work = Path(tempfile.mkdtemp(prefix="opsassist-bench-history-"))
    work.chmod(0o755)
    local = LocalPostgres(data_dir=work / "pg", port=free_port(), durable=True)
    try:
        yield local.start()
    finally:
        local.destroy()
        shutil.rmtree(work, ignore_errors=True)


@contextlib.asynccontextmanager
async def database(base: str) -> AsyncIterator[str]:
    """A new migrated database on the server of ``base``, dropped afterwards."""
    name = f"bench_history_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        url = base.rsplit("/", 1)[0] + f"/{name}"
        await migrate(url)
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94]


async def timed(times: int, query: Callable[[], Awaitable[Any]]) -> list[float]:
    out = []
    for _ in range(times):
        start = time.perf_counter()
        await query()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def load(
    conn: asyncpg.Connection, entities: int, versions: int, chunk: int
) -> dict[str, Any]:
    """The tickets and their versions; returns the sizes and times the report needs."""
    loaded: dict[str, Any] = {}
    start = time.perf_counter()
    for low in range(1, entities + 1, chunk):
        await conn.execute(_INSERT, T0, low, min(low + chunk - 1, entities))
    loaded["insert_s"] = time.perf_counter() - start
    loaded["ids"] = (
        await conn.fetchval("SELECT min(id) FROM tickets WHERE source_system = 'bench'"),
        await conn.fetchval("SELECT max(id) FROM tickets WHERE source_system = 'bench'"),
    )
    await conn.execute("VACUUM ANALYZE ticket_changes")
    before = await conn.fetchrow(_SIZES)
    start = time.perf_counter()
    low_id, high_id = loaded["ids"]
    for round_ in range(1, versions):
        for low in range(low_id, high_id + 1, chunk):
            await conn.execute(_UPDATE, round_, low, min(low + chunk - 1, high_id))
        print(f"  version {round_ + 1}/{versions} written", file=sys.stderr)
    updates = entities * (versions - 1)
    loaded["update_s"] = time.perf_counter() - start
    await conn.execute("VACUUM ANALYZE tickets")
    await conn.execute("VACUUM ANALYZE ticket_changes")
    after = await conn.fetchrow(_SIZES)
    loaded["updates"] = updates
    loaded["heap_per_update"] = (after["heap"] - before["heap"]) / updates
    loaded["index_per_update"] = (after["indexes"] - before["indexes"]) / updates
    loaded["history_rows"] = after["rows"]
    sizes = await conn.fetchrow(
        "SELECT avg(pg_column_size(delta)) AS delta, avg(pg_column_size(state)) AS state "
        "FROM ticket_changes WHERE change_kind = 'update'"
    )
    loaded["delta_bytes"], loaded["state_bytes"] = float(sizes["delta"]), float(sizes["state"])
    loaded["row_bytes"] = float(
        await conn.fetchval(
            "SELECT avg(pg_column_size(t.*)) FROM tickets t WHERE source_system = 'bench'"
        )
    )
    return loaded


async def deep_entity(conn: asyncpg.Connection, versions: int) -> tuple[int, datetime, datetime]:
    """One ticket changed ``versions - 1`` times, each change its own transaction."""
    ticket: int = await conn.fetchval(
        "INSERT INTO tickets (source_system, external_id, title, status, created_at, updated_at,"
        " changed_by) VALUES ('deep', $2, 'Long-lived', 'open', $1, $1, 'agent:bench')"
        " RETURNING id",
        T0,
        f"D-{versions}",
    )
    for i in range(1, versions):
        await conn.execute(_UPDATE.replace("source_system = 'bench'", "true"), i, ticket, ticket)
    span = await conn.fetchrow(
        "SELECT min(changed_at) AS first, max(changed_at) AS last FROM ticket_changes "
        "WHERE ticket_id = $1",
        ticket,
    )
    return ticket, span["first"], span["last"]


def between(rng: random.Random, first: datetime, last: datetime) -> datetime:
    return first + (last - first) * rng.random()


async def plan(conn: asyncpg.Connection, sql: str, *args: Any) -> str:
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {sql}", *args)
    return "\n".join(r[0] for r in rows)


async def measure(base: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(9)  # probe times, not secrets
    async with database(base) as url:
        conn = await asyncpg.connect(url)
        try:
            print("one ticket with 1,000 versions ...", file=sys.stderr)
            deep, first, last = await deep_entity(conn, args.deep_versions)
            print(f"one ticket with {args.deeper_versions:,} versions ...", file=sys.stderr)
            deeper, deeper_first, deeper_last = await deep_entity(conn, args.deeper_versions)
            print(f"{args.entities:,} tickets x {args.versions} versions ...", file=sys.stderr)
            loaded = await load(conn, args.entities, args.versions, args.chunk)
            span = await conn.fetchrow(
                "SELECT min(changed_at) AS first, max(changed_at) AS last FROM ticket_changes"
            )
            low_id, high_id = loaded["ids"]
            out: dict[str, Any] = {"loaded": loaded}

            async def one() -> None:
                await as_of(conn, "tickets", deep, between(rng, first, last))

            async def fold_one() -> None:
                await conn.fetchval(_FOLD_ONE, deep, between(rng, first, last))

            async def checkpoint_one() -> None:
                at = between(rng, first, last)
                await conn.fetchval(_CHECKPOINT_ONE, deep, at, args.checkpoint_every)

            async def one_deeper() -> None:
                await as_of(conn, "tickets", deeper, between(rng, deeper_first, deeper_last))

            async def fold_deeper() -> None:
                await conn.fetchval(_FOLD_ONE, deeper, between(rng, deeper_first, deeper_last))

            def offset() -> int:
                return rng.choice([0, rng.randint(low_id, high_id)])

            async def page(where: dict[str, str] | None) -> None:
                at = between(rng, span["first"], span["last"])
                await list_as_of(conn, "tickets", at, where=where, after=offset(), limit=50)

            async def fold_page() -> None:
                at = between(rng, span["first"], span["last"])
                await conn.fetch(_FOLD_PAGE, at, offset(), '{"status": "open"}')

            for _ in range(20):  # warm the caches and the plan cache
                await one()
                await page(None)
            print("measuring ...", file=sys.stderr)
            out["as_of"] = await timed(args.queries, one)
            out["fold_one"] = await timed(args.queries, fold_one)
            out["checkpoint_one"] = await timed(args.queries, checkpoint_one)
            out["as_of_deeper"] = await timed(args.queries, one_deeper)
            out["fold_deeper"] = await timed(args.queries // 5, fold_deeper)
            out["page"] = await timed(args.queries, lambda: page(None))
            out["page_open"] = await timed(args.queries, lambda: page({"status": "open"}))
            rare = {"status": "open", "team": "team-3"}
            out["page_rare"] = await timed(args.queries // 5, lambda: page(rare))
            out["fold_page"] = await timed(max(args.queries // 10, 20), fold_page)
            middle = between(rng, span["first"], span["last"])
            out["plan_as_of"] = await plan(
                conn,
                "SELECT version, state FROM ticket_changes WHERE ticket_id = $1 AND "
                "changed_at <= $2 ORDER BY changed_at DESC, version DESC LIMIT 1",
                deep,
                between(rng, first, last),
            )
            out["plan_page"] = await plan(
                conn,
                _LIST_AS_OF.format(changes="ticket_changes", fk="ticket_id"),
                middle,
                0,
                '{"status": "open"}',
                51,
            )

            # The write cost of recording history: one more round of updates, without the
            # recording trigger (the owner can disable it; the app's role cannot), then with it.
            async def round_(n: int) -> float:
                start = time.perf_counter()
                for low in range(low_id, high_id + 1, args.chunk):
                    await conn.execute(_UPDATE, n, low, min(low + args.chunk - 1, high_id))
                return time.perf_counter() - start

            await conn.execute("ALTER TABLE tickets DISABLE TRIGGER history_record")
            out["without_history_s"] = await round_(100)
            await conn.execute("ALTER TABLE tickets ENABLE ALWAYS TRIGGER history_record")
            await conn.execute("VACUUM tickets")
            out["with_history_s"] = await round_(101)
        finally:
            await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--deep-versions", type=int, default=1_000)
    parser.add_argument("--deeper-versions", type=int, default=10_000)
    parser.add_argument("--checkpoint-every", type=int, default=16, help="K of the middle way")
    parser.add_argument("--chunk", type=int, default=10_000, help="rows per write transaction")
    parser.add_argument("--queries", type=int, default=500, help="per latency figure")
    args = parser.parse_args()
    with server() as base:
        out = asyncio.run(measure(base, args))
    loaded = out["loaded"]

    def row(name: str, key: str, target: str) -> str:
        p50, p95 = percentiles(out[key])
        return f"| {name} | {len(out[key])} | {p50:.2f} | {p95:.2f} | {target} |"

    per_update = loaded["heap_per_update"] + loaded["index_per_update"]
    k = args.checkpoint_every
    delta_only = per_update - loaded["state_bytes"]
    entities, versions = f"{args.entities:,}", args.versions
    body = "\n".join(
        [
            f"One ticket with {args.deep_versions:,} versions (one transaction each); "
            f"{entities} tickets with {versions} versions each ({loaded['history_rows']:,} "
            f"history rows in all), written in transactions of {args.chunk:,} rows. Random "
            "as-of times over the data's life; list pages of 50 start at the first id or at a "
            "random one. Latency at the client, registry lookup included.",
            "",
            "| question | queries | p50 ms | p95 ms | target p95 |",
            "|---|---:|---:|---:|---|",
            row(f"`as_of`: one ticket of {args.deep_versions:,} versions", "as_of", "< 20 ms"),
            row("the same by folding its deltas up to t (rejected)", "fold_one", "—"),
            row(
                f"the same from a state every {k} versions + deltas (not chosen)",
                "checkpoint_one",
                "—",
            ),
            row(f"`as_of`: one ticket of {args.deeper_versions:,} versions", "as_of_deeper", "—"),
            row("the same by folding its deltas up to t (rejected)", "fold_deeper", "—"),
            row(f"`list_as_of`: page of 50 of {entities} tickets", "page", "< 200 ms"),
            row('the same with `where={"status": "open"}` (1 in 5)', "page_open", "< 200 ms"),
            row("that filtered page by folding deltas (rejected)", "fold_page", "—"),
            row("`list_as_of` with `where` status and team (1 in 40)", "page_rare", "< 200 ms"),
            "",
            "Write amplification, per update of a ticket (3 fields changed):",
            "",
            "| | bytes |",
            "|---|---:|",
            f"| the ticket row (average `pg_column_size`) | {loaded['row_bytes']:.0f} |",
            f"| history per update, heap + TOAST | {loaded['heap_per_update']:.0f} |",
            f"| history per update, indexes | {loaded['index_per_update']:.0f} |",
            f"| **history per update, total** | **{per_update:.0f}** |",
            f"| of which the delta (average stored size) | {loaded['delta_bytes']:.0f} |",
            f"| of which the full state (average stored size) | {loaded['state_bytes']:.0f} |",
            f"| a delta-only history would take about | {delta_only:.0f} |",
            f"| a state every {k} versions would take about | "
            f"{delta_only + loaded['state_bytes'] / k:.0f} |",
            "",
            f"Writing: {args.entities:,} updates in {args.chunk:,}-row transactions took "
            f"{out['with_history_s']:.2f} s with the history trigger and "
            f"{out['without_history_s']:.2f} s without it "
            f"({out['with_history_s'] / out['without_history_s']:.1f} times); loading took "
            f"{loaded['insert_s']:.0f} s for the inserts and {loaded['update_s']:.0f} s for "
            f"{loaded['updates']:,} updates.",
            "",
            "Plans (`EXPLAIN (ANALYZE, BUFFERS)`), `as_of` and a filtered `list_as_of` page:",
            "",
            "```text",
            out["plan_as_of"],
            "```",
            "",
            "```text",
            out["plan_page"],
            "```",
        ]
    )
    print(body)
    write_section(
        Path(PROJECT_ROOT / "docs" / "benchmarks.md"),
        "History: time travel and write amplification",
        body,
        "python -m bench.history",
    )


if __name__ == "__main__":
    main()
