"""Users, logins and API keys: the types, the admin queries and the auth mutations."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import strawberry
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.errors import (
    Conflict,
    Forbidden,
    LoginThrottled,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from opsassist.api.graphql.history import Version, versions
from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.pagination import Connection, connection, page_request
from opsassist.api.graphql.sessions import InvalidToken, TokenPair, password_problem
from opsassist.api.graphql.time_travel import row_as_of, rows_as_of_page
from opsassist.api.webhooks.auth import InvalidScope, generate_api_key, hash_secret, validate_scopes
from opsassist.store.api_keys import (
    DuplicateKeyName,
    StoredApiKey,
    find_api_key,
    insert_api_key,
    list_api_keys,
    revoke_api_key,
)
from opsassist.store.history import Actor, set_actor
from opsassist.store.users import (
    DuplicateUsername,
    StoredUser,
    insert_user,
    users_by_ids,
    users_page,
)

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")


@strawberry.enum
class Role(enum.Enum):
    ADMIN = "admin"
    OPS = "ops"
    HR = "hr"


@strawberry.type
class User:
    id: strawberry.ID
    username: str
    role: Role
    created_at: datetime
    disabled: bool
    version: int
    _row_id: strawberry.Private[int]

    @strawberry.field(description="Every version (role changes, disabling), oldest first.")
    async def history(self, info: Info[Context, None]) -> list[Version]:
        changes = await info.context.loaders.user_changes.load(self._row_id)
        return versions(changes, info.context.role, lambda f: ("User", f, self))

    @classmethod
    def from_stored(cls, user: StoredUser) -> User:
        return cls(
            id=strawberry.ID(str(user.id)),
            username=user.username,
            role=Role(user.role),
            created_at=user.created_at,
            disabled=not user.active,
            version=user.version,
            _row_id=user.id,
        )

    @classmethod
    def from_past(cls, row: Mapping[str, Any]) -> User:
        """The user of a past state (``time_travel.past_row``)."""
        return cls.from_stored(
            StoredUser(
                id=row["id"],
                username=row["username"],
                role=row["role"],
                created_at=row["created_at"],
                disabled_at=row["disabled_at"],
                version=row["version"],
            )
        )


@strawberry.type(description="An API key of a webhook sender (never its secret).")
class ApiKey:
    id: strawberry.ID
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_stored(cls, key: StoredApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(key.key_id),
            name=key.name,
            scopes=list(key.scopes),
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


@strawberry.type(description="Tokens of a session: send the access token as a Bearer token.")
class AuthPayload:
    user: User
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str = strawberry.field(
        description="Spend it with refresh for a new pair; it works once."
    )
    refresh_token_expires_at: datetime

    @classmethod
    def of(cls, user: StoredUser, tokens: TokenPair) -> AuthPayload:
        return cls(
            user=User.from_stored(user),
            access_token=tokens.access_token,
            access_token_expires_at=tokens.access_token_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=tokens.refresh_token_expires_at,
        )


@strawberry.type
class SignupSuccess:
    user: User


@strawberry.type
class ApiKeyCreated:
    api_key: ApiKey
    token: str = strawberry.field(description="The key as senders present it; shown only once.")


@strawberry.type
class ApiKeyRevoked:
    api_key: ApiKey


@strawberry.type
class LoggedOut:
    message: str


SignupResult = Annotated[
    SignupSuccess | ValidationFailed | Conflict | Forbidden, strawberry.union("SignupResult")
]
LoginResult = Annotated[
    AuthPayload | Unauthorized | LoginThrottled, strawberry.union("LoginResult")
]
LogoutResult = Annotated[LoggedOut | Unauthorized, strawberry.union("LogoutResult")]
CreateApiKeyResult = Annotated[
    ApiKeyCreated | ValidationFailed | Conflict, strawberry.union("CreateApiKeyResult")
]
RevokeApiKeyResult = Annotated[ApiKeyRevoked | NotFound, strawberry.union("RevokeApiKeyResult")]


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The logged-in user.")
    async def viewer(self, info: Info[Context, None]) -> User | None:
        found = await users_by_ids(info.context.pool, [info.context.signed_in().user_id])
        return User.from_stored(found[0]) if found else None

    @strawberry.field(description="Users by id (admin only).")
    async def users(
        self,
        info: Info[Context, None],
        *,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="The users that existed at this time, as they were then (forwards "
                "only)."
            ),
        ] = None,
    ) -> Connection[User]:
        request = page_request(info, first, after, last, before)
        pool = info.context.pool
        if as_of is not None:
            return await connection(
                info,
                lambda req, size: rows_as_of_page(pool, "users", as_of, req, size),
                request,
                User.from_past,
            )
        return await connection(
            info,
            lambda req, size: users_page(pool, req, size),
            request,
            User.from_stored,
        )

    @strawberry.field(description="One user (admin only).")
    async def user(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="The user as they were at this time; null if they did not exist yet."
            ),
        ] = None,
    ) -> User | None:
        key = int_id(id)
        if key is not None and as_of is not None:
            past = await row_as_of(info.context.pool, "users", key, as_of)
            return User.from_past(past) if past is not None else None
        found = [] if key is None else await users_by_ids(info.context.pool, [key])
        return User.from_stored(found[0]) if found else None

    @strawberry.field(description="The webhook senders' API keys (admin only).")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        return [ApiKey.from_stored(k) for k in await list_api_keys(info.context.pool)]


def _signup_problem(username: str, password: str) -> ValidationFailed | None:
    if not USERNAME.match(username):
        return ValidationFailed(
            message="a username has 2 to 64 letters, digits or . _ @ - and starts with a "
            "letter or digit",
            field="username",
        )
    problem = password_problem(password)
    return None if problem is None else ValidationFailed(message=problem, field="password")


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Create an account. An admin may give any role; anyone else may sign up "
        "only when open signup is enabled, and then gets the ops role."
    )
    async def signup(
        self, info: Info[Context, None], username: str, password: str, role: Role | None = None
    ) -> SignupResult:
        context = info.context
        if context.role == "admin":
            granted = role or Role.OPS
        elif not context.settings.graphql_open_signup:
            return Forbidden(message="signup is closed: an admin creates accounts")
        elif role not in (None, Role.OPS):
            return Forbidden(message="only an admin may give the admin or hr role")
        else:
            granted = Role.OPS
        problem = _signup_problem(username, password)
        if problem is not None:
            return problem
        password_hash = await context.sessions.hash_password(password)
        by = f"user:{context.viewer.username}" if context.viewer else f"signup:{username}"
        try:
            async with context.pool.acquire() as conn, conn.transaction():
                await set_actor(conn, Actor(by))
                user = await insert_user(conn, username, granted.value, password_hash, by)
        except DuplicateUsername as exc:
            return Conflict(message=str(exc))
        return SignupSuccess(user=User.from_stored(user))

    @strawberry.mutation(
        description="Exchange a username and password for tokens. Failed logins are throttled "
        "per account and client address (each aliased login counts): LoginThrottled says when "
        "to retry."
    )
    async def login(self, info: Info[Context, None], username: str, password: str) -> LoginResult:
        context = info.context
        throttle = context.login_throttle
        wait = await throttle.admit(context.pool, username, context.client_address)
        if wait is not None:
            if context.response is not None:
                context.response.headers["Retry-After"] = str(wait)
            return LoginThrottled(
                message=f"too many failed logins; retry in {wait} s", retry_after_seconds=wait
            )
        user = await context.sessions.login(context.pool, username, password)
        if user is None:
            return Unauthorized(message="wrong username or password")
        await throttle.succeeded(context.pool, username, context.client_address)
        return AuthPayload.of(user, await context.sessions.issue(context.pool, user))

    @strawberry.mutation(
        description="Spend a refresh token for a new pair. A refresh token used twice revokes "
        "every token of its session."
    )
    async def refresh(self, info: Info[Context, None], refresh_token: str) -> LoginResult:
        context = info.context
        try:
            user, tokens = await context.sessions.refresh(context.pool, refresh_token)
        except InvalidToken as exc:
            return Unauthorized(message=str(exc))
        return AuthPayload.of(user, tokens)

    @strawberry.mutation(description="End the session of a refresh token (all its rotations).")
    async def logout(self, info: Info[Context, None], refresh_token: str) -> LogoutResult:
        if not await info.context.sessions.logout(info.context.pool, refresh_token):
            return Unauthorized(message="unknown or already revoked refresh token")
        return LoggedOut(message="the session's refresh tokens are revoked")

    @strawberry.mutation(description="Create an API key for a webhook sender (admin only).")
    async def create_api_key(
        self, info: Info[Context, None], name: str, scopes: list[str]
    ) -> CreateApiKeyResult:
        if not name.strip() or len(name) > 100:
            return ValidationFailed(message="a name has 1 to 100 characters", field="name")
        try:
            valid = validate_scopes(scopes)
        except InvalidScope as exc:
            return ValidationFailed(message=str(exc), field="scopes")
        key = generate_api_key()
        try:
            stored = await insert_api_key(
                info.context.pool, key.key_id, name, hash_secret(key.secret), valid
            )
        except DuplicateKeyName as exc:
            return Conflict(message=str(exc))
        return ApiKeyCreated(api_key=ApiKey.from_stored(stored), token=key.token)

    @strawberry.mutation(description="Revoke an API key by id or name (admin only).")
    async def revoke_api_key(self, info: Info[Context, None], key: str) -> RevokeApiKeyResult:
        pool: asyncpg.Pool = info.context.pool
        revoked = await revoke_api_key(pool, key)
        if not revoked:
            return NotFound(message=f"no active API key has the id or name {key!r}")
        stored = await find_api_key(pool, revoked[0])
        assert stored is not None
        return ApiKeyRevoked(api_key=ApiKey.from_stored(stored))
