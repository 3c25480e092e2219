"""Notification delivery attempts over HTTP: an admin lists them newest first, pages through
them and filters them by incident, route and status, and reads an incident's own attempts;
ops and hr are refused (the routes say who gets paged, the errors are receivers')."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest

from opsassist.store.notifications import DeliveryAttempt, record_attempt
from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import T0, as_user, create_user, insert_incident, on_database

pytestmark = pytest.mark.integration

LIST = """
query ($first: Int, $after: String, $incident: ID, $route: String,
       $status: DeliveryStatus) {
  notificationDeliveries(first: $first, after: $after, incidentId: $incident, route: $route,
                         status: $status) {
    pageInfo { hasNextPage endCursor }
    nodes { incidentId route transition attempt status httpStatus error at }
  }
}
"""
OF_INCIDENT = """
query ($id: ID!) { incident(id: $id) { id notifications { route attempt status } } }
"""


def _attempts(database_url: str) -> tuple[int, int]:
    """Two incidents' attempts, written as the notifier writes them, oldest first: payments'
    Slack route failing once then delivering and its PagerDuty route delivering; search's
    webhook giving up."""

    async def run(conn: asyncpg.Connection) -> tuple[int, int]:
        payments = await insert_incident(conn, "pay-1", "payments-api", T0)
        search = await insert_incident(conn, "search-1", "search", T0)
        for incident, route, attempt, status, http_status, error in (
            (payments, "slack", 1, "failed", 503, "HTTP 503 from the receiver"),
            (payments, "slack", 2, "delivered", 200, None),
            (payments, "pagerduty", 1, "delivered", 202, None),
            (search, "webhook", 5, "dead_lettered", None, "connection refused"),
        ):
            delivery = DeliveryAttempt(
                f"{incident}:1:{route}", incident, route, "opened", 0, attempt, status,
                http_status, error,
            )  # fmt: skip
            await record_attempt(conn, delivery)
        return payments, search

    return on_database(database_url, run)


def test_an_admin_pages_and_filters_delivery_attempts_and_others_are_refused(
    graphql_api: Callable[..., GraphqlApiProcess], database_url: str
) -> None:
    for name, role in (("ada", "admin"), ("olivia", "ops"), ("harriet", "hr")):
        create_user(database_url, name, role)
    payments, search = _attempts(database_url)
    api = graphql_api()
    api.start()
    admin = as_user(api.graphql_url, "ada")

    first = admin.run(LIST, first=3)["notificationDeliveries"]
    assert [(n["route"], n["attempt"], n["status"]) for n in first["nodes"]] == [
        ("webhook", 5, "DEAD_LETTERED"),
        ("pagerduty", 1, "DELIVERED"),
        ("slack", 2, "DELIVERED"),
    ]
    assert first["nodes"][0]["incidentId"] == str(search)
    assert first["nodes"][0]["error"] == "connection refused"
    assert first["pageInfo"]["hasNextPage"] is True
    rest = admin.run(LIST, first=3, after=first["pageInfo"]["endCursor"])
    [oldest] = rest["notificationDeliveries"]["nodes"]
    assert (oldest["route"], oldest["attempt"], oldest["httpStatus"]) == ("slack", 1, 503)
    assert oldest["error"] == "HTTP 503 from the receiver"
    assert rest["notificationDeliveries"]["pageInfo"]["hasNextPage"] is False

    def routes(**filters: object) -> list[tuple[str, int]]:
        nodes = admin.run(LIST, **filters)["notificationDeliveries"]["nodes"]
        return [(n["route"], n["attempt"]) for n in nodes]

    assert routes(incident=str(payments)) == [("pagerduty", 1), ("slack", 2), ("slack", 1)]
    assert routes(route="slack") == [("slack", 2), ("slack", 1)]
    assert routes(status="FAILED") == [("slack", 1)]
    assert routes(incident=str(search), status="DELIVERED") == []
    assert admin.codes(LIST, incident="not-a-number") == ["BAD_USER_INPUT"]

    # an incident's own attempts, oldest first
    incident = admin.run(OF_INCIDENT, id=str(payments))["incident"]
    assert incident["notifications"] == [
        {"route": "slack", "attempt": 1, "status": "FAILED"},
        {"route": "slack", "attempt": 2, "status": "DELIVERED"},
        {"route": "pagerduty", "attempt": 1, "status": "DELIVERED"},
    ]

    for name in ("olivia", "harriet"):
        other = as_user(api.graphql_url, name)
        assert other.codes(LIST) == ["FORBIDDEN"]
        seen = other.run(OF_INCIDENT, id=str(payments))["incident"]
        assert seen == {"id": str(payments), "notifications": None}
