"""The GraphQL API under dashboard load: 50 concurrent clients against ``opsassist api``.

Data: 1,000,000 log events (20 services, 30 days, 79 % INFO / 16 % WARN / 5 % ERROR) and
100,000 tickets (with their history rows) in PostgreSQL, loaded with ``generate_series``.

1. Pages: a first page of 50 filtered items, alternating ``logEvents`` (one service, level
   ERROR, newest first) and ``tickets`` (open, priority P1, newest first).
2. Aggregates: alternating ``logEventCounts`` (by level, hourly buckets over a day),
   ``ticketCounts`` (by category, daily buckets over 30 days) and ``slaBreachCount``.

Each of the 50 clients sends its next request when the previous one is answered (closed loop),
for a fixed time after a warm-up; latency is measured at the client, over HTTP, logged in as
``ops`` (so masking runs). The API is a real ``opsassist api`` as configured by default (its
worker processes, its response cache), then the same with the response cache off; the table
says how many processes served and how many answers came from the cache.

    python -m bench.graphql [--seconds 20] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
import uvloop

from bench.harness import Services, services, start_api
from bench.report import write_section
from opsassist.api.graphql.response_cache import CACHE_HEADER
from opsassist.api.graphql.sessions import hash_password
from opsassist.infra.processes import free_port
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.store.users import insert_user

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


def start_graphql_api(
    svc: Services, database_url: str, port: int, extra: dict[str, str]
) -> subprocess.Popen[bytes]:
    """``opsassist api`` as configured by default, but for ``extra`` settings."""
    return start_api(
        svc,
        database_url,
        port,
        {"OPSASSIST_GRAPHQL_JWT_SECRET": uuid.uuid4().hex * 2, **extra},
    )


async def login(url: str) -> str:
    query = """mutation ($p: String!) { login(username: "ops-bench", password: $p) {
                 ... on AuthPayload { accessToken } } }"""
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, json={"query": query, "variables": {"p": PASSWORD}})
    token: str = answer.json()["data"]["login"]["accessToken"]
    return token


class HttpConnection:
    """One HTTP/1.1 keep-alive connection that POSTs prepared requests and reads each answer
    by its Content-Length. Real HTTP over TCP like any client's, but without httpx's per-request
    work: with 50 httpx clients on cached pages the API process was idle 45 % of py-spy's
    samples at 456 requests/s, waiting for the load generator."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        return cls(*await asyncio.open_connection(host, port))

    async def post(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head[:-4].split(b"\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"content-length" not in headers:
            raise SystemExit(f"an answer without Content-Length: {head!r}")
        body = await self.reader.readexactly(int(headers[b"content-length"]))
        return int(status_line.split(b" ", 2)[1]), headers, body

    def close(self) -> None:
        self.writer.close()


def prepared_request(port: int, token: str, query: str, variables: dict[str, Any]) -> bytes:
    body = orjson.dumps({"query": query, "variables": variables})
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Run:
    latencies: list[float]  # seconds, of the requests answered after the warm-up
    caching: Counter[str]  # the API's x-opsassist-cache answers of those requests
    failures: int  # requests that got no answer (a dropped connection)
    cpu: dict[str, float]  # CPU seconds per second of the measurement, by who used them


class CpuMeter:
    """CPU seconds used so far, by process: the API's (the uvicorn parent and its workers), the
    PostgreSQL backends serving the benchmark's database, and this load generator."""

    def __init__(self, api_pid: int, database: str) -> None:
        self.api_pid, self.database = api_pid, database

    def __call__(self) -> dict[tuple[str, int], float]:
        api = psutil.Process(self.api_pid)
        groups = [("api", p) for p in (api, *api.children(recursive=True))]
        for p in psutil.process_iter(["cmdline"]):
            line = " ".join(p.info["cmdline"] or ())
            if line.startswith("postgres:") and f" {self.database} " in line:
                groups.append(("postgres", p))
        groups.append(("client", psutil.Process()))
        used: dict[tuple[str, int], float] = {}
        for group, process in groups:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            used[group, process.pid] = times.user + times.system
        return used


def cores(
    before: dict[tuple[str, int], float], after: dict[tuple[str, int], float], seconds: float
) -> dict[str, float]:
    """CPU cores used between two CpuMeter readings (a process started between them counts
    from its start)."""
    total: dict[str, float] = {"api": 0.0, "postgres": 0.0, "client": 0.0}
    for key, value in after.items():
        total[key[0]] += (value - before.get(key, 0.0)) / seconds
    return total


async def closed_loop(
    port: int,
    token: str,
    queries: list[str],
    variables: dict[str, Any],
    clients: int,
    seconds: float,
    meter: CpuMeter,
    warmup: float = 3.0,
) -> Run:
    """``clients`` connections, each sending its next request when the previous one is
    answered, for ``seconds`` after a warm-up."""
    requests = [prepared_request(port, token, q, variables) for q in queries]
    latencies: list[float] = []
    caching: Counter[str] = Counter()
    failures: list[str] = []
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    cpu: dict[str, dict[tuple[str, int], float]] = {}

    async def client_loop(n: int) -> None:
        i = n
        http = await HttpConnection.open("127.0.0.1", port)
        try:
            while time.monotonic() < stop_at:
                request = requests[i % len(requests)]
                i += 1
                sent = time.monotonic()
                if sent >= measure_from and "from" not in cpu:
                    cpu["from"] = meter()
                try:
                    status, headers, body = await http.post(request)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    # a connection the server dropped: counted, and the client reconnects
                    failures.append(f"{type(exc).__name__}: {exc}")
                    http.close()
                    http = await HttpConnection.open("127.0.0.1", port)
                    continue
                took = time.monotonic() - sent
                answer = orjson.loads(body)
                if status != 200 or answer.get("errors"):
                    raise SystemExit(f"query failed: {status} {answer}")
                if sent >= measure_from:
                    latencies.append(took)
                    caching[headers.get(CACHE_HEADER.encode(), b"none").decode()] += 1
            if "until" not in cpu:
                cpu["until"] = meter()
        finally:
            http.close()

    await asyncio.gather(*(client_loop(n) for n in range(clients)))
    if failures:
        print(f"{len(failures)} request(s) failed, e.g. {failures[0]}", file=sys.stderr)
    return Run(latencies, caching, len(failures), cores(cpu["from"], cpu["until"], seconds))


def run_loop(coro: Coroutine[Any, Any, Run]) -> Run:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def api_processes(api: subprocess.Popen[bytes]) -> int:
    """How many processes serve: uvicorn's workers, or the one process itself."""
    children = psutil.Process(api.pid).children()
    workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
    return len(workers) or 1


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


MODES = {
    "on": {},  # the default: OPSASSIST_GRAPHQL_RESPONSE_CACHE_SECONDS unset
    "off": {"OPSASSIST_GRAPHQL_RESPONSE_CACHE_SECONDS": "0"},
}
TARGETS = {"page": 30.0, "aggregate": 100.0}


def measure(args: argparse.Namespace) -> tuple[dict[tuple[str, str, int], Run], dict[str, int]]:
    until = datetime.now(UTC)
    variables = {
        "since": (until - timedelta(days=1)).isoformat(),
        "since30": (until - timedelta(days=30)).isoformat(),
        "until": until.isoformat(),
    }
    results: dict[tuple[str, str, int], Run] = {}
    processes: dict[str, int] = {}
    with services(durable_postgres=False) as svc:
        database_url = asyncio.run(svc.new_database())
        print(f"loading {LOG_EVENTS:,} log events and {TICKETS:,} tickets ...", file=sys.stderr)
        asyncio.run(load(database_url))
        for mode, extra in MODES.items():
            port = free_port()
            api = start_graphql_api(svc, database_url, port, extra)
            try:
                processes[mode] = api_processes(api)
                meter = CpuMeter(api.pid, database_url.rsplit("/", 1)[1])
                token = asyncio.run(login(f"http://127.0.0.1:{port}/graphql"))
                for name, queries in (("page", PAGES), ("aggregate", AGGREGATES)):
                    for clients in (1, args.clients):
                        print(
                            f"cache {mode}, {name}: {clients} client(s), {args.seconds:g} s ...",
                            file=sys.stderr,
                        )
                        results[mode, name, clients] = run_loop(
                            closed_loop(
                                port, token, queries, variables, clients, args.seconds, meter
                            )
                        )
            finally:
                api.terminate()
                api.wait(timeout=30)
                log = (svc.work_dir / "api.log").read_text(errors="replace").splitlines()
                print("\n".join(["api.log (tail):", *log[-15:]]), file=sys.stderr)
    return results, processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, per workload")
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    results, processes = measure(args)

    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.1f}"

    ttl = Settings.model_fields["graphql_response_cache_seconds"].default
    rows = [
        "| response cache | workload | clients | requests | requests/s | p50 ms | p95 ms "
        "| target p95 at 50 | answered from the cache | CPU cores: API / PostgreSQL / load "
        "generator | no answer |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (mode, name, clients), run in results.items():
        values = run.latencies
        shared = run.caching["hit"] + run.caching["shared"]
        cached = f"{shared / len(values):.1%}" if mode == "on" else "off"
        label = f"on ({ttl:g} s, default)" if mode == "on" else "off (0)"
        rows.append(
            f"| {label} | {name} | {clients} | {len(values):,} "
            f"| {len(values) / args.seconds:,.0f} | {ms(values, 0.5)} | {ms(values, 0.95)} "
            f"| < {TARGETS[name]:g} ms | {cached} | {run.cpu['api']:.2f} / "
            f"{run.cpu['postgres']:.2f} / {run.cpu['client']:.2f} | {run.failures} |"
        )
    notes = [
        f"- API processes: {processes['on']} with the cache on, {processes['off']} with it off "
        "(`OPSASSIST_API_WORKERS` unset: one per CPU core).",
        "- Answered from the cache: the share of requests the API answered from a stored result "
        "(`hit`) or by waiting for the same query already executing (`shared`), from its "
        f"`{CACHE_HEADER}` header. A reader may see data up to the TTL plus one execution old "
        "(docs/graphql.md).",
        "- CPU cores: CPU seconds per second of the measurement (psutil) of the API's processes, "
        "of the PostgreSQL backends serving the benchmark's database, and of the load generator; "
        "whichever group nears the machine's cores is what limits the rate.",
    ]
    for mode in MODES:
        for name, target in TARGETS.items():
            run = results[mode, name, args.clients]
            rate = len(run.latencies) / args.seconds
            notes.append(
                f"- cache {mode}, {name}: {rate:,.0f} requests/s with {args.clients} clients, "
                f"so each waits about {args.clients / rate * 1000:,.0f} ms (Little's law; "
                f"measured mean {statistics.fmean(run.latencies) * 1000:,.0f} ms); a p95 under "
                f"{target:g} ms needs more than {args.clients / (target / 1000):,.0f}"
                f" requests/s. CPU: the API {run.cpu['api']:.2f} cores, PostgreSQL "
                f"{run.cpu['postgres']:.2f}, the load generator {run.cpu['client']:.2f}, of "
                f"{psutil.cpu_count()}."
            )
    text = "\n".join(
        [
            f"{LOG_EVENTS:,} log events and {TICKETS:,} tickets in PostgreSQL; 1 client, then "
            f"{args.clients} concurrent clients, in a closed loop for {args.seconds:g} s per "
            "workload (after a 3 s warm-up), against `opsassist api` as configured by default, "
            "then again with its response cache off; the API, PostgreSQL and the load generator "
            "(one Python process: HTTP/1.1 keep-alive connections on uvloop, one per client) "
            "share the machine. "
            "Pages: a first page of 50 filtered log events or tickets; aggregates: log events "
            "per hour and level over a day, tickets per day and category over 30 days, the SLA "
            "breach count. Every client repeats the same queries, as dashboards polling do.",
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
