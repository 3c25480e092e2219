"""The FastAPI app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import health
from api.metrics import record_http_metrics
from infra.local import Endpoints
from opsassist import __version__
from opsassist.settings import Settings
from store.migrations import check_schema
from store.pool import create_pool


def create_app(settings: Settings, endpoints: Endpoints) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(endpoints.database_url, max_size=10)
        async with pool.acquire() as conn:
            await check_schema(conn)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="Opsassist", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.endpoints = endpoints
    app.middleware("http")(record_http_metrics)
    app.include_router(health.router)
    return app
