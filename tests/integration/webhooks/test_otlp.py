"""``POST /v1/logs`` (OTLP/HTTP) against the running API, real Kafka and, end to end, the worker
and PostgreSQL: what the OpenTelemetry SDK's own exporter sends arrives as log events."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from opsassist.schemas import LogEvent
from tests.conftest import wait_for
from tests.integration.webhooks.topic_reader import read_topic

pytestmark = pytest.mark.integration

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def _stored_otlp_rows(database_url: str) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetch(
                "SELECT service, host, level, message, trace_id, attributes FROM log_events"
                " WHERE source = 'otlp:logs' ORDER BY ts"
            )
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_the_sdk_otlp_exporter_ships_logs_that_are_stored_with_service_host_and_trace(
    settings: Any, worker_process: Any, webhook_api: Any
) -> None:
    worker = worker_process()
    worker.start()
    api = webhook_api(scopes=("logs",))
    api.start()

    exporter = OTLPLogExporter(
        endpoint=f"{api.url}/v1/logs",
        headers={"Authorization": f"Bearer {api.api_key}"},
        compression=Compression.Gzip,
        timeout=10,
    )
    resource = Resource.create(
        {
            "service.name": "checkout",
            "host.name": "web-7",
            "deployment.environment.name": "production",
        }
    )
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    tracer = TracerProvider(resource=resource).get_tracer("checkout.payments")
    logger = provider.get_logger("checkout.payments")
    try:
        with tracer.start_as_current_span("pay") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            # No severity text: the level comes from the severity number's range.
            logger.emit(
                severity_number=SeverityNumber.ERROR,
                body="payment declined by the acquirer",
                attributes={"http.route": "/pay"},
            )
        logger.emit(
            severity_number=SeverityNumber.INFO, severity_text="INFO", body="checkout page rendered"
        )
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()

    wait_for(lambda: len(_stored_otlp_rows(settings.database_url)) == 2, 60, "both stored")
    declined, rendered = _stored_otlp_rows(settings.database_url)
    assert (declined["service"], declined["host"]) == ("checkout", "web-7")
    assert declined["level"] == "ERROR" and declined["trace_id"] == trace_id
    assert "payment declined" in declined["message"]
    attributes = json.loads(declined["attributes"])
    assert attributes["environment"] == "production" and attributes["http.route"] == "/pay"
    assert (rendered["service"], rendered["level"], rendered["trace_id"]) == (
        "checkout",
        "INFO",
        None,
    )

    # The trace lookup finds the record by the id the SDK's span gave it.
    full = webhook_api()
    full.start()
    found = httpx.get(f"{full.url}/traces/{trace_id}", headers=full.headers()).json()
    assert [row["service"] for row in found["log_events"]] == ["checkout"]


def _json_export(*records: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "billing"}},
                        {"key": "host.name", "value": {"stringValue": "batch-1"}},
                    ]
                },
                "scopeLogs": [{"scope": {"name": "billing"}, "logRecords": list(records)}],
            }
        ]
    }


def test_json_and_gzip_exports_are_answered_as_otlp_says_and_partial_success_counts_rejects(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(scopes=("logs",))
    api.start()
    good = {
        "timeUnixNano": "1765000000000000000",
        "severityNumber": 13,
        "body": {"stringValue": "invoice run slow"},
        "traceId": TRACE,
        "spanId": SPAN,
    }
    plain = httpx.post(
        f"{api.url}/v1/logs",
        json=_json_export(good),
        headers=api.headers(),
    )
    assert plain.status_code == 200, plain.text
    assert plain.headers["content-type"] == "application/json"
    assert plain.json() == {}

    unmappable = {"body": {"stringValue": "bad trace"}, "traceId": "0102"}
    zipped = httpx.post(
        f"{api.url}/v1/logs",
        content=gzip.compress(json.dumps(_json_export(good, unmappable)).encode()),
        headers=api.headers(**{"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    )
    assert zipped.status_code == 200, zipped.text
    partial = zipped.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "1"
    assert "trace_id is 2 bytes" in partial["errorMessage"]

    events = read_topic(kafka_bootstrap, api.settings.topic_logs)
    assert len(events) == 2 and all(isinstance(e, LogEvent) for e in events)
    for event in events:
        assert isinstance(event, LogEvent)
        assert event.trace_id == TRACE
        assert (event.payload.service, event.payload.host) == ("billing", "batch-1")
        assert event.payload.level == "WARN" and event.payload.message == "invoice run slow"


def test_malformed_bodies_get_400_problem_details_and_nothing_is_queued(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(scopes=("logs",))
    api.start()
    url = f"{api.url}/v1/logs"
    protobuf = {"Content-Type": "application/x-protobuf"}
    as_json = {"Content-Type": "application/json"}
    answers = [
        httpx.post(url, content=b"\xff\xff\xff\xff", headers=api.headers(**protobuf)),
        httpx.post(url, content=b'{"resourceLogs": 5', headers=api.headers(**as_json)),
        httpx.post(url, content=b'{"resourceLogs": 5}', headers=api.headers(**as_json)),
        httpx.post(
            url,
            content=b"not gzip at all",
            headers=api.headers(**protobuf, **{"Content-Encoding": "gzip"}),
        ),
    ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:opsassist:problem:malformed-otlp"
    wrong_type = httpx.post(
        url, content=b"x", headers=api.headers(**{"Content-Type": "text/plain"})
    )
    assert wrong_type.status_code == 415
    no_key = httpx.post(url, content=b"", headers=protobuf)
    assert no_key.status_code == 401
    assert read_topic(kafka_bootstrap, api.settings.topic_logs) == []

    # An empty export is a valid request with nothing in it: 200, an empty response.
    empty = httpx.post(url, content=b"", headers=api.headers(**protobuf))
    assert empty.status_code == 200
    assert empty.headers["content-type"] == "application/x-protobuf"
    assert ExportLogsServiceResponse.FromString(empty.content) == ExportLogsServiceResponse()
