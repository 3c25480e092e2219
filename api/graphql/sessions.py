"""Logins: bcrypt password hashes, short-lived access JWTs, rotating refresh tokens.

An access token is an HS256 JWT (``sub`` user id, ``role``, ``typ: access``, ``iss``, ``iat``,
``exp``); only HS256 is accepted, so ``alg: none`` and algorithm confusion fail, and the role
cannot change without the key. A refresh token (``<id>.<secret>``) is stored as a SHA-256 of its
secret; each use rotates it (the old one is spent, a new one is issued in the same family), and
a spent token used again revokes its whole family: whoever holds a leaked token loses it as soon
as either party uses it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import bcrypt
import jwt

from opsassist.store.users import (
    ROLES,
    StoredUser,
    find_user_with_password,
    insert_refresh_token,
    lock_refresh_token,
    mark_rotated,
    revoke_family,
    users_by_ids,
)

ISSUER = "opsassist"
ALGORITHM = "HS256"
# bcrypt reads at most 72 bytes; longer passwords would be silently truncated, so refuse them.
MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_LENGTH = 12
#: Verified access tokens remembered per process (all forgotten when it is full).
VERIFIED_TOKENS = 10_000


class InvalidToken(Exception):
    """An access or refresh token that does not authenticate anyone; the message says why."""


class RefreshTokenReused(InvalidToken):
    """A refresh token presented again after it was rotated: its family is now revoked."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated caller of a request."""

    user_id: int
    username: str
    role: str


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password has at least {MIN_PASSWORD_LENGTH} characters"
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return f"a password has at most {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)"
    return None


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def _secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class Sessions:
    """Issues and checks tokens. CPU-heavy bcrypt runs in a thread, off the event loop."""

    def __init__(
        self,
        secret: str,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        bcrypt_rounds: int,
    ) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.bcrypt_rounds = bcrypt_rounds
        self._verified: dict[str, tuple[float, Viewer]] = {}  # token -> (exp, viewer)
        # Compared against when the username is unknown, so that the answer takes as long.
        self._dummy_hash = hash_password(secrets.token_urlsafe(16), bcrypt_rounds).encode()

    async def hash_password(self, password: str) -> str:
        return await asyncio.to_thread(hash_password, password, self.bcrypt_rounds)

    def access_token(self, user: StoredUser, now: datetime | None = None) -> tuple[str, datetime]:
        now = now or datetime.now(UTC)
        expires = now + self.access_ttl
        claims = {
            "iss": ISSUER,
            "sub": str(user.id),
            "name": user.username,
            "role": user.role,
            "typ": "access",
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires

    def verify_access(self, token: str) -> Viewer:
        """The viewer a valid access token names. A token verified before is looked up until
        its ``exp`` (access tokens are not revocable: the answer cannot change before then);
        verifying the signature and claims took an eighth of a cached query's time."""
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known[0]:
                return known[1]
            del self._verified[token]
        viewer, expires = self._verify_access(token)
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = (expires, viewer)
        return viewer

    def _verify_access(self, token: str) -> tuple[Viewer, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "sub", "role", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the access token expired: use refresh for a new one") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"invalid access token ({exc})") from None
        if claims["typ"] != "access" or claims["role"] not in ROLES:
            raise InvalidToken("invalid access token (not an access token)")
        try:
            user_id = int(claims["sub"])
        except ValueError:
            raise InvalidToken("invalid access token (subject)") from None
        viewer = Viewer(user_id=user_id, username=str(claims.get("name", "")), role=claims["role"])
        return viewer, float(claims["exp"])

    async def login(self, pool: asyncpg.Pool, username: str, password: str) -> StoredUser | None:
        """The user these credentials prove, or None (unknown, wrong password or disabled)."""
        found = await find_user_with_password(pool, username)
        stored_hash = found[1].encode() if found else self._dummy_hash
        ok = await asyncio.to_thread(bcrypt.checkpw, password.encode()[:72], stored_hash)
        if not ok or found is None or not found[0].active:
            return None
        return found[0]

    async def issue(
        self,
        conn: asyncpg.Pool | asyncpg.Connection,
        user: StoredUser,
        family_id: str | None = None,
    ) -> TokenPair:
        """A new access token and a refresh token (a new family unless one is given)."""
        now = datetime.now(UTC)
        token_id, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(32)
        refresh_expires = now + self.refresh_ttl
        await insert_refresh_token(
            conn,
            token_id=token_id,
            family_id=family_id or uuid.uuid4().hex,
            user_id=user.id,
            secret_hash=_secret_hash(secret),
            expires_at=refresh_expires,
        )
        access, access_expires = self.access_token(user, now)
        return TokenPair(access, access_expires, f"{token_id}.{secret}", refresh_expires)

    async def logout(self, pool: asyncpg.Pool, refresh_token: str) -> bool:
        """Revoke the session (family) of ``refresh_token``; False if it is unknown or revoked."""
        token_id, _, secret = refresh_token.partition(".")
        async with pool.acquire() as conn, conn.transaction():
            stored = await lock_refresh_token(conn, token_id)
            if stored is None or not hmac.compare_digest(stored.secret_hash, _secret_hash(secret)):
                return False
            if stored.revoked_at is not None:
                return False
            await revoke_family(conn, stored.family_id, "logout")
            return True

    async def refresh(self, pool: asyncpg.Pool, refresh_token: str) -> tuple[StoredUser, TokenPair]:
        """Spend ``refresh_token`` for a new pair; raise :class:`InvalidToken` if it cannot be."""
        token_id, _, secret = refresh_token.partition(".")
        failure: InvalidToken
        async with pool.acquire() as conn, conn.transaction():
            stored = await lock_refresh_token(conn, token_id)
            if stored is None or not hmac.compare_digest(stored.secret_hash, _secret_hash(secret)):
                raise InvalidToken("unknown refresh token")
            if stored.revoked_at is not None:
                raise InvalidToken("the refresh token was revoked: log in again")
            if stored.expires_at <= datetime.now(UTC):
                raise InvalidToken("the refresh token expired: log in again")
            users = await users_by_ids(conn, [stored.user_id])
            if stored.rotated_at is not None:
                await revoke_family(conn, stored.family_id, "a rotated refresh token was reused")
                failure = RefreshTokenReused(
                    "this refresh token was already used; every session it started is revoked: "
                    "log in again"
                )
            elif not users or not users[0].active:
                await revoke_family(conn, stored.family_id, "the account is disabled")
                failure = InvalidToken("the account is disabled")
            else:
                await mark_rotated(conn, stored.id)
                return users[0], await self.issue(conn, users[0], stored.family_id)
        # Raised after the commit, so that the revocation stays.
        raise failure
