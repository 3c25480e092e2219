"""OpenTelemetry for the API and the worker: one trace from a sender's request through the Kafka
record to the worker's PostgreSQL writes (docs/observability.md#traces).

Off unless ``OPSASSIST_TRACING_OTLP_ENDPOINT`` is set: then no span is recorded, yet the W3C
context still travels, so that trace ids reach the stored rows and log lines as they always did.
The API continues a request's ``traceparent`` (:class:`ContinueTraceContext`), the producer puts
the current context on each record (:func:`sending`), the worker continues it (:func:`processing`)
— with the OpenTelemetry API alone, whose spans without an SDK carry their parent's context.

Only the OpenTelemetry API is imported here at first; the SDK, the exporter and the
instrumentations load in :func:`configure_tracing`, when tracing is on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from opsassist import __version__

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from opsassist.settings import Settings

#: Kafka record headers, as aiokafka and Faust hand them over.
RecordHeaders = Sequence[tuple[str, bytes | None]] | None


class ConsumedRecord(Protocol):
    """What :func:`processing` reads of a consumed Kafka record (Faust's and aiokafka's are)."""

    @property
    def topic(self) -> str: ...
    @property
    def headers(self) -> RecordHeaders: ...


_TRACE_HEADERS = ("traceparent", "tracestate")
# A ProxyTracer: it follows the provider that configure_tracing may install later.
_tracer = trace.get_tracer("opsassist", __version__)


def configure_tracing(settings: Settings, service: str) -> trace.TracerProvider | None:
    """The process's tracer provider, installed once: spans sampled by
    ``tracing_sample_ratio`` (a parent's decision wins), exported in batches over OTLP/HTTP,
    asyncpg's queries as spans. None while no endpoint is configured."""
    # W3C Trace Context only: baggage is not read from senders nor passed on to Kafka.
    propagate.set_global_textmap(TraceContextTextMapPropagator())
    installed = installed_provider()
    if installed is not None or not settings.tracing_otlp_endpoint:
        return installed
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create(
        {"service.name": settings.tracing_service_name or service, "service.version": __version__}
    )
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio))
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.tracing_otlp_endpoint))
    )
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    return provider


def installed_provider() -> trace.TracerProvider | None:
    """The process's tracer provider, or None while spans are not recorded (the API's proxy,
    which makes no spans of its own, is all there is)."""
    provider = trace.get_tracer_provider()
    return None if isinstance(provider, trace.ProxyTracerProvider) else provider


def current_trace_id() -> str | None:
    """The trace id of the current context (32 lowercase hex digits), if there is one."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None


class ContinueTraceContext:
    """ASGI middleware for when no spans are recorded: a request's ``traceparent`` and
    ``tracestate`` become the current context, so that what the request sends on (its Kafka
    records) carries the sender's parent id, flags and state unchanged. With tracing on,
    OpenTelemetry's FastAPI instrumentation does this and records the server span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate")
        }
        if not carrier:
            await self.app(scope, receive, send)
            return
        token = context.attach(propagate.extract(carrier))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)


@contextlib.contextmanager
def sending(topics: Collection[str], count: int) -> Iterator[dict[str, str]]:
    """A ``send`` span (kind PRODUCER) around sending ``count`` records to ``topics``; yields
    the W3C headers to put on every record.

    The span's context is the records' creation context (the messaging semantic conventions'
    choice when no per-message "create" spans are made): the consumer's span becomes its child.
    Without an SDK the context is the current one (the request's), passed on unchanged.
    """
    only = next(iter(topics)) if len(topics) == 1 else None
    with _tracer.start_as_current_span(
        f"send {only}" if only else "send", kind=SpanKind.PRODUCER
    ) as span:
        if span.is_recording():
            span.set_attributes(_messaging("send", only, count))
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier


@contextlib.contextmanager
def processing(records: Sequence[ConsumedRecord]) -> Iterator[None]:
    """A ``process`` span (kind CONSUMER) around the worker's processing of one batch of
    records of a topic.

    Following the messaging semantic conventions, the span links to each record's creation
    context. A batch has one parent only when every record carries the same context (a batch of
    one record, or the records of one webhook request): then the span continues that trace, and
    the PostgreSQL writes inside it are its children. A batch that mixes contexts starts a trace
    of its own rather than passing one record's trace off as the others'.
    """
    headers = [record.headers for record in records]
    traceparents = [_header(h, "traceparent") for h in headers]
    first = traceparents[0] if traceparents else None
    shared = first is not None and all(t == first for t in traceparents)
    parent = propagate.extract(_carrier(headers[0])) if shared else context.Context()
    if installed_provider() is None:
        # Nothing is recorded: make the records' shared context current, and no more.
        token = context.attach(parent)
        try:
            yield
        finally:
            context.detach(token)
        return
    links: list[Link] = []
    seen: set[bytes] = set()
    for record_headers, traceparent in zip(headers, traceparents, strict=True):
        if traceparent is None or traceparent in seen:
            continue
        seen.add(traceparent)
        linked = trace.get_current_span(propagate.extract(_carrier(record_headers)))
        if linked.get_span_context().is_valid:
            links.append(Link(linked.get_span_context()))
    topic = records[0].topic if records else ""
    with _tracer.start_as_current_span(
        f"process {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes=_messaging("process", topic, len(headers)),
    ):
        yield


def _messaging(operation: str, topic: str | None, count: int) -> dict[str, str | int]:
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.name": operation,
        "messaging.operation.type": operation,
    }
    if topic is not None:
        attributes["messaging.destination.name"] = topic
    if count != 1:  # the conventions set the count on batch operations only
        attributes["messaging.batch.message_count"] = count
    return attributes


def _header(headers: RecordHeaders, name: str) -> bytes | None:
    for key, value in headers or ():
        if key.lower() == name:
            return value
    return None


def _carrier(headers: RecordHeaders) -> dict[str, str]:
    return {
        key.lower(): value.decode("latin-1")
        for key, value in headers or ()
        if value is not None and key.lower() in _TRACE_HEADERS
    }
