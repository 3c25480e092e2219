"""Incident notifications: the time from an incident's change (its commit, which fires the
NOTIFY) to the notification's arrival at a receiver, through `opsassist notify` as a real
process (LISTEN, produce to ops.notifications, consume, deliver over HTTP to 127.0.0.1), for
three routes (generic signed webhook, Slack, PagerDuty) and ``INCIDENTS`` incidents opened one
after another.

    python -m bench.notify

``--from-logs`` measures the issue's figure end to end: the real worker mines a real error
burst of a service (produced to the logs topic), its detector opens the incident when the
burst's window closes, and the notifier delivers it; the time runs from the production of the
burst's first error line to the receiver's arrival, for ``BURSTS`` bursts in as many services,
one after another.

    python -m bench.notify --from-logs
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from bench.harness import Services, services
from bench.report import write_section
from opsassist.bus.producer import EventSender, produce_events
from opsassist.infra.processes import free_port
from opsassist.schemas import LogEvent, LogPayloadV1
from opsassist.settings import PROJECT_ROOT, Settings

INCIDENTS = 100
PACE_SECONDS = 0.05  # between two incidents: an incident storm, not one batch
ROUTES = ("hook", "slack", "pagerduty")

_INCIDENT = """
INSERT INTO incidents (incident_key, service, window_seconds, severity, status, last_transition,
    opened_at, last_spike_end, peak_errors, peak_ratio, template_ids, reason, narrative, changed_by)
VALUES ($1, 'payments-api', 60, 'critical', 'open', 'opened', now(), now(), 120, 8.0,
    ARRAY['t1'], 'error spike', 'payments-api: 120 errors in 1 min', 'agent:logs')
RETURNING id
"""


def _receiver(
    arrivals: dict[tuple[str, int], float], services_: dict[int, str] | None = None
) -> ThreadingHTTPServer:
    """Record when each route's request for each incident arrives (and, in ``services_``, the
    service the generic webhook names for it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
            at = time.time()
            if self.path == "/hook":
                incident = int(body["incident_id"])
                if services_ is not None:
                    services_[incident] = str(body["service"])
            elif self.path == "/slack":
                incident = int(str(body["text"]).split("#", 1)[1].split(" ", 1)[0])
            else:
                incident = int(str(body["dedup_key"]).rsplit("-", 1)[1])
            arrivals[(self.path.strip("/"), incident)] = at
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _start_notifier(svc: Services, url: str, port: int) -> subprocess.Popen[bytes]:
    routes = svc.work_dir / "routes.toml"
    base = f"http://127.0.0.1:{port}"
    routes.write_text(
        "".join(
            f'[[routes]]\nname = "{name}"\nkind = "{kind}"\nurl = "{base}/{name}"\n'
            f"{extra}rate_per_minute = 1000\n"
            for name, kind, extra in (
                ("hook", "webhook", 'secret = "s"\n'),
                ("slack", "slack", ""),
                ("pagerduty", "pagerduty", 'routing_key = "k"\n'),
            )
        )
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSASSIST_")},
        "KAFKA_BOOTSTRAP_SERVERS": svc.kafka_bootstrap_servers,
        "DATABASE_URL": url,
        "OPSASSIST_STATE_DIR": str(svc.work_dir / "state"),
        "OPSASSIST_NOTIFY_ROUTES": str(routes),
        "OPSASSIST_LOG_LEVEL": "INFO",
    }
    log_file = svc.work_dir / "notify.log"
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "opsassist", "notify"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
    deadline = time.monotonic() + 90
    while b"notify.listening" not in log_file.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the notifier did not start; see {log_file}")
        time.sleep(0.1)
    return proc


async def _open_incidents(url: str, count: int, prefix: str) -> dict[int, float]:
    conn = await asyncpg.connect(url)
    committed: dict[int, float] = {}
    try:
        for i in range(count):
            incident_id = await conn.fetchval(_INCIDENT, f"{prefix}-{i}")  # autocommit: NOTIFY now
            committed[incident_id] = time.time()
            await asyncio.sleep(PACE_SECONDS)
    finally:
        await conn.close()
    return committed


def _wait_for(arrivals: dict[tuple[str, int], float], committed: dict[int, float]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all((route, i) in arrivals for route in ROUTES for i in committed):
            return
        time.sleep(0.1)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--from-logs", action="store_true", help="from a burst's first error line (the worker)"
    )
    if parser.parse_args().from_logs:
        from_logs()
        return
    arrivals: dict[tuple[str, int], float] = {}
    server = _receiver(arrivals)
    with services() as svc:
        url = asyncio.run(svc.new_database())
        proc = _start_notifier(svc, url, server.server_address[1])
        try:
            # one incident first, delivered before the figure starts: the consumer group's
            # first assignment and the connections' set-up are not part of it
            _wait_for(arrivals, asyncio.run(_open_incidents(url, 1, "warm-up")))
            arrivals.clear()
            committed = asyncio.run(_open_incidents(url, INCIDENTS, "bench"))
            _wait_for(arrivals, committed)
        finally:
            proc.terminate()
            proc.wait(10)
            server.shutdown()
    rows = []
    for route in ROUTES:
        latencies = [
            arrivals[(route, i)] - at for i, at in committed.items() if (route, i) in arrivals
        ]
        if not latencies:
            rows.append(f"| {route} | 0 of {len(committed)} | - | - | - |")
            continue
        rows.append(
            f"| {route} | {len(latencies)} of {len(committed)} | "
            f"{statistics.median(latencies) * 1000:.0f} | "
            f"{_percentile(latencies, 0.95) * 1000:.0f} | {max(latencies) * 1000:.0f} |"
        )
    body = (
        f"{INCIDENTS} incidents opened {PACE_SECONDS * 1000:.0f} ms apart, each to three routes; "
        "time from the incident's commit (which fires the NOTIFY) to the request at the receiver "
        "on 127.0.0.1, through LISTEN, `ops.notifications` (acks=all) and the notifier's "
        "consumer group. The issue's goal (p95 under 5 s from the first error line) adds the "
        "detector's window to this.\n\n"
        "| route | delivered | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    print(body)
    write_section(
        PROJECT_ROOT / "docs" / "benchmarks.md",
        "Incident notifications: change → receiver",
        body,
        "python -m bench.notify",
    )


BURSTS = 20
HISTORY_MINUTES = 10  # ordinary minutes before a burst: the detector's baseline (min_history 5)
BURST_ERRORS = 60
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _minute(service: str, minute: int, *, errors: int, infos: int) -> list[LogEvent]:
    """``infos`` ordinary lines, then ``errors`` timeouts, of ``service`` in one minute (as
    tests/integration/test_log_intelligence.py makes them)."""
    events = []
    for n in range(infos + errors):
        is_error = n >= infos
        ts = T0 + timedelta(minutes=minute, seconds=n * 50 / (infos + errors))
        message = (
            f"Timeout connecting to db-{n % 3}:5432 after {1000 + n} ms"
            if is_error
            else f"GET /orders/{minute * 100 + n} 200 in {n + 3} ms"
        )
        events.append(
            LogEvent(
                id=f"{service}-{minute}-{n}",
                schema_version=1,
                source="bench",
                occurred_at=ts,
                payload=LogPayloadV1(
                    timestamp=ts,
                    service=service,
                    level="ERROR" if is_error else "INFO",
                    message=message,
                ),
            )
        )
    return events


def _history(service: str) -> list[LogEvent]:
    return [e for m in range(HISTORY_MINUTES) for e in _minute(service, m, errors=1, infos=20)]


def _burst(service: str) -> list[LogEvent]:
    """A minute of timeouts, its first line the burst's first error, then the next minute's
    first line: the event that closes the burst's window (windows close in event time)."""
    burst = _minute(service, HISTORY_MINUTES, errors=BURST_ERRORS, infos=0)
    return burst + _minute(service, HISTORY_MINUTES + 1, errors=0, infos=1)


def _start_worker(svc: Services, url: str) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSASSIST_")},
        "KAFKA_BOOTSTRAP_SERVERS": svc.kafka_bootstrap_servers,
        "DATABASE_URL": url,
        "OPSASSIST_WORKER_ID": f"bench-{uuid.uuid4().hex[:6]}",
        "OPSASSIST_WORKER_WEB_PORT": str(free_port()),
        "OPSASSIST_STATE_DIR": str(svc.work_dir / "worker-state"),
        "OPSASSIST_LOG_LEVEL": "WARNING",
    }
    with (svc.work_dir / "worker.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "opsassist", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )


async def _summaries(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM log_summaries WHERE window_seconds = 60"
        )
        return count
    finally:
        await conn.close()


def _wait(
    condition: Callable[[], bool], seconds: float, what: str, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None:
            raise SystemExit(f"the worker exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


async def _produce_bursts(
    bootstrap: str,
    names: list[str],
    incident_services: dict[int, str],
    proc: subprocess.Popen[bytes],
) -> dict[str, tuple[float, int]]:
    """Each service's burst, one at a time: {service: (first line's production, incident)}."""
    topics = Settings().topics
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    sent: dict[str, tuple[float, int]] = {}
    try:
        sender = EventSender(producer)
        for name in names:
            produced = time.time()
            await sender.send(topics, _burst(name))
            deadline = time.monotonic() + 120
            while name not in incident_services.values():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"no notification of {name}'s burst (see worker.log)")
                await asyncio.sleep(0.01)
            [incident] = [i for i, s in incident_services.items() if s == name]
            sent[name] = (produced, incident)
    finally:
        await producer.stop()
    return sent


def from_logs() -> None:
    arrivals: dict[tuple[str, int], float] = {}
    incident_services: dict[int, str] = {}
    server = _receiver(arrivals, incident_services)
    names = [f"svc-{i:02d}" for i in range(BURSTS)]
    with services() as svc:
        url = asyncio.run(svc.new_database())
        topics = Settings().topics
        worker = _start_worker(svc, url)
        notifier = _start_notifier(svc, url, server.server_address[1])
        try:
            # every service's ordinary minutes, and a first burst, before the figure starts:
            # start-up, the consumer groups' first assignments and the baselines are not in it
            history = [e for name in [*names, "warm-up"] for e in _history(name)]
            asyncio.run(produce_events(svc.kafka_bootstrap_servers, topics, history))
            closed = (HISTORY_MINUTES - 1) * (len(names) + 1)
            _wait(lambda: asyncio.run(_summaries(url)) >= closed, 300, "the baselines", worker)
            asyncio.run(produce_events(svc.kafka_bootstrap_servers, topics, _burst("warm-up")))
            _wait(lambda: "warm-up" in incident_services.values(), 120, "the warm-up", worker)
            sent = asyncio.run(
                _produce_bursts(svc.kafka_bootstrap_servers, names, incident_services, worker)
            )
            # the bursts went one after another: the other routes' last requests may follow
            _wait(
                lambda: all((r, i) in arrivals for r in ROUTES for _, i in sent.values()),
                60,
                "every route's notification",
                worker,
            )
        finally:
            for proc in (notifier, worker):
                proc.terminate()
                proc.wait(30)
            server.shutdown()
    rows = []
    for route in ROUTES:
        latencies = [arrivals[(route, i)] - at for at, i in sent.values() if (route, i) in arrivals]
        rows.append(
            f"| {route} | {len(latencies)} of {len(sent)} | "
            f"{statistics.median(latencies) * 1000:.0f} | "
            f"{_percentile(latencies, 0.95) * 1000:.0f} | {max(latencies) * 1000:.0f} |"
        )
    body = (
        f"{len(sent)} error bursts ({BURST_ERRORS} timeouts in a minute after "
        f"{HISTORY_MINUTES} ordinary minutes), each in its own service, one after another; "
        "time from the production of a burst's first error line to the request at the "
        "receiver on 127.0.0.1, through `opsassist worker` (decode, mine, 60 s window, detector, "
        "incident commit) and `opsassist notify` (LISTEN, `ops.notifications`, delivery). "
        "The burst's window is closed by the next minute's first line, produced right after "
        "the burst: windows close in event time, so with live traffic the wait for that line "
        "(up to the 60 s window's end) comes on top of these figures.\n\n"
        "| route | delivered | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    print(body)
    write_section(
        PROJECT_ROOT / "docs" / "benchmarks.md",
        "Incident notifications: first error line → receiver",
        body,
        "python -m bench.notify --from-logs",
    )


if __name__ == "__main__":
    main()
