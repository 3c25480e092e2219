"""Login attempts per (account, client address), shared by every API process: the state that the
login throttle (api/graphql/login_throttle.py) reads and writes under a per-account lock. Keys
are digests the caller computes; this module stores what it is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

# Serializes the attempts on one account across processes for one short transaction; the first
# number keeps these locks apart from other advisory locks of the schema.
_LOCK_ACCOUNT = "SELECT pg_advisory_xact_lock(28, hashtext(encode($1::bytea, 'hex')))"
_PAIR = """
SELECT failures, last_attempt_at, locked_until, last_success_at, now() AS now
FROM login_attempts WHERE account = $1 AND client_address = $2
"""
_ACCOUNT_RECENT = """
SELECT coalesce(sum(failures), 0) AS failures, min(last_attempt_at) AS oldest
FROM login_attempts
WHERE account = $1 AND failures > 0 AND last_attempt_at > now() - $2::interval
"""
_RECORD_ATTEMPT = """
INSERT INTO login_attempts (account, client_address, failures, last_attempt_at, locked_until)
VALUES ($1, $2, $3, now(), $4)
ON CONFLICT (account, client_address) DO UPDATE
SET failures = EXCLUDED.failures, last_attempt_at = now(), locked_until = EXCLUDED.locked_until
"""
_RECORD_SUCCESS = """
UPDATE login_attempts SET failures = 0, locked_until = NULL, last_success_at = now()
WHERE account = $1 AND client_address = $2
"""
_PURGE = """
DELETE FROM login_attempts
WHERE last_attempt_at < now() - $1::interval
  AND (last_success_at IS NULL OR last_success_at < now() - $2::interval)
"""


@dataclass(frozen=True, slots=True)
class LoginAttempts:
    """What is known of one (account, address) pair and of its account, at ``now``."""

    now: datetime
    failures: int
    last_attempt_at: datetime | None
    locked_until: datetime | None
    last_success_at: datetime | None
    account_failures: int
    account_oldest_failure_at: datetime | None


async def lock_login_attempts(
    conn: asyncpg.Connection, account: bytes, address: bytes, window: timedelta
) -> LoginAttempts:
    """The pair's state and the account's failures within ``window``, holding the account's
    lock until the caller's transaction ends."""
    await conn.execute(_LOCK_ACCOUNT, account)
    pair = await conn.fetchrow(_PAIR, account, address)
    recent = await conn.fetchrow(_ACCOUNT_RECENT, account, window)
    if pair is None:
        now: datetime = await conn.fetchval("SELECT now()")
    else:
        now = pair["now"]
    return LoginAttempts(
        now=now,
        failures=0 if pair is None else pair["failures"],
        last_attempt_at=None if pair is None else pair["last_attempt_at"],
        locked_until=None if pair is None else pair["locked_until"],
        last_success_at=None if pair is None else pair["last_success_at"],
        account_failures=recent["failures"],
        account_oldest_failure_at=recent["oldest"],
    )


async def record_login_attempt(
    conn: asyncpg.Connection,
    account: bytes,
    address: bytes,
    failures: int,
    locked_until: datetime | None,
) -> None:
    await conn.execute(_RECORD_ATTEMPT, account, address, failures, locked_until)


async def record_login_success(
    conn: asyncpg.Pool | asyncpg.Connection, account: bytes, address: bytes
) -> None:
    await conn.execute(_RECORD_SUCCESS, account, address)


async def purge_login_attempts(
    conn: asyncpg.Pool | asyncpg.Connection, idle: timedelta, known_for: timedelta
) -> int:
    """Forget pairs idle for ``idle`` that have no success within ``known_for``; how many."""
    status: str = await conn.execute(_PURGE, idle, known_for)
    return int(status.rsplit(" ", 1)[-1])
