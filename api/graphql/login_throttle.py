"""Login throttling: how many password guesses an account gets, from one address and from all.

Per (account, client address): ``free`` failures, then each further attempt waits twice as long
as the one before, up to a cap; a success from that address clears it. That slows a guesser to a
handful of tries per hour, and since the lock is keyed by address too, a guesser elsewhere
cannot lock the account's owner out. Per account: at most ``ceiling`` failures within ``window``
from all addresses together, which bounds a guesser who rotates addresses; addresses that
logged in to the account within ``known_for`` are exempt, so the owner's usual address keeps
working while someone else spends the ceiling. Every attempt is counted before the password is
checked, in PostgreSQL under a per-account lock: parallel requests, aliased ``login`` fields
and several API processes all count against the same budget.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

import asyncpg

from opsassist.settings import Settings
from opsassist.store.login_attempts import (
    LoginAttempts,
    lock_login_attempts,
    purge_login_attempts,
    record_login_attempt,
    record_login_success,
)

#: Failures older than this are forgotten (and their rows purged, unless the address is known).
FORGET_AFTER = timedelta(days=1)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


class LoginThrottle:
    def __init__(self, settings: Settings) -> None:
        self.free = settings.graphql_login_free_failures
        self.backoff = timedelta(seconds=settings.graphql_login_backoff_seconds)
        self.backoff_max = timedelta(seconds=settings.graphql_login_backoff_max_seconds)
        self.ceiling = settings.graphql_login_account_ceiling
        self.window = timedelta(seconds=settings.graphql_login_account_window_seconds)
        self.known_for = timedelta(days=settings.graphql_login_known_address_days)

    @staticmethod
    def _keys(username: str, address: str) -> tuple[bytes, bytes]:
        # Usernames match without case (store/users.py): so does their budget.
        return _digest(username.lower()), _digest(address)

    def lock_after(self, attempt: int) -> timedelta:
        """How long the pair waits after its ``attempt``-th consecutive attempt fails."""
        if attempt < self.free:
            return timedelta(0)
        return min(self.backoff * (1 << min(attempt - self.free, 32)), self.backoff_max)

    def _refusal(self, state: LoginAttempts) -> int | None:
        now = state.now
        if state.locked_until is not None and state.locked_until > now:
            return _seconds_until(state.locked_until, now)
        known = state.last_success_at is not None and state.last_success_at > now - self.known_for
        if not known and state.account_failures >= self.ceiling:
            oldest = state.account_oldest_failure_at or now
            return _seconds_until(oldest + self.window, now)
        return None

    async def admit(self, pool: asyncpg.Pool, username: str, address: str) -> int | None:
        """Count one attempt, before the password is checked: None when it may go ahead, else
        the seconds to wait (nothing is counted then)."""
        account, client = self._keys(username, address)
        async with pool.acquire() as conn, conn.transaction():
            state = await lock_login_attempts(conn, account, client, self.window)
            refusal = self._refusal(state)
            if refusal is not None:
                return refusal
            recent = (
                state.last_attempt_at is not None
                and state.last_attempt_at > state.now - FORGET_AFTER
            )
            attempt = (state.failures if recent else 0) + 1
            lock = self.lock_after(attempt)
            locked_until = state.now + lock if lock else None
            await record_login_attempt(conn, account, client, attempt, locked_until)
        return None

    async def succeeded(self, pool: asyncpg.Pool, username: str, address: str) -> None:
        """The attempt proved the password: the address is known and its failures cleared."""
        await record_login_success(pool, *self._keys(username, address))

    async def purge(self, pool: asyncpg.Pool) -> int:
        return await purge_login_attempts(pool, FORGET_AFTER, self.known_for)
