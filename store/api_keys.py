"""The API keys webhook senders authenticate with: stored hashed, scoped, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

_INSERT = """
INSERT INTO api_keys (key_id, name, secret_hash, scopes) VALUES ($1, $2, $3, $4)
RETURNING key_id, name, secret_hash, scopes, created_at, revoked_at, last_used_at
"""
_BY_ID = """
SELECT key_id, name, secret_hash, scopes, created_at, revoked_at, last_used_at
FROM api_keys WHERE key_id = $1
"""
_LIST = """
SELECT key_id, name, secret_hash, scopes, created_at, revoked_at, last_used_at
FROM api_keys ORDER BY created_at, key_id
"""
_REVOKE = """
UPDATE api_keys SET revoked_at = now()
WHERE (key_id = $1 OR name = $1) AND revoked_at IS NULL
RETURNING key_id
"""


@dataclass(frozen=True, slots=True)
class StoredApiKey:
    key_id: str
    name: str
    secret_hash: bytes
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class DuplicateKeyName(ValueError):
    """An active key already has this name."""


def _row(record: asyncpg.Record) -> StoredApiKey:
    return StoredApiKey(
        key_id=record["key_id"],
        name=record["name"],
        secret_hash=bytes(record["secret_hash"]),
        scopes=tuple(record["scopes"]),
        created_at=record["created_at"],
        revoked_at=record["revoked_at"],
        last_used_at=record["last_used_at"],
    )


async def insert_api_key(
    conn: asyncpg.Connection | asyncpg.Pool,
    key_id: str,
    name: str,
    secret_hash: bytes,
    scopes: list[str],
) -> StoredApiKey:
    try:
        record = await conn.fetchrow(_INSERT, key_id, name, secret_hash, scopes)
    except asyncpg.UniqueViolationError:
        raise DuplicateKeyName(f"an active API key is already named {name!r}") from None
    return _row(record)


async def find_api_key(conn: asyncpg.Connection | asyncpg.Pool, key_id: str) -> StoredApiKey | None:
    record = await conn.fetchrow(_BY_ID, key_id)
    return None if record is None else _row(record)


async def list_api_keys(conn: asyncpg.Connection | asyncpg.Pool) -> list[StoredApiKey]:
    return [_row(r) for r in await conn.fetch(_LIST)]


async def revoke_api_key(conn: asyncpg.Connection | asyncpg.Pool, key_id_or_name: str) -> list[str]:
    """Revoke the active key with this id or name; return the ids revoked (empty: none)."""
    return [r["key_id"] for r in await conn.fetch(_REVOKE, key_id_or_name)]
