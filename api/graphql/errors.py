"""The expected failures of mutations, as types a client selects on (never stack traces)."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="A failure the caller can act on; message says what to do.")
class UserError:
    message: str


@strawberry.type
class ValidationFailed(UserError):
    field: str | None = None


@strawberry.type
class Conflict(UserError):
    pass


@strawberry.type
class NotFound(UserError):
    pass


@strawberry.type(description="Wrong credentials or an invalid, expired or revoked token.")
class Unauthorized(UserError):
    pass


@strawberry.type(description="The caller's role may not do this.")
class Forbidden(UserError):
    pass


@strawberry.type(description="Too many failed logins: retry after retryAfterSeconds.")
class LoginThrottled(UserError):
    retry_after_seconds: int
