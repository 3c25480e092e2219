"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import asyncio
import os

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

router = APIRouter()


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _kafka_ok(bootstrap: str) -> str | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(admin.start(), 5)
        await asyncio.wait_for(admin.list_topics(), 5)
        return None
    except Exception as exc:  # any failure means "not ready"; the text says which
        return f"{type(exc).__name__}: {exc}"
    finally:
        await admin.close()


async def _postgres_ok(pool: asyncpg.Pool) -> str | None:
    try:
        async with asyncio.timeout(5):
            await pool.fetchval("SELECT 1")
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@router.get("/readyz", summary="Kafka and PostgreSQL are reachable")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    kafka_error, pg_error = await asyncio.gather(
        _kafka_ok(state.endpoints.kafka_bootstrap_servers), _postgres_ok(state.pool)
    )
    checks = {"kafka": kafka_error or "ok", "postgres": pg_error or "ok"}
    ready = kafka_error is None and pg_error is None
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # several API processes (OPSASSIST_API_WORKERS): the sum of all of them
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
