"""OTLP log ingest (``POST /v1/logs``) beside ``POST /ingest/logs``, in one run, on the same API
process, the same lines and the same Kafka.

Batches of 1,000 log records, a few requests in flight: ``/ingest/logs`` as NDJSON (its
figure in bench.webhooks), ``/v1/logs`` as OTLP protobuf (the SDK exporters' default) and as
protobuf with gzip (the Collector's ``otlphttp`` default), every answer checked for 200 and no
rejected record. The records carry what an SDK sends: resource ``service.name`` and
``host.name``, a time, a severity, a body, two attributes.

    python -m bench.otlp [--batches 50]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from bench.harness import services
from bench.report import write_section
from bench.webhooks import (
    BATCH_LINES,
    IN_FLIGHT,
    create_key,
    http_batches,
    in_parallel,
    log_payload,
    start_webhooks_api,
)
from opsassist.bus.topics import ensure_topics
from opsassist.infra.processes import free_port
from opsassist.settings import PROJECT_ROOT, Settings


def _value(value: object) -> AnyValue:
    if isinstance(value, int):
        return AnyValue(int_value=value)
    return AnyValue(string_value=str(value))


def export_request(first: int) -> bytes:
    """The lines ``first .. first + BATCH_LINES`` of bench.webhooks as one OTLP export, one
    ``ResourceLogs`` per (service, host), as an SDK per process or a Collector batch sends."""
    by_resource: dict[tuple[str, str], list[LogRecord]] = {}
    for i in range(first, first + BATCH_LINES):
        line = log_payload(i)
        nanos = int(datetime.fromisoformat(line["timestamp"]).timestamp()) * 10**9 + i % 1000
        by_resource.setdefault((line["service"], line["host"]), []).append(
            LogRecord(
                time_unix_nano=nanos,
                severity_text=line["level"],
                body=AnyValue(string_value=line["message"]),
                attributes=[
                    KeyValue(key=k, value=_value(v)) for k, v in line["attributes"].items()
                ],
            )
        )
    request = ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(
                    attributes=[
                        KeyValue(key="service.name", value=AnyValue(string_value=service)),
                        KeyValue(key="host.name", value=AnyValue(string_value=host)),
                    ]
                ),
                scope_logs=[ScopeLogs(log_records=records)],
            )
            for (service, host), records in by_resource.items()
        ]
    )
    return request.SerializeToString()


async def otlp_batches(base: str, token: str, batches: int, compress: bool) -> float:
    bodies = [export_request(b * BATCH_LINES) for b in range(batches)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-protobuf"}
    if compress:
        bodies = [gzip.compress(body, compresslevel=6) for body in bodies]
        headers["Content-Encoding"] = "gzip"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        def job(body: bytes) -> Callable[[], Awaitable[None]]:
            async def post() -> None:
                resp = await client.post("/v1/logs", content=body, headers=headers)
                answer = ExportLogsServiceResponse.FromString(resp.content)
                if resp.status_code != 200 or answer.partial_success.rejected_log_records:
                    raise SystemExit(f"/v1/logs answered {resp.status_code}: {resp.text[:300]}")

            return post

        await job(bodies[0])()  # warm-up
        seconds = await in_parallel([job(b) for b in bodies], IN_FLIGHT)
    return batches * BATCH_LINES / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=50, help="batches of 1,000 records")
    args = parser.parse_args()
    with services() as svc:
        suffix = uuid.uuid4().hex[:6]
        settings = Settings(
            KAFKA_BOOTSTRAP_SERVERS=svc.kafka_bootstrap_servers,
            topic_logs=f"bench.otlp.{suffix}.logs",
            topic_commits=f"bench.otlp.{suffix}.commits",
            topic_tickets=f"bench.otlp.{suffix}.tickets",
            topic_dead_letter=f"bench.otlp.{suffix}.dlq",
            api_port=free_port(),
        )
        asyncio.run(ensure_topics(svc.kafka_bootstrap_servers, settings))
        database_url = asyncio.run(svc.new_database())
        token = asyncio.run(create_key(database_url))
        api = start_webhooks_api(svc, database_url, settings)
        base = f"http://127.0.0.1:{settings.api_port}"
        try:
            print(f"{args.batches} x {BATCH_LINES} records per endpoint ...", file=sys.stderr)
            ndjson = asyncio.run(http_batches(base, token, args.batches))
            protobuf = asyncio.run(otlp_batches(base, token, args.batches, compress=False))
            zipped = asyncio.run(otlp_batches(base, token, args.batches, compress=True))
        finally:
            api.terminate()
            api.wait(timeout=30)

    text = "\n".join(
        [
            f"{args.batches} batches of {BATCH_LINES:,} log records per endpoint, {IN_FLIGHT} "
            "requests in flight, one after the other against the same API process and broker "
            "(Kafka `acks=all`, idempotent producer, 4 partitions). The same lines as "
            "bench.webhooks; as OTLP they are grouped by (service, host) into `ResourceLogs`. "
            "The load generator shares the machine with the API and the broker.",
            "",
            "| endpoint | records/s | of `/ingest/logs` |",
            "|---|---:|---:|",
            f"| `/ingest/logs` (NDJSON) | {ndjson:,.0f} | 100% |",
            f"| `/v1/logs` (OTLP protobuf) | {protobuf:,.0f} | {protobuf / ndjson:.0%} |",
            f"| `/v1/logs` (OTLP protobuf, gzip) | {zipped:,.0f} | {zipped / ndjson:.0%} |",
        ]
    )
    print(text)
    write_section(
        Path(PROJECT_ROOT / "docs" / "benchmarks.md"),
        "OTLP logs: HTTP → Kafka",
        text,
        f"python -m bench.otlp --batches {args.batches}",
    )


if __name__ == "__main__":
    main()
