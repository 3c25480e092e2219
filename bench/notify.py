"""Incident notifications: the time from an incident's change (its commit, which fires the
NOTIFY) to the notification's arrival at a receiver, through `opsassist notify` as a real
process (LISTEN, produce to ops.notifications, consume, deliver over HTTP to 127.0.0.1), for
three routes (generic signed webhook, Slack, PagerDuty) and ``INCIDENTS`` incidents opened one
after another.

    python -m bench.notify
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg
import orjson

from bench.harness import Services, services
from bench.report import write_section
from opsassist.settings import PROJECT_ROOT

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


def _receiver(arrivals: dict[tuple[str, int], float]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
            at = time.time()
            if self.path == "/hook":
                incident = int(body["incident_id"])
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


if __name__ == "__main__":
    main()
