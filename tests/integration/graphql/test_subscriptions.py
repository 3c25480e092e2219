"""Ticket changes pushed over graphql-transport-ws, fed by PostgreSQL LISTEN/NOTIFY, masked per
subscriber."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import create_user, insert_ticket, login

pytestmark = pytest.mark.integration

SUBSCRIPTION = """
subscription ($ids: [ID!]) {
  ticketChanges(ticketIds: $ids) {
    ticket { externalId status reporterId title maskedFields }
    change { version changedBy changes { field before after masked } }
  }
}
"""


def _transport(
    api: GraphqlApiProcess, token: str | None, in_header: bool = False
) -> WebsocketsTransport:
    """A graphql-transport-ws client sending the token in connection_init, or as a header of
    the WebSocket handshake."""
    url = api.graphql_url.replace("http://", "ws://")
    authorization = {"Authorization": f"Bearer {token}"} if token else {}
    return WebsocketsTransport(
        url=url,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={} if in_header else authorization,
        headers=authorization if in_header else None,
    )


async def _first_change(
    api: GraphqlApiProcess, token: str, ticket_id: int, in_header: bool = False
) -> dict[str, Any]:
    async with Client(transport=_transport(api, token, in_header)) as session:
        request = gql(SUBSCRIPTION)
        request.variable_values = {"ids": [str(ticket_id)]}
        async for result in session.subscribe(request):
            return result["ticketChanges"]
    raise AssertionError("the subscription ended without a change")


async def _keep_changing(database_url: str, ticket_id: int, stop: asyncio.Event) -> None:
    """Change the ticket until a subscriber saw a change (it may subscribe after the first)."""
    conn = await asyncpg.connect(database_url)
    try:
        n = 0
        while not stop.is_set():
            n += 1
            await conn.execute(
                "UPDATE tickets SET status = $2, changed_by = 'agent:test' WHERE id = $1",
                ticket_id,
                f"step-{n}",
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.3)
    finally:
        await conn.close()


async def test_subscribers_see_ticket_changes_masked_for_their_role(
    graphql_api: Callable[..., GraphqlApiProcess], database_url: str
) -> None:
    await asyncio.to_thread(create_user, database_url, "olivia", "ops")
    await asyncio.to_thread(create_user, database_url, "harriet", "hr")
    conn = await asyncpg.connect(database_url)
    try:
        ticket_id = await insert_ticket(conn, "HR-7", category="hr", title="Salary question")
        other_id = await insert_ticket(conn, "BUG-7")
    finally:
        await conn.close()
    api = graphql_api()
    await asyncio.to_thread(api.start)
    ops_token = (await asyncio.to_thread(login, api.graphql_url, "olivia"))["accessToken"]
    hr_token = (await asyncio.to_thread(login, api.graphql_url, "harriet"))["accessToken"]

    stop = asyncio.Event()
    changer = asyncio.create_task(_keep_changing(database_url, ticket_id, stop))
    other = asyncio.create_task(_keep_changing(database_url, other_id, stop))
    try:
        seen = await asyncio.wait_for(
            asyncio.gather(
                _first_change(api, ops_token, ticket_id),
                _first_change(api, hr_token, ticket_id, in_header=True),
            ),
            timeout=60,
        )
    finally:
        stop.set()
        await asyncio.gather(changer, other)
    for change, role in zip(seen, ("ops", "hr"), strict=True):
        assert change["ticket"]["externalId"] == "HR-7"  # the filter kept BUG-7 out
        assert change["change"]["changedBy"] == "agent:test"
        assert change["change"]["version"] >= 2
        status = [c for c in change["change"]["changes"] if c["field"] == "status"]
        assert status and status[0]["after"].startswith("step-")
        if role == "ops":
            assert change["ticket"]["reporterId"] is None
            assert change["ticket"]["title"] is None
            assert set(change["ticket"]["maskedFields"]) == {
                "title",
                "body",
                "reporterId",
                "labels",
                "correction",
                "comments",  # the conversation (issue 29), masked as the body
            }
        else:
            assert change["ticket"]["reporterId"] == "jane.doe@example.com"
            assert change["ticket"]["title"] == "Salary question"


async def test_a_subscription_needs_a_login(
    graphql_api: Callable[..., GraphqlApiProcess],
) -> None:
    api = graphql_api()
    await asyncio.to_thread(api.start)
    async with Client(transport=_transport(api, None)) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(gql(SUBSCRIPTION)):
                pass
    assert "log in" in str(refused.value)


async def test_a_lost_notification_connection_ends_subscriptions_and_recovers(
    graphql_api: Callable[..., GraphqlApiProcess], database_url: str
) -> None:
    await asyncio.to_thread(create_user, database_url, "olivia", "ops")
    conn = await asyncpg.connect(database_url)
    try:
        ticket_id = await insert_ticket(conn, "BUG-9")
    finally:
        await conn.close()
    api = graphql_api()
    await asyncio.to_thread(api.start)
    token = (await asyncio.to_thread(login, api.graphql_url, "olivia"))["accessToken"]

    async def subscribe_until_lost() -> str:
        async with Client(transport=_transport(api, token)) as session:
            request = gql(SUBSCRIPTION)
            request.variable_values = {"ids": [str(ticket_id)]}
            seen = 0
            try:
                async for _ in session.subscribe(request):
                    seen += 1
                    if seen == 1:  # listening for sure: cut the API's LISTEN connection
                        killer = await asyncpg.connect(database_url)
                        try:
                            await killer.execute(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE application_name = 'opsassist-listen' "
                                "AND datname = current_database()"
                            )
                        finally:
                            await killer.close()
            except TransportQueryError as exc:
                return str(exc)
        raise AssertionError("the subscription ended without an error")

    stop = asyncio.Event()
    changer = asyncio.create_task(_keep_changing(database_url, ticket_id, stop))
    try:
        error = await asyncio.wait_for(subscribe_until_lost(), timeout=60)
        assert "subscribe again" in error and "UNAVAILABLE" in error
        # a new subscription listens again
        again = await asyncio.wait_for(_first_change(api, token, ticket_id), timeout=60)
    finally:
        stop.set()
        await changer
    assert again["ticket"]["externalId"] == "BUG-9"


async def test_a_change_that_takes_a_ticket_out_of_hr_does_not_show_ops_its_hr_text(
    graphql_api: Callable[..., GraphqlApiProcess], database_url: str
) -> None:
    await asyncio.to_thread(create_user, database_url, "olivia", "ops")
    conn = await asyncpg.connect(database_url)
    try:
        ticket_id = await insert_ticket(
            conn, "HR-8", category="hr", title="Complaint", body="My manager shouts at me"
        )
    finally:
        await conn.close()
    api = graphql_api()
    await asyncio.to_thread(api.start)
    token = (await asyncio.to_thread(login, api.graphql_url, "olivia"))["accessToken"]
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def subscribe() -> None:
        async with Client(transport=_transport(api, token)) as session:
            request = gql(SUBSCRIPTION)
            request.variable_values = {"ids": [str(ticket_id)]}
            async for result in session.subscribe(request):
                await seen.put(result["ticketChanges"])

    subscriber = asyncio.create_task(subscribe())
    try:
        # status changes until the subscriber sees one: from then on it is listening
        stop = asyncio.Event()
        changer = asyncio.create_task(_keep_changing(database_url, ticket_id, stop))
        try:
            await asyncio.wait_for(seen.get(), timeout=60)
        finally:
            stop.set()
            await changer
        conn = await asyncpg.connect(database_url)
        try:
            out_of_hr = await conn.fetchval(
                "UPDATE tickets SET category = 'bug', title = 'Chair broken', body = 'Wobbles' "
                "WHERE id = $1 RETURNING version",
                ticket_id,
            )
        finally:
            await conn.close()
        change = await asyncio.wait_for(seen.get(), timeout=60)
        while change["change"]["version"] != out_of_hr:  # status changes still queued
            change = await asyncio.wait_for(seen.get(), timeout=60)
    finally:
        subscriber.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await subscriber
    text = [c for c in change["change"]["changes"] if c["field"] in ("title", "body")]
    assert len(text) == 2 and all(c["masked"] and c["after"] is None for c in text), text
    assert "shouts" not in str(change) and "Complaint" not in str(change), change
