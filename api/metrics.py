"""The API process's Prometheus metrics, declared once, and the middleware that records them.
Routes are labelled by their template (``/tickets/{id}``), never by the raw path."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response

HTTP_REQUESTS = Counter(
    "opsassist_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "opsassist_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _route_template(request: Request) -> str:
    # The router records the route it matched in the scope; its path is the template.
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"


async def record_http_metrics(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        route = _route_template(request)
        HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
        HTTP_DURATION.labels(request.method, route).observe(time.perf_counter() - started)


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
