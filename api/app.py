"""The FastAPI app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from opsassist import __version__
from opsassist.api import health, traces
from opsassist.api.bodies import BodyLimit
from opsassist.api.graphql import INCIDENT_CHANNEL, ChangeFeed, graphql_router
from opsassist.api.metrics import HttpMetrics, count_queries
from opsassist.api.problems import install_problem_handlers
from opsassist.api.security_headers import SecurityHeaders
from opsassist.api.webhooks import alertmanager, events, github, otlp, tickets
from opsassist.api.webhooks.gitlab import router as gitlab_router
from opsassist.api.webhooks.ingestion import Ingestion
from opsassist.endpoints import Endpoints
from opsassist.settings import Settings
from opsassist.store.migrations import check_schema
from opsassist.store.pool import create_pool
from opsassist.tracing import ContinueTraceContext, configure_tracing


def create_app(settings: Settings, endpoints: Endpoints) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            endpoints.database_url, max_size=10, init=count_queries, session_state=False
        )
        async with pool.acquire() as conn:
            await check_schema(conn)
        app.state.pool = pool
        # The Kafka producer starts on first use, so the API serves health checks (and answers
        # 503 to senders) while Kafka is down.
        app.state.ingestion = Ingestion(settings, endpoints.kafka_bootstrap_servers, pool)
        await app.state.ingestion.start()
        app.state.ticket_feed = ChangeFeed(endpoints.database_url)
        app.state.incident_feed = ChangeFeed(
            endpoints.database_url, INCIDENT_CHANNEL, "incident_id"
        )
        try:
            yield
        finally:
            await app.state.ticket_feed.close()
            await app.state.incident_feed.close()
            await app.state.ingestion.close()
            await pool.close()

    app = FastAPI(title="Opsassist", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.endpoints = endpoints
    # Added innermost first: the security headers go on every answer, the body limit included.
    app.add_middleware(BodyLimit, path="/graphql", limit=settings.graphql_max_body_bytes)
    app.add_middleware(HttpMetrics)
    app.add_middleware(SecurityHeaders)
    install_problem_handlers(app)
    tracer_provider = configure_tracing(settings, "opsassist-api")
    if tracer_provider is None:
        app.add_middleware(ContinueTraceContext)  # outermost: the W3C context, no spans
    else:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # A server span per request, the child of the sender's traceparent; probes are not traced.
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=tracer_provider, excluded_urls="/healthz,/readyz,/metrics"
        )
    app.include_router(health.router)
    app.include_router(github.router)
    app.include_router(gitlab_router)
    app.include_router(tickets.router)
    app.include_router(events.router)
    app.include_router(otlp.router)
    app.include_router(alertmanager.router)
    app.include_router(traces.router)
    app.include_router(graphql_router(settings), prefix="/graphql")
    return app
