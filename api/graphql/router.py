"""The ``/graphql`` route on the FastAPI app: HTTP queries and mutations, graphql-transport-ws
subscriptions, and GraphiQL only where enabled."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import structlog
from fastapi.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.graphql.context import Context
from api.graphql.schema import build_schema
from api.graphql.sessions import Sessions
from opsassist.settings import Settings

log = structlog.get_logger(__name__)


def sessions_from_settings(settings: Settings) -> Sessions:
    secret = settings.graphql_jwt_secret.get_secret_value()
    if not secret:
        # Tokens then die with the process and differ between replicas: fine for a laptop.
        log.warning("graphql_jwt_secret_unset", hint="set OPSASSIST_GRAPHQL_JWT_SECRET")
        secret = secrets.token_urlsafe(48)
    return Sessions(
        secret=secret,
        access_ttl=timedelta(minutes=settings.graphql_access_token_minutes),
        refresh_ttl=timedelta(days=settings.graphql_refresh_token_days),
        bcrypt_rounds=settings.graphql_bcrypt_rounds,
    )


class _Router(GraphQLRouter[Context, None]):
    async def on_ws_connect(self, context: Context) -> dict[str, Any] | None:
        # Browsers cannot set headers on a WebSocket: the token may come in connection_init.
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = params.get("Authorization") or params.get("authorization")
        if authorization is not None:
            context.authenticate(authorization)
        return None


def graphql_router(settings: Settings) -> GraphQLRouter[Context, None]:
    sessions = sessions_from_settings(settings)

    async def context(connection: HTTPConnection) -> Context:
        state = connection.app.state
        ctx = Context(state.pool, settings, sessions)
        ctx.ticket_feed = state.ticket_feed
        ctx.incident_feed = state.incident_feed
        ctx.app_state = state
        ctx.authenticate(connection.headers.get("authorization"))
        return ctx

    graphiql = settings.graphql_graphiql or not settings.graphql_production
    return _Router(
        build_schema(settings),
        graphql_ide="graphiql" if graphiql else None,
        allow_queries_via_get=False,  # no state-changing or costly work from a cross-site GET
        context_getter=context,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
    )
