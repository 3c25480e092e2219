"""API keys: how they look, how they are hashed and checked, and what they may send.

A key reads ``opsa_<key id>_<secret>``. The id finds the stored row; only a SHA-256 of the secret
is stored, and it is compared in constant time. A key carries scopes, the sources it may send:
``logs``, ``events``, ``tickets:<source>``, ``tickets:*`` or ``*``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import asyncpg

from opsassist.api.problems import Forbidden, TooManyRequests, Unauthorized
from opsassist.api.webhooks.ratelimit import RateLimiter
from opsassist.store.api_keys import StoredApiKey, find_api_key

PREFIX = "opsa"
_KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{20,128}})$")
SCOPE = re.compile(r"^(\*|logs|events|tickets:(\*|[a-z0-9][a-z0-9_-]{0,49}))$")


class InvalidScope(ValueError):
    """A scope that is not one of the forms above."""


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key_id: str
    secret: str

    @property
    def token(self) -> str:
        """What the sender puts in ``Authorization: Bearer …``; shown once, never stored."""
        return f"{PREFIX}_{self.key_id}_{self.secret}"


def generate_api_key() -> NewApiKey:
    return NewApiKey(key_id=secrets.token_hex(6), secret=secrets.token_urlsafe(32))


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_api_key(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = _KEY.match(token.strip())
    return (match.group(1), match.group(2)) if match else None


def validate_scopes(scopes: list[str]) -> list[str]:
    bad = [s for s in scopes if not SCOPE.match(s)]
    if bad or not scopes:
        raise InvalidScope(
            f"invalid scope(s) {bad or scopes}: use logs, events, tickets:<source>, tickets:* or *"
        )
    return sorted(set(scopes))


def allows(scopes: tuple[str, ...] | list[str], wanted: str) -> bool:
    """Whether a key with ``scopes`` may send to the source ``wanted`` (e.g. ``tickets:jira``)."""
    if "*" in scopes or wanted in scopes:
        return True
    return wanted.startswith("tickets:") and "tickets:*" in scopes


def token_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated sender."""

    key_id: str
    name: str
    scopes: tuple[str, ...]

    def require(self, scope: str) -> None:
        if not allows(self.scopes, scope):
            raise Forbidden(
                f"API key {self.name!r} may not send {scope!r}; its scopes are "
                f"{', '.join(self.scopes)}"
            )


class ApiKeyAuthenticator:
    """Checks a presented key against the store (cached briefly) and the sender's rate limit."""

    def __init__(self, pool: asyncpg.Pool, limiter: RateLimiter, cache_seconds: float) -> None:
        self._pool = pool
        self._limiter = limiter
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, StoredApiKey | None]] = {}

    async def _lookup(self, key_id: str) -> StoredApiKey | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        stored = await find_api_key(self._pool, key_id)
        if len(self._cache) > 10_000:  # unknown ids could otherwise grow it without bound
            self._cache.clear()
        self._cache[key_id] = (now, stored)
        return stored

    async def authenticate(self, token: str | None) -> Caller:
        if token is None:
            raise Unauthorized(
                "no API key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
        parsed = parse_api_key(token)
        if parsed is None:
            raise Unauthorized(f"malformed API key: expected {PREFIX}_<id>_<secret>")
        key_id, secret = parsed
        stored = await self._lookup(key_id)
        if stored is None or not hmac.compare_digest(stored.secret_hash, hash_secret(secret)):
            raise Unauthorized("unknown API key")
        if not stored.active:
            raise Unauthorized(f"API key {stored.name!r} was revoked")
        wait = self._limiter.acquire(f"key:{key_id}")
        if wait is not None:
            raise TooManyRequests(
                f"API key {stored.name!r} is over its rate limit "
                f"({self._limiter.rate:g} requests/s, bursts of {self._limiter.burst})",
                retry_after=wait,
            )
        return Caller(key_id=stored.key_id, name=stored.name, scopes=stored.scopes)
