"""What every resolver of one request (or one subscription connection) shares: the database
pool, the settings, the authenticated viewer and the request's DataLoaders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from opsassist.api.graphql.login_throttle import LoginThrottle
from opsassist.api.graphql.sessions import InvalidToken, Sessions, Viewer
from opsassist.settings import Settings
from opsassist.store.history import changes_of
from opsassist.store.logs import summaries_by_ids
from opsassist.store.notifications import deliveries_of_incidents
from opsassist.store.ticket_comments import comments_of_tickets

if TYPE_CHECKING:
    from opsassist.api.graphql.change_feed import ChangeFeed


class Loaders:
    """Batch per request: however many entities a page shows, one query per kind of relation."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.ticket_changes = self._changes("ticket_changes")
        self.release_changes = self._changes("changelog_release_changes")
        self.user_changes = self._changes("user_changes")
        self.incident_changes = self._changes("incident_changes")
        self.template_changes = self._changes("log_template_changes")
        self.summaries = DataLoader(load_fn=self._summaries)
        self.ticket_comments = DataLoader(load_fn=self._ticket_comments)
        self.incident_notifications = DataLoader(load_fn=self._incident_notifications)

    def _changes(self, table: str) -> DataLoader[int, list[asyncpg.Record]]:
        async def load(ids: Sequence[int]) -> list[list[asyncpg.Record]]:
            grouped: dict[int, list[asyncpg.Record]] = defaultdict(list)
            for row in await changes_of(self._pool, table, list(ids)):
                grouped[row["entity_id"]].append(row)
            return [grouped[i] for i in ids]

        return DataLoader(load_fn=load)

    async def _ticket_comments(self, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
        grouped = await comments_of_tickets(self._pool, ids)
        return [grouped.get(i, []) for i in ids]

    async def _incident_notifications(self, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
        grouped = await deliveries_of_incidents(self._pool, list(ids))
        return [grouped.get(i, []) for i in ids]

    async def _summaries(self, ids: Sequence[int]) -> list[asyncpg.Record | None]:
        rows = {r["id"]: r for r in await summaries_by_ids(self._pool, list(ids))}
        return [rows.get(i) for i in ids]


class Context(BaseContext):
    def __init__(self, pool: asyncpg.Pool, settings: Settings, sessions: Sessions) -> None:
        super().__init__()
        self.pool = pool
        self.settings = settings
        self.sessions = sessions
        self.viewer: Viewer | None = None
        self.auth_error: str | None = None
        self.loaders = Loaders(pool)
        self.ticket_feed: ChangeFeed | None = None
        self.incident_feed: ChangeFeed | None = None
        #: the app's state (per-process objects such as the ticket workflow)
        self.app_state: Any = None
        self.login_throttle: LoginThrottle = LoginThrottle(settings)
        #: the caller's address as the server saw it (behind a proxy: X-Forwarded-For, from
        #: uvicorn's forwarded_allow_ips only)
        self.client_address = "unknown"

    def authenticate(self, authorization: Any) -> None:
        """Take the viewer from an ``Authorization: Bearer <access token>`` value, if any."""
        if not isinstance(authorization, str) or not authorization.strip():
            return
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self.auth_error = "use 'Authorization: Bearer <access token>'"
            return
        try:
            self.viewer = self.sessions.verify_access(token.strip())
        except InvalidToken as exc:
            self.auth_error = str(exc)

    def signed_in(self) -> Viewer:
        """The viewer, for resolvers that only a logged-in caller reaches (``check_root_access``
        refused everyone else before the resolver ran)."""
        if self.viewer is None:
            raise GraphQLError(
                self.unauthenticated_reason(), extensions={"code": "UNAUTHENTICATED"}
            )
        return self.viewer

    def change_feed(self, feed: ChangeFeed | None) -> ChangeFeed:
        """One of the app's change feeds, which the router sets on every subscription's context."""
        if feed is None:
            raise GraphQLError(
                "change notifications are not running in this process",
                extensions={"code": "SERVICE_UNAVAILABLE"},
            )
        return feed

    @property
    def role(self) -> str | None:
        return None if self.viewer is None else self.viewer.role

    def unauthenticated_reason(self) -> str:
        if self.auth_error:
            return self.auth_error
        return "log in first: send 'Authorization: Bearer <access token>' (mutation login)"
