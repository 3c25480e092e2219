"""Running a request once per idempotency key: a repeat within the retention gets the answer the
first one got (and produces nothing), the same key with another body is refused, and a request
that failed (Kafka unreachable, invalid input) leaves the key free for the retry."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from opsassist.api.problems import Conflict, IdempotencyKeyReused, Unprocessable
from opsassist.store import idempotency as store
from opsassist.streams.privacy import IdempotencyKeyDigest

MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def request_fingerprint(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


class IdempotentRequests:
    def __init__(
        self, pool: asyncpg.Pool, ttl: timedelta, lease: timedelta, keys: IdempotencyKeyDigest
    ) -> None:
        self._pool = pool
        self._keys = keys
        self._ttl = ttl
        self._lease = lease

    @property
    def keyed(self) -> bool:
        """False when keys are stored as unkeyed hashes (no secret configured)."""
        return self._keys.keyed

    async def run(
        self,
        scope: str,
        key: str | None,
        fingerprint: bytes,
        handle: Callable[[], Awaitable[Answer]],
    ) -> Answer:
        if key is None:
            return await handle()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise Unprocessable(f"an idempotency key is 1 to {MAX_KEY_LENGTH} printable characters")
        # Only the key's HMAC is stored: callers choose keys, and some choose personal data.
        stored_key = self._keys.digest(scope, key)
        found = await store.reserve(
            self._pool, scope, stored_key, fingerprint, ttl=self._ttl, lease=self._lease
        )
        if isinstance(found, store.StoredAnswer):
            if found.request_hash != fingerprint:
                raise IdempotencyKeyReused(
                    f"idempotency key {key!r} was already used with a different request body"
                )
            return Answer(found.status_code, found.body, replayed=True)
        if isinstance(found, store.InProgress):
            raise Conflict(
                f"a request with idempotency key {key!r} is being processed; retry shortly"
            )
        try:
            answer = await handle()
        except BaseException:
            await store.release(self._pool, scope, stored_key)
            raise
        await store.complete(self._pool, scope, stored_key, answer.status, answer.body)
        return answer

    async def purge_expired(self) -> int:
        return await store.purge_expired(self._pool)
