"""The API process's Prometheus metrics, declared once, and the middleware that records them.
Routes are labelled by their template (``/tickets/{id}``), never by the raw path."""

from __future__ import annotations

import time

import asyncpg
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "opsassist_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "opsassist_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class HttpMetrics:
    """ASGI middleware recording every HTTP request by method, route template and status.

    Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one wraps every chunk of a
    request body in anyio machinery, which cost a tenth of the API's time on 1,000-line log
    batches (measured with py-spy on ``bench.webhooks``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            # The router records the route it matched in the scope; its path is the template.
            route = scope.get("route")
            template = (
                str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"
            )
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_DURATION.labels(scope["method"], template).observe(time.perf_counter() - started)


WEBHOOK_EVENTS = Counter(
    "opsassist_webhook_events_produced_total",
    "Events the webhook and ingest endpoints produced, acknowledged by Kafka.",
    ["endpoint"],
)
WEBHOOK_KAFKA_UNAVAILABLE = Counter(
    "opsassist_webhook_kafka_unavailable_total",
    "Requests answered 503 because Kafka did not acknowledge their events.",
    ["endpoint"],
)
WEBHOOK_REJECTED_LINES = Counter(
    "opsassist_webhook_rejected_log_lines_total", "Log lines /ingest/logs refused as invalid."
)


DB_QUERIES = Counter(
    "opsassist_db_queries_total", "SQL statements the API process sent to PostgreSQL."
)


async def count_queries(conn: asyncpg.Connection) -> None:
    """Pool ``init``: count every statement of the connection (the N+1 check reads it)."""
    conn.add_query_logger(lambda _query: DB_QUERIES.inc())
