"""The container path, measured: the opsassist image's size over its Python base, a cold
`docker compose up --wait` to healthy, and end-to-end events/s with 1, 2 and 3 worker
containers (events produced from the host into Kafka, counted in PostgreSQL).

Needs a Docker engine and the images (`make images`); runs its own compose project on free
127.0.0.1 ports and removes it (`down -v`) at the end. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench.report import write_section
from opsassist.bus.producer import produce_events
from opsassist.infra.processes import free_port
from opsassist.schemas import LogEvent, LogPayloadV1
from opsassist.settings import PROJECT_ROOT, Settings

STAND_IN_LABEL = '{{index .Config.Labels "io.opsassist.stand-in"}}'
PORTS = ("API_HOST_PORT", "KAFKA_HOST_PORT", "POSTGRES_HOST_PORT", "PROMETHEUS_HOST_PORT")


def image_megabytes(name: str) -> float:
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", name],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout) / 1e6


def make_events(n: int, service: str) -> list[LogEvent]:
    t0 = datetime(2026, 11, 20, tzinfo=UTC)
    return [
        LogEvent(
            id=f"{service}-{i}",
            schema_version=1,
            source="bench",
            occurred_at=t0,
            payload=LogPayloadV1(
                timestamp=t0 + timedelta(milliseconds=i),
                service=service,
                host=f"host-{i % 7}",
                level="INFO" if i % 20 else "ERROR",
                message=f"GET /api/v1/orders/{i} 200 {i % 250}ms",
                attributes={"status": 200},
            ),
        )
        for i in range(n)
    ]


class Project:
    """One compose project of the repository's docker-compose.yml, on free local ports."""

    def __init__(self, workdir: Path) -> None:
        self.name = f"opsassist-bench-{uuid.uuid4().hex[:8]}"
        self.ports = {name: free_port() for name in PORTS}
        self.env_file = workdir / "bench.env"
        values = {"COMPOSE_PROJECT_NAME": self.name, "WORKER_REPLICAS": "1", **self.ports}
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def compose(self, *args: str) -> None:
        subprocess.run(
            ["docker", "compose", "--env-file", str(self.env_file), *args],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
        )

    @property
    def database_url(self) -> str:
        port = self.ports["POSTGRES_HOST_PORT"]
        return f"postgresql://opsassist:opsassist@127.0.0.1:{port}/opsassist"

    @property
    def kafka(self) -> str:
        return f"127.0.0.1:{self.ports['KAFKA_HOST_PORT']}"


async def rows_of(database_url: str, service: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM log_events WHERE service = $1", service)
        )
    finally:
        await conn.close()


async def events_per_second(project: Project, n: int, limit_seconds: float) -> float:
    """``n`` events produced from the host; seconds from the first send to the last row."""
    service = f"bench-{uuid.uuid4().hex[:6]}"
    events = make_events(n, service)
    topics = Settings(KAFKA_BOOTSTRAP_SERVERS=project.kafka).topics
    started = time.monotonic()
    await produce_events(project.kafka, topics, events)
    deadline = started + limit_seconds
    while await rows_of(project.database_url, service) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{n} events not stored within {limit_seconds:.0f}s")
        await asyncio.sleep(0.25)
    return n / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    base, image = image_megabytes("python:3.11-slim"), image_megabytes("opsassist:local")
    stand_in = subprocess.run(
        ["docker", "image", "inspect", "-f", STAND_IN_LABEL, "python:3.11-slim"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as workdir:
        project = Project(Path(workdir))
        try:
            started = time.monotonic()
            project.compose("up", "-d", "--wait")
            cold_up = time.monotonic() - started
            rates = {}
            for workers in (1, 2, 3):
                project.compose("up", "-d", "--wait", "--scale", f"worker={workers}", "worker")
                rates[workers] = asyncio.run(events_per_second(project, args.events, args.timeout))
                print(f"{workers} worker container(s): {rates[workers]:,.0f} events/s")
        finally:
            project.compose("down", "-v")

    base_kind = "the local stand-in (Debian bookworm's Python 3.11)" if stand_in else "official"
    body = f"""
| measure | value | reference |
|---|---|---|
| opsassist:local over its base | {image - base:,.0f} MB | goal < 300 MB |
| python:3.11-slim, the base | {base:,.0f} MB | {base_kind} |
| cold `compose up -d --wait` to healthy (images built, no containers) | {cold_up:.0f} s | |
| events/s, 1 worker container | {rates[1]:,.0f} | |
| events/s, 2 worker containers | {rates[2]:,.0f} | |
| events/s, 3 worker containers | {rates[3]:,.0f} | |

Events/s: {args.events:,} log events produced from the host into the 12-partition raw topic, from
the first send until the last row is in PostgreSQL; one API, one lag exporter, Prometheus and
Alertmanager run beside the workers, all on the same host. The host has 2 cores, shared with
other test runs (the load average above): more worker containers cannot add CPU there, so these
figures show that scaling out loses nothing, not how it speeds up.
"""
    print(body)
    print(json.dumps({"image_over_base_mb": image - base, "cold_up_s": cold_up, "rates": rates}))
    write_section(
        PROJECT_ROOT / "docs" / "benchmarks.md", "Containers", body, "python -m bench.containers"
    )


if __name__ == "__main__":
    main()
