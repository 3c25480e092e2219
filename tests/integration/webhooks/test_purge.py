"""The API's hourly purge forgets expired idempotency keys of webhooks and of ticket status
changes, and keeps the rest (real PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from opsassist.api.webhooks.ingestion import Ingestion
from opsassist.settings import Settings
from opsassist.store import idempotency as store
from opsassist.store.pool import create_pool

pytestmark = pytest.mark.integration

_STATUS_REQUEST = """
INSERT INTO ticket_status_requests (idempotency_key, ticket_id, request_hash, result, created_at)
VALUES ($1, 1, '\\x00', '{}'::jsonb, now() - $2::interval)
"""


async def scenario(database_url: str) -> tuple[int, int, list[str], list[str]]:
    pool: asyncpg.Pool = await create_pool(database_url)
    try:
        ingestion = Ingestion(Settings(webhook_idempotency_ttl_hours=24), "127.0.0.1:9", pool)
        for key in ("old", "new"):
            await store.reserve(
                pool, "s", key, b"h", ttl=timedelta(hours=24), lease=timedelta(seconds=30)
            )
        await pool.execute(
            "UPDATE idempotency_keys SET expires_at = now() - interval '1 second'"
            " WHERE idempotency_key = 'old'"
        )
        await pool.execute(_STATUS_REQUEST, "status-old", timedelta(hours=25))
        await pool.execute(_STATUS_REQUEST, "status-new", timedelta(hours=23))
        purged = await ingestion.purge_once()
        webhook_keys = await pool.fetch("SELECT idempotency_key FROM idempotency_keys")
        status_keys = await pool.fetch("SELECT idempotency_key FROM ticket_status_requests")
        return (
            *purged,
            [row[0] for row in webhook_keys],
            [row[0] for row in status_keys],
        )
    finally:
        await pool.close()


def test_purge_forgets_expired_webhook_and_status_change_keys(database_url: str) -> None:
    webhooks, status_changes, webhook_keys, status_keys = asyncio.run(scenario(database_url))
    assert (webhooks, status_changes) == (1, 1)
    assert webhook_keys == ["new"]
    assert status_keys == ["status-new"]
