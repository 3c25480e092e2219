"""RFC 9457 problem details: the errors the webhook endpoints raise, and the one place that turns
them (and FastAPI's own 404/405/422) into ``application/problem+json`` answers."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsassist.api.security_headers import COMMON_HEADERS, DATA_CSP

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: Problem types are URNs: stable identifiers that need no web page to resolve.
TYPE_PREFIX = "urn:opsassist:problem:"


class Problem(Exception):
    """An answer that is not a success. Subclasses fix the status and the type."""

    status: int = 400
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = dict(extensions or {})
        self.headers = dict(headers or {})

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.slug

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


class Unauthorized(Problem):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: str, *, scheme: str = "Bearer") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": scheme})


class Forbidden(Problem):
    status, slug = 403, "forbidden"


class Conflict(Problem):
    status, slug = 409, "conflict"


class PayloadTooLarge(Problem):
    status, slug = 413, "payload-too-large"


class UnsupportedMediaType(Problem):
    status, slug = 415, "unsupported-media-type"


class Unprocessable(Problem):
    status, slug = 422, "unprocessable"


class IdempotencyKeyReused(Problem):
    """The same idempotency key came back with a different request body."""

    status, slug = 422, "idempotency-key-reused"


class TooManyRequests(Problem):
    status, slug = 429, "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(Problem):
    """Nothing was durably queued; the sender should retry after ``retry_after`` seconds."""

    status, slug = 503, "kafka-unavailable"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def problem_body(
    status: int, slug: str, detail: str, instance: str | None, extensions: Mapping[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + slug,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if k not in body})
    return body


def problem_response(
    status: int,
    slug: str,
    detail: str,
    request: Request | None = None,
    *,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    instance = request.url.path if request is not None else None
    return JSONResponse(
        problem_body(status, slug, detail, instance, extensions or {}),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [
        {
            "location": ".".join(str(part) for part in err.get("loc", ())),
            "reason": str(err.get("msg", "invalid")),
        }
        for err in exc.errors()
    ]


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status, exc.slug, exc.detail, request, extensions=exc.extensions, headers=exc.headers
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    detail = "; ".join(f"{e['location']}: {e['reason']}" for e in errors[:5])
    return problem_response(422, "unprocessable", detail, request, extensions={"errors": errors})


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-").replace("'", "")
    return problem_response(
        exc.status_code, slug, str(exc.detail), request, headers=exc.headers or {}
    )


async def _on_database_unreachable(request: Request, exc: Exception) -> JSONResponse:
    # API keys and idempotency keys live in PostgreSQL: without it nothing is queued either.
    return problem_response(
        503,
        "database-unavailable",
        f"PostgreSQL is unreachable, nothing was queued: {type(exc).__name__}",
        request,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


DATABASE_RETRY_AFTER_SECONDS = 5


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette answers this outside every middleware (then re-raises for the server to log):
    # the security headers are added here, and the details go to our log, not to the caller.
    log.error(
        "unexpected_error",
        method=request.method,
        path=request.url.path,
        error=type(exc).__name__,
        exc_info=exc,
    )
    return problem_response(
        500,
        "internal-error",
        "the request failed on an unexpected error; it is logged",
        request,
        headers={**COMMON_HEADERS, "Content-Security-Policy": DATA_CSP},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Every error the app answers becomes problem details, in this one place."""
    app.add_exception_handler(Problem, _on_problem)
    for error in (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError):
        app.add_exception_handler(error, _on_database_unreachable)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)


#: OpenAPI description of a problem answer, for the ``responses`` of the routes.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }
