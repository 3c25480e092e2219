"""The GraphQL API under dashboard load: 50 concurrent clients against one API process.

Data: 1,000,000 log events (20 services, 30 days, 79 % INFO / 16 % WARN / 5 % ERROR) and
100,000 tickets (with their history rows) in PostgreSQL, loaded with ``generate_series``.

1. Pages: a first page of 50 filtered items, alternating ``logEvents`` (one service, level
   ERROR, newest first) and ``tickets`` (open, priority P1, newest first).
2. Aggregates: alternating ``logEventCounts`` (by level, hourly buckets over a day),
   ``ticketCounts`` (by category, daily buckets over 30 days) and ``slaBreachCount``.

Each of the 50 clients sends its next request when the previous one is answered (closed loop),
for a fixed time after a warm-up; latency is measured at the client, over HTTP, logged in as
``ops`` (so masking runs). The API is a real ``opsassist api`` process.

    python -m bench.graphql [--seconds 20] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from api.graphql.sessions import hash_password
from bench.harness import Services, services
from bench.report import write_section
from infra.processes import free_port
from opsassist.settings import PROJECT_ROOT
from store.users import insert_user

LOG_EVENTS = 1_000_000
TICKETS = 100_000
PASSWORD = "bench password 123"

_LOAD_LOGS = """
INSERT INTO log_events (event_id, service, host, level, ts, message, source, occurred_at)
SELECT 'e' || i, 'svc-' || (i % 20), 'host-' || (i % 50),
       CASE WHEN i % 19 = 0 THEN 'ERROR' WHEN i % 19 < 4 THEN 'WARN' ELSE 'INFO' END,
       now() - (i * interval '2.592 seconds'),
       'request ' || i || ' handled in ' || (i % 900) || 'ms',
       'bench', now() - (i * interval '2.592 seconds')
FROM generate_series(1, $1) AS i
"""
# reporter_id as the sink stores it (ticket events v2, migrations 0010-0012): the reporter's
# identity in the source system, pseudonymized by the default privacy policy (docs/privacy.md).
_LOAD_TICKETS = """
INSERT INTO tickets (source_system, external_id, title, body, reporter_id, status, labels,
                     created_at, updated_at, category, priority, team, triage_layer,
                     triage_confidence, sla_due_at, changed_by)
SELECT 'jira', 'T-' || i, 'Ticket ' || i, 'Body of ticket ' || i,
       '<EMAIL:' || left(md5('user' || (i % 500) || '@example.com'), 12) || '>',
       (ARRAY['open', 'open', 'in progress', 'resolved', 'closed'])[1 + i % 5], '{}',
       now() - (i * interval '77.76 seconds'), now() - (i * interval '77.76 seconds'),
       (ARRAY['bug', 'feature', 'question', 'access', 'hr', 'billing'])[1 + i % 6],
       (ARRAY['P1', 'P2', 'P3', 'P4'])[1 + i % 4], 'team-' || (i % 8), 'rule', 0.8,
       now() - (i * interval '77.76 seconds') + interval '1 day', 'bench'
FROM generate_series(1, $1) AS i
"""

PAGES = [
    """{ logEvents(first: 50, filter: {services: ["svc-3"], levels: ["ERROR"]}) {
         edges { cursor node { id ts level service message } } pageInfo { hasNextPage } } }""",
    """{ tickets(first: 50, filter: {statuses: ["open"], priorities: ["P1"]}) {
         edges { cursor node { id title reporterId status priority team slaDueAt slaBreached
                               triage { layer confidence } maskedFields } }
         pageInfo { hasNextPage } } }""",
]
AGGREGATES = [
    """query ($since: DateTime!, $until: DateTime!) {
         logEventCounts(by: LEVEL, bucket: HOUR, since: $since, until: $until) {
           start key count } }""",
    """query ($since30: DateTime!, $until: DateTime!) {
         ticketCounts(by: CATEGORY, bucket: DAY, since: $since30, until: $until) {
           start key count } }""",
    "{ slaBreachCount }",
]


async def load(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        await conn.execute(_LOAD_LOGS, LOG_EVENTS)
        await conn.execute(_LOAD_TICKETS, TICKETS)
        await conn.execute("VACUUM ANALYZE")  # as autovacuum leaves a table at rest
        print(f"loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        await insert_user(conn, "ops-bench", "ops", hash_password(PASSWORD, 4), "bench")
    finally:
        await conn.close()


def start_api(svc: Services, database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSASSIST_")},
        "KAFKA_BOOTSTRAP_SERVERS": svc.kafka_bootstrap_servers,
        "DATABASE_URL": database_url,
        "OPSASSIST_API_PORT": str(port),
        "OPSASSIST_LOG_LEVEL": "WARNING",
        "OPSASSIST_STATE_DIR": str(svc.work_dir / "state"),
        "OPSASSIST_GRAPHQL_JWT_SECRET": uuid.uuid4().hex * 2,
    }
    log = (svc.work_dir / "api.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsassist", "api"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited; see {svc.work_dir / 'api.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the API did not answer within 60 s")


async def login(url: str) -> str:
    query = """mutation ($p: String!) { login(username: "ops-bench", password: $p) {
                 ... on AuthPayload { accessToken } } }"""
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, json={"query": query, "variables": {"p": PASSWORD}})
    token: str = answer.json()["data"]["login"]["accessToken"]
    return token


async def closed_loop(
    url: str,
    token: str,
    queries: list[str],
    variables: dict[str, Any],
    clients: int,
    seconds: float,
    warmup: float = 3.0,
) -> tuple[list[float], int]:
    """Latencies (s) of the requests answered after the warm-up, ``clients`` at a time, and how
    many requests got no answer (a dropped connection)."""
    latencies: list[float] = []
    failures: list[str] = []
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}

    async def client_loop(n: int, http: httpx.AsyncClient) -> None:
        i = n
        while time.monotonic() < stop_at:
            query = queries[i % len(queries)]
            i += 1
            sent = time.monotonic()
            try:
                answer = await http.post(url, json={"query": query, "variables": variables})
            except httpx.TransportError as exc:
                # a connection the server dropped: counted, and the client carries on
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            took = time.monotonic() - sent
            body = answer.json()
            if answer.status_code != 200 or body.get("errors"):
                raise SystemExit(f"query failed: {answer.status_code} {body}")
            if sent >= measure_from:
                latencies.append(took)

    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as http:
        await asyncio.gather(*(client_loop(n, http) for n in range(clients)))
    if failures:
        print(f"{len(failures)} request(s) failed, e.g. {failures[0]}", file=sys.stderr)
    return latencies, len(failures)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, per workload")
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()

    until = datetime.now(UTC)
    variables = {
        "since": (until - timedelta(days=1)).isoformat(),
        "since30": (until - timedelta(days=30)).isoformat(),
        "until": until.isoformat(),
    }
    results: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    with services(durable_postgres=False) as svc:
        database_url = asyncio.run(svc.new_database())
        print(f"loading {LOG_EVENTS:,} log events and {TICKETS:,} tickets ...", file=sys.stderr)
        asyncio.run(load(database_url))
        port = free_port()
        api = start_api(svc, database_url, port)
        url = f"http://127.0.0.1:{port}/graphql"
        try:
            token = asyncio.run(login(url))
            for name, queries in (("page", PAGES), ("aggregate", AGGREGATES)):
                for clients in (1, args.clients):
                    print(f"{name}: {clients} client(s), {args.seconds:g} s ...", file=sys.stderr)
                    key = f"{name}|{clients}"
                    results[key], failed[key] = asyncio.run(
                        closed_loop(url, token, queries, variables, clients, args.seconds)
                    )
        finally:
            api.terminate()
            api.wait(timeout=30)
            log = (svc.work_dir / "api.log").read_text(errors="replace").splitlines()
            print("\n".join(["api.log (tail):", *log[-15:]]), file=sys.stderr)

    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.1f}"

    targets = {"page": 30.0, "aggregate": 100.0}
    rows = [
        "| workload | clients | requests | requests/s | p50 ms | p95 ms | target p95 at 50 "
        "| no answer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, values in results.items():
        name, clients = key.split("|")
        rows.append(
            f"| {name} | {clients} | {len(values):,} | {len(values) / args.seconds:,.0f} "
            f"| {ms(values, 0.5)} | {ms(values, 0.95)} | < {targets[name]:g} ms | {failed[key]} |"
        )
    notes = []
    for name in ("page", "aggregate"):
        many = results[f"{name}|{args.clients}"]
        rate = len(many) / args.seconds
        notes.append(
            f"- {name}: {rate:,.0f} requests/s with {args.clients} clients, so each waits about "
            f"{args.clients / rate * 1000:,.0f} ms (Little's law; measured mean "
            f"{statistics.fmean(many) * 1000:,.0f} ms). At {args.clients} clients the latency "
            f"is queueing behind the throughput: a p95 under {targets[name]:g} ms needs about "
            f"{args.clients / (targets[name] / 1000):,.0f} requests/s, "
            f"{args.clients / (targets[name] / 1000) / rate:,.0f} times what this machine gave "
            "(API, PostgreSQL and the clients on 2 shared cores); one client's latency is the "
            "work of one request."
        )
    text = "\n".join(
        [
            f"{LOG_EVENTS:,} log events and {TICKETS:,} tickets in PostgreSQL; 1 client, then "
            f"{args.clients} concurrent clients, in a closed loop for {args.seconds:g} s per "
            "workload (after a 3 s warm-up), one `opsassist api` process, the clients on the "
            "same machine. "
            "Pages: a first page of 50 filtered log events or tickets; aggregates: log events "
            "per hour and level over a day, tickets per day and category over 30 days, the SLA "
            "breach count.",
            "",
            *rows,
            "",
            *notes,
        ]
    )
    print(text)
    write_section(
        PROJECT_ROOT / "docs" / "benchmarks.md",
        "GraphQL API",
        text,
        f"python -m bench.graphql --seconds {args.seconds:g} --clients {args.clients}",
    )


if __name__ == "__main__":
    main()
