"""The one place that turns errors into problem details, on a small app of its own."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from opsassist.api.problems import Forbidden, install_problem_handlers


def app() -> FastAPI:
    application = FastAPI()
    install_problem_handlers(application)

    @application.get("/forbidden")
    async def forbidden() -> None:
        raise Forbidden("not your source", extensions={"scope": "tickets:jira"})

    @application.get("/database")
    async def database() -> None:
        raise asyncpg.PostgresConnectionError("connection refused")

    @application.get("/validated")
    async def validated(n: int = Query()) -> int:
        return n

    return application


def test_problems_validation_errors_and_unknown_routes_are_problem_json() -> None:
    client = TestClient(app())
    forbidden = client.get("/forbidden")
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    assert forbidden.json() == {
        "type": "urn:opsassist:problem:forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "not your source",
        "instance": "/forbidden",
        "scope": "tickets:jira",
    }
    invalid = client.get("/validated?n=abc")
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["location"] == "query.n"
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:opsassist:problem:not-found"


def test_an_unreachable_database_is_a_503_with_retry_after_not_a_500() -> None:
    response = TestClient(app()).get("/database")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "nothing was queued" in response.json()["detail"]
