"""Idempotency keys: a request is reserved before it is produced and its answer stored after,
so a repeat within the retention gets the original answer and produces nothing again.

A reservation whose request never completed (the process died, Kafka was down and the answer
was a 503) is released, or taken over once it is older than the lease, so a retry can proceed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import orjson

# Take the key when it is new, expired, or a stale reservation; otherwise leave the row alone.
_RESERVE = """
INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, expires_at)
VALUES ($1, $2, $3, now() + $4::interval)
ON CONFLICT (scope, idempotency_key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, reserved_at = now(), completed_at = NULL,
        status_code = NULL, response_body = NULL, expires_at = EXCLUDED.expires_at
    WHERE idempotency_keys.expires_at < now()
       OR (idempotency_keys.completed_at IS NULL
           AND idempotency_keys.reserved_at < now() - $5::interval)
RETURNING true
"""
_EXISTING = """
SELECT request_hash, completed_at IS NOT NULL AS completed, status_code, response_body
FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2
"""
_COMPLETE = """
UPDATE idempotency_keys SET completed_at = now(), status_code = $3, response_body = $4::jsonb
WHERE scope = $1 AND idempotency_key = $2
"""
_RELEASE = """
DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND completed_at IS NULL
"""
_PURGE = "DELETE FROM idempotency_keys WHERE expires_at < now()"


@dataclass(frozen=True, slots=True)
class Reserved:
    """The key is ours: produce, then :func:`complete` or :func:`release` it."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The key was used before and its request completed: this is the answer it got."""

    request_hash: bytes
    status_code: int
    body: Any


@dataclass(frozen=True, slots=True)
class InProgress:
    """Another request with this key is being produced right now."""

    request_hash: bytes


Reservation = Reserved | StoredAnswer | InProgress


async def reserve(
    pool: asyncpg.Pool,
    scope: str,
    key: str,
    request_hash: bytes,
    *,
    ttl: timedelta,
    lease: timedelta,
) -> Reservation:
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(_RESERVE, scope, key, request_hash, ttl, lease):
            return Reserved()
        row = await conn.fetchrow(_EXISTING, scope, key)
    if row is None:  # expired and purged between the two statements: rare, just try again
        return await reserve(pool, scope, key, request_hash, ttl=ttl, lease=lease)
    if not row["completed"]:
        return InProgress(bytes(row["request_hash"]))
    return StoredAnswer(
        bytes(row["request_hash"]), row["status_code"], orjson.loads(row["response_body"])
    )


async def complete(pool: asyncpg.Pool, scope: str, key: str, status_code: int, body: Any) -> None:
    await pool.execute(_COMPLETE, scope, key, status_code, orjson.dumps(body).decode())


async def release(pool: asyncpg.Pool, scope: str, key: str) -> None:
    await pool.execute(_RELEASE, scope, key)


async def purge_expired(pool: asyncpg.Pool) -> int:
    result: str = await pool.execute(_PURGE)
    return int(result.rsplit(" ", 1)[-1])
