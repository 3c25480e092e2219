"""The people who log in to the API: users (with history), their bcrypt password hashes, and
their rotating refresh tokens (stored as SHA-256 hashes, revocable per token or per family)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from opsassist.store.paging import Listing, Page, PageRequest, Sort

ROLES = ("admin", "ops", "hr")

_USER_COLUMNS = "id, username, role, created_at, disabled_at, version"
_INSERT_USER = f"""
INSERT INTO users (username, role, changed_by) VALUES ($1, $2, $3) RETURNING {_USER_COLUMNS}
"""
_INSERT_CREDENTIALS = "INSERT INTO user_credentials (user_id, password_hash) VALUES ($1, $2)"
_BY_USERNAME = f"""
SELECT {", ".join("u." + c.strip() for c in _USER_COLUMNS.split(","))}, c.password_hash
FROM users u JOIN user_credentials c ON c.user_id = u.id
WHERE lower(u.username) = lower($1)
"""
_BY_IDS = f"SELECT {_USER_COLUMNS} FROM users WHERE id = ANY($1::bigint[])"
USERS = Listing(f"SELECT {_USER_COLUMNS} FROM users", Sort("id", "id", "id", (), key_is_time=False))
_INSERT_REFRESH = """
INSERT INTO refresh_tokens (id, family_id, user_id, secret_hash, expires_at)
VALUES ($1, $2, $3, $4, $5)
"""
_REFRESH_FOR_UPDATE = """
SELECT id, family_id, user_id, secret_hash, expires_at, rotated_at, revoked_at
FROM refresh_tokens WHERE id = $1 FOR UPDATE
"""
_ROTATE = "UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1"
_REVOKE_FAMILY = """
UPDATE refresh_tokens SET revoked_at = now(), revoked_why = $2
WHERE family_id = $1 AND revoked_at IS NULL
"""
_REVOKE_USER = """
UPDATE refresh_tokens SET revoked_at = now(), revoked_why = $2
WHERE user_id = $1 AND revoked_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class StoredUser:
    id: int
    username: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    version: int

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class StoredRefreshToken:
    id: str
    family_id: str
    user_id: int
    secret_hash: bytes
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


class DuplicateUsername(ValueError):
    """A user already has this username (compared without case)."""


def _user(record: asyncpg.Record) -> StoredUser:
    return StoredUser(
        id=record["id"],
        username=record["username"],
        role=record["role"],
        created_at=record["created_at"],
        disabled_at=record["disabled_at"],
        version=record["version"],
    )


async def insert_user(
    conn: asyncpg.Connection, username: str, role: str, password_hash: str, changed_by: str
) -> StoredUser:
    """A new user and their credentials, in one transaction."""
    try:
        async with conn.transaction():
            record = await conn.fetchrow(_INSERT_USER, username, role, changed_by)
            await conn.execute(_INSERT_CREDENTIALS, record["id"], password_hash)
    except asyncpg.UniqueViolationError:
        raise DuplicateUsername(f"the username {username!r} is taken") from None
    return _user(record)


async def find_user_with_password(
    conn: asyncpg.Pool | asyncpg.Connection, username: str
) -> tuple[StoredUser, str] | None:
    record = await conn.fetchrow(_BY_USERNAME, username)
    return None if record is None else (_user(record), record["password_hash"])


async def users_by_ids(conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]) -> list[StoredUser]:
    return [_user(r) for r in await conn.fetch(_BY_IDS, ids)]


async def users_page(
    conn: asyncpg.Pool | asyncpg.Connection, request: PageRequest, default_size: int
) -> Page[StoredUser]:
    """A page of users by id."""
    page = await USERS.page(
        conn, None, descending=False, request=request, default_size=default_size
    )
    return page.map(_user)


async def insert_refresh_token(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    token_id: str,
    family_id: str,
    user_id: int,
    secret_hash: bytes,
    expires_at: datetime,
) -> None:
    await conn.execute(_INSERT_REFRESH, token_id, family_id, user_id, secret_hash, expires_at)


async def lock_refresh_token(conn: asyncpg.Connection, token_id: str) -> StoredRefreshToken | None:
    """The token row, locked until the caller's transaction ends (rotation is then atomic)."""
    record = await conn.fetchrow(_REFRESH_FOR_UPDATE, token_id)
    if record is None:
        return None
    return StoredRefreshToken(
        id=record["id"],
        family_id=record["family_id"],
        user_id=record["user_id"],
        secret_hash=bytes(record["secret_hash"]),
        expires_at=record["expires_at"],
        rotated_at=record["rotated_at"],
        revoked_at=record["revoked_at"],
    )


async def mark_rotated(conn: asyncpg.Connection, token_id: str) -> None:
    await conn.execute(_ROTATE, token_id)


async def revoke_family(conn: asyncpg.Pool | asyncpg.Connection, family_id: str, why: str) -> None:
    await conn.execute(_REVOKE_FAMILY, family_id, why)


async def revoke_user_tokens(
    conn: asyncpg.Pool | asyncpg.Connection, user_id: int, why: str
) -> None:
    await conn.execute(_REVOKE_USER, user_id, why)
