"""The idempotency keys against a real PostgreSQL: reserve, complete, replay, release, expiry and
the lease of a request that never finished."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from opsassist.store import idempotency as store
from opsassist.store.pool import create_pool

pytestmark = pytest.mark.integration

TTL = timedelta(hours=24)
LEASE = timedelta(seconds=30)


async def scenario(database_url: str) -> None:
    pool: asyncpg.Pool = await create_pool(database_url)
    try:

        async def reserve(key: str, body: bytes = b"h1") -> store.Reservation:
            return await store.reserve(pool, "s", key, body, ttl=TTL, lease=LEASE)

        assert isinstance(await reserve("k"), store.Reserved)
        assert isinstance(await reserve("k"), store.InProgress)
        await store.complete(pool, "s", "k", 202, {"produced": 3})
        answer = await reserve("k")
        assert answer == store.StoredAnswer(b"h1", 202, {"produced": 3})
        assert isinstance(
            await store.reserve(pool, "other", "k", b"h1", ttl=TTL, lease=LEASE), store.Reserved
        ), "keys are per scope"

        # a failed request releases its key; a completed one is never released
        assert isinstance(await reserve("failed"), store.Reserved)
        await store.release(pool, "s", "failed")
        assert isinstance(await reserve("failed"), store.Reserved)
        await store.release(pool, "s", "k")
        assert isinstance(await reserve("k"), store.StoredAnswer)

        # a reservation older than the lease (its process died) can be taken over
        assert isinstance(await reserve("stuck"), store.Reserved)
        await pool.execute(
            "UPDATE idempotency_keys SET reserved_at = now() - interval '1 minute'"
            " WHERE idempotency_key = 'stuck'"
        )
        assert isinstance(await reserve("stuck"), store.Reserved)

        # after the retention the key is free again, and purged
        await pool.execute(
            "UPDATE idempotency_keys SET expires_at = now() - interval '1 second'"
            " WHERE idempotency_key = 'k'"
        )
        assert isinstance(await reserve("k", b"h2"), store.Reserved)
        await pool.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        # (s, k), (other, k), (s, failed), (s, stuck)
        assert await store.purge_expired(pool) == 4
        assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0
        assert isinstance(await reserve("fresh"), store.Reserved)
        kept = await pool.fetchval(
            "SELECT expires_at - reserved_at FROM idempotency_keys WHERE idempotency_key = 'fresh'"
        )
        assert kept >= timedelta(hours=24)
    finally:
        await pool.close()


def test_idempotency_keys_replay_release_expire_and_take_over(database_url: str) -> None:
    asyncio.run(scenario(database_url))
