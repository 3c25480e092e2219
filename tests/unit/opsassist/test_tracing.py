"""With tracing off (no tracer provider installed, as in these tests) the W3C context still
travels: a request's context reaches the records it sends unchanged, and the worker continues
the context its records share. The spans themselves are checked end to end, across the real
processes, in tests/integration/test_tracing.py."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from opsassist.tracing import (
    ContinueTraceContext,
    RecordHeaders,
    current_trace_id,
    installed_provider,
    processing,
    sending,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
NOT_SAMPLED = f"00-{TRACE}-00f067aa0ba902b7-00"
OTHER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"


@dataclass
class Record:
    topic: str
    headers: RecordHeaders


def test_these_tests_run_without_a_tracer_provider() -> None:
    assert installed_provider() is None


async def test_a_request_sends_its_senders_context_on_unchanged() -> None:
    async def send(request: Request) -> JSONResponse:
        with sending({"ops.logs.raw"}, 2) as creation:
            return JSONResponse({"creation": creation, "trace_id": current_trace_id()})

    app = ContinueTraceContext(Starlette(routes=[Route("/send", send, methods=["POST"])]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        answer = await client.post(
            "/send", headers={"traceparent": NOT_SAMPLED, "tracestate": TRACESTATE}
        )
        bare = await client.post("/send")
    assert answer.json() == {
        "creation": {"traceparent": NOT_SAMPLED, "tracestate": TRACESTATE},
        "trace_id": TRACE,
    }
    assert bare.json() == {"creation": {}, "trace_id": None}


def test_a_batch_whose_records_share_a_context_continues_it() -> None:
    headers: RecordHeaders = [("traceparent", NOT_SAMPLED.encode()), ("tracestate", b"congo=1")]
    with processing([Record("ops.logs.raw", headers), Record("ops.logs.raw", headers)]):
        span_context = trace.get_current_span().get_span_context()
        assert trace.format_trace_id(span_context.trace_id) == TRACE
        assert trace.format_span_id(span_context.span_id) == "00f067aa0ba902b7"
        assert not span_context.trace_flags.sampled
        assert span_context.trace_state.to_header() == "congo=1"
    assert current_trace_id() is None


@pytest.mark.parametrize(
    "headers",
    [
        [[("traceparent", NOT_SAMPLED.encode())], [("traceparent", OTHER.encode())]],
        [[("traceparent", NOT_SAMPLED.encode())], None],
        [None],
        [],
    ],
)
def test_a_batch_of_mixed_or_missing_contexts_continues_none(
    headers: list[RecordHeaders],
) -> None:
    with processing([Record("ops.logs.raw", h) for h in headers]):
        assert current_trace_id() is None
