"""OpenTelemetry end to end: the API's and the worker's spans, exported over OTLP/HTTP to a
receiver the test runs on 127.0.0.1, form one trace from the sender's traceparent to the
worker's PostgreSQL writes; and with tracing off the sender's context reaches Kafka unchanged."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from opsassist.infra.processes import free_port
from tests.conftest import wait_for
from tests.integration.events import read_topic

pytestmark = pytest.mark.integration

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_SPAN = "00f067aa0ba902b7"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
LINES = (
    b'{"service": "checkout", "message": "card declined"}\n'
    b'{"service": "checkout", "message": "retrying"}\n'
)
ASYNCPG_SCOPE = "opentelemetry.instrumentation.asyncpg"


class OtlpReceiver:
    """An OTLP/HTTP traces endpoint: keeps every span posted, with its service and scope."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, Span]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.collect(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def collect(self, request: ExportTraceServiceRequest) -> None:
        with self._lock:
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append((service, scope_spans.scope.name, span))

    def of_trace(self, trace_id: str) -> list[tuple[str, str, Span]]:
        with self._lock:
            return [s for s in self.spans if s[2].trace_id.hex() == trace_id]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.close()


def test_one_trace_runs_from_the_request_through_kafka_to_the_workers_writes(  # type: ignore[no-untyped-def]
    settings, worker_process, webhook_api, otlp_receiver
) -> None:
    worker = worker_process(tracing_otlp_endpoint=otlp_receiver.url)
    worker.start()
    api = webhook_api(tracing_otlp_endpoint=otlp_receiver.url)
    api.start()
    answer = httpx.post(f"{api.url}/ingest/logs", content=LINES, headers=api.headers(**{
        "Content-Type": "application/x-ndjson", "traceparent": f"00-{TRACE}-{SENDER_SPAN}-01",
        "tracestate": TRACESTATE, "Idempotency-Key": "tracing-test-1"}))  # fmt: skip
    assert answer.status_code == 202, answer.text

    def stored() -> list[dict[str, object]]:
        found = httpx.get(f"{api.url}/traces/{TRACE}", headers=api.headers())
        assert found.status_code == 200, found.text
        rows: list[dict[str, object]] = found.json()["log_events"]
        return rows

    wait_for(lambda: len(stored()) == 2, 60, "both lines stored under the sender's trace id")

    def kinds() -> set[tuple[str, int]]:
        return {(service, span.kind) for service, _, span in otlp_receiver.of_trace(TRACE)}

    wanted = {
        ("opsassist-api", Span.SPAN_KIND_SERVER),
        ("opsassist-api", Span.SPAN_KIND_PRODUCER),
        ("opsassist-worker", Span.SPAN_KIND_CONSUMER),
        ("opsassist-worker", Span.SPAN_KIND_CLIENT),
    }
    wait_for(lambda: wanted <= kinds(), 60, "the API's and the worker's spans exported")
    spans = otlp_receiver.of_trace(TRACE)

    # the API's server span continues the sender's span; the send span is the server span's child
    [server] = [s for _, _, s in spans if s.kind == Span.SPAN_KIND_SERVER]
    assert server.parent_span_id.hex() == SENDER_SPAN
    [send] = [s for _, _, s in spans if s.kind == Span.SPAN_KIND_PRODUCER]
    assert send.parent_span_id == server.span_id
    assert send.name == f"send {settings.topic_logs}"

    # each record carries the send span as its parent, sampled, with the sender's tracestate
    records = asyncio.run(read_topic(settings.kafka_bootstrap_servers, settings.topic_logs, 2))
    assert len(records) == 2
    for record in records:
        headers = dict(record.headers)
        assert headers["traceparent"] == f"00-{TRACE}-{send.span_id.hex()}-01".encode()
        assert headers["tracestate"] == TRACESTATE.encode()

    # the worker's processing is the send span's child and links to it; its writes are its
    # children (a batch holds one or both records: either way the same parent)
    processes = [s for _, _, s in spans if s.kind == Span.SPAN_KIND_CONSUMER]
    assert all(p.parent_span_id == send.span_id for p in processes)
    assert all([link.span_id for link in p.links] == [send.span_id] for p in processes)
    writes = [s for svc, scope, s in spans if svc == "opsassist-worker" and scope == ASYNCPG_SCOPE]
    assert writes
    assert {w.parent_span_id for w in writes} <= {p.span_id for p in processes}
    assert any("log_events" in w.name or _statement_mentions(w, "log_events") for w in writes)


def _statement_mentions(span: Span, table: str) -> bool:
    return any(
        a.key in ("db.statement", "db.query.text") and table in a.value.string_value
        for a in span.attributes
    )


def test_with_tracing_off_the_senders_context_reaches_kafka_unchanged(  # type: ignore[no-untyped-def]
    settings, webhook_api
) -> None:
    api = webhook_api()
    api.start()
    traceparent = f"00-{TRACE}-{SENDER_SPAN}-00"  # not sampled: the flag must survive too
    answer = httpx.post(f"{api.url}/ingest/logs", content=LINES, headers=api.headers(**{
        "Content-Type": "application/x-ndjson", "traceparent": traceparent,
        "tracestate": TRACESTATE, "Idempotency-Key": "tracing-test-2"}))  # fmt: skip
    assert answer.status_code == 202, answer.text
    records = asyncio.run(read_topic(settings.kafka_bootstrap_servers, settings.topic_logs, 2))
    assert len(records) == 2
    for record in records:
        headers = dict(record.headers)
        assert headers["traceparent"] == traceparent.encode()
        assert headers["tracestate"] == TRACESTATE.encode()
