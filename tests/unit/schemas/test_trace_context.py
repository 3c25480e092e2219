"""The W3C ``traceparent`` read and written as the specification says (its examples and its
invalid cases), in agreement with OpenTelemetry's propagator, and carried onto Kafka unchanged."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from opsassist.schemas import LogEvent, TraceParent, kafka_headers
from opsassist.streams.enrich import parse_traceparent
from tests.integration.events import log_event

# The specification's examples (https://www.w3.org/TR/trace-context/#examples-of-http-traceparent-headers)
SAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
NOT_SAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"

VALID = [
    (SAMPLED, ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0x01), SAMPLED),
    (NOT_SAMPLED, ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0x00), NOT_SAMPLED),
    (  # flags this version does not define travel on as they came
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03",
        ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 0x03),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03",
    ),
    (  # a later version may append fields; they are not read, and version 00 is written
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-will-be-like",
        ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 0x01),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ),
    (f" {SAMPLED}\t", ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0x01), SAMPLED),
]

INVALID = [
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff is never valid
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # all-zero trace id
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # all-zero parent id
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # uppercase hex
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # version 00 has 4 fields
    "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01.what",  # no dash before more
    "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",  # short trace id
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",  # short parent id
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",  # short flags
    "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",  # not hex
    "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # short version
    "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",  # wrong separator
    "",
]


@pytest.mark.parametrize(("value", "fields", "written"), VALID)
def test_a_valid_traceparent_keeps_its_parent_id_and_flags(
    value: str, fields: tuple[str, str, int], written: str
) -> None:
    parsed = TraceParent.parse(value)
    assert parsed is not None
    assert (parsed.trace_id, parsed.parent_id, parsed.flags) == fields
    assert parsed.sampled == bool(fields[2] & 1)
    assert parsed.format() == written
    assert TraceParent.parse(value.encode()) == parsed


@pytest.mark.parametrize("value", INVALID)
def test_an_invalid_traceparent_is_ignored(value: str) -> None:
    assert TraceParent.parse(value) is None


@pytest.mark.parametrize("value", [v for v, _, _ in VALID] + INVALID)
def test_opentelemetrys_propagator_accepts_and_refuses_the_same_headers(value: str) -> None:
    context = TraceContextTextMapPropagator().extract({"traceparent": value})
    span_context = trace.get_current_span(context).get_span_context()
    parsed = TraceParent.parse(value)
    assert span_context.is_valid == (parsed is not None)
    if parsed is not None:
        assert trace.format_span_id(span_context.span_id) == parsed.parent_id
        assert int(span_context.trace_flags) == parsed.flags


def _event(trace_id: str | None) -> LogEvent:
    return log_event(1).model_copy(update={"trace_id": trace_id})


def test_a_record_carries_the_creation_context_of_its_trace_unchanged() -> None:
    headers = dict(kafka_headers(_event("4bf92f3577b34da6a3ce929d0e0e4736"), {
        "traceparent": NOT_SAMPLED, "tracestate": TRACESTATE}))  # fmt: skip
    assert headers["traceparent"] == NOT_SAMPLED.encode()
    assert headers["tracestate"] == TRACESTATE.encode()


def test_an_event_of_another_trace_gets_its_own_traceparent_not_the_creation_context() -> None:
    own = "0af7651916cd43dd8448eb211c80319c"
    headers = dict(kafka_headers(_event(own), {"traceparent": SAMPLED, "tracestate": TRACESTATE}))
    parsed = TraceParent.parse(headers["traceparent"])
    assert parsed is not None
    assert parsed.trace_id == own
    assert parsed.parent_id != "00f067aa0ba902b7"
    assert "tracestate" not in headers


def test_an_event_without_a_trace_id_gets_no_traceparent() -> None:
    assert [name for name, _ in kafka_headers(_event(None), {"traceparent": SAMPLED})] == [
        "schema-version"
    ]


@pytest.mark.parametrize("value", [v for v, _, _ in VALID] + INVALID)
def test_a_log_lines_traceparent_is_read_as_the_envelopes_is(value: str) -> None:
    """The enrichment stage finds trace ids in log lines with the same parser."""
    parsed = TraceParent.parse(value)
    expected = None if parsed is None else (parsed.trace_id, parsed.parent_id)
    assert parse_traceparent(value) == expected
