"""The ``/graphql`` route on the FastAPI app: HTTP queries and mutations, graphql-transport-ws
subscriptions, and GraphiQL only where enabled."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import cross_web
import orjson
import structlog
from fastapi.requests import HTTPConnection
from fastapi.responses import Response
from graphql import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult

from opsassist.api.bodies import json_body
from opsassist.api.graphql.context import Context
from opsassist.api.graphql.limits import query_too_long
from opsassist.api.graphql.login_throttle import LoginThrottle
from opsassist.api.graphql.response_cache import CACHE_HEADER, RESPONSES, ResponseCache
from opsassist.api.graphql.schema import build_schema
from opsassist.api.graphql.sessions import Sessions
from opsassist.api.problems import PayloadTooLarge
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


class _TransportWs(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the query length limit of HTTP requests (the message size is
    uvicorn's ws_max_size): a longer subscription gets an error message, before any parsing."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        query = message["payload"].get("query") or ""
        max_chars = self.view.max_query_chars  # type: ignore[attr-defined]
        if len(query) > max_chars:
            error = GraphQLError(query_too_long(len(query), max_chars))
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)


class _Router(GraphQLRouter[Context, None]):
    graphql_transport_ws_handler_class = _TransportWs

    def __init__(
        self, *args: Any, response_cache: ResponseCache, max_query_chars: int, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.response_cache = response_cache
        self.max_query_chars = max_query_chars

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        # strawberry answers its own refusals (no query, a GET mutation, a wrong content type)
        # as plain text: raised as HTTP errors instead, they become problem details like the rest.
        try:
            return await super().run(*args, **kwargs)
        except cross_web.HTTPException as exc:
            raise StarletteHTTPException(exc.status_code, exc.reason) from None

    def decode_json(self, data: str | bytes) -> object:
        # The same JSON (and nesting) rules as every other route, and the same 422 when broken.
        return json_body(data)

    def encode_json(self, data: object) -> str:
        # orjson rather than the standard json module: about 5 % of a page's time (py-spy).
        return orjson.dumps(data).decode()  # str: the WebSocket handlers send it as text

    async def execute_single(  # noqa: PLR0917
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """One HTTP operation, through the response cache when it is a cacheable query."""
        query = request_data.query or ""
        if len(query) > self.max_query_chars:
            raise PayloadTooLarge(query_too_long(len(query), self.max_query_chars))

        def execute() -> Awaitable[ExecutionResult]:
            return super(_Router, self).execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )

        cache = self.response_cache
        viewer = context.viewer
        key = cache.key(
            role=None if viewer is None else viewer.role,
            user_id=None if viewer is None else viewer.user_id,
            query=request_data.query,
            operation_name=request_data.operation_name,
            variables=request_data.variables,
            extensions=request_data.extensions,
        )
        if key is None:
            result = await execute()
            cache.note_operation(request_data.query, result)
            how = "bypass"
        else:
            result, how = await cache.get_or_execute(key, execute)
        RESPONSES.labels(how).inc()
        sub_response.headers[CACHE_HEADER] = how
        return result

    async def on_ws_connect(self, context: Context) -> dict[str, Any] | None:
        # Browsers cannot set headers on a WebSocket: the token may come in connection_init.
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = params.get("Authorization") or params.get("authorization")
        if authorization is not None:
            context.authenticate(authorization)
        return None


def graphql_router(settings: Settings) -> GraphQLRouter[Context, None]:
    sessions = sessions_from_settings(settings)
    login_throttle = LoginThrottle(settings)

    async def context(connection: HTTPConnection) -> Context:
        state = connection.app.state
        ctx = Context(state.pool, settings, sessions)
        ctx.ticket_feed = state.ticket_feed
        ctx.incident_feed = state.incident_feed
        ctx.app_state = state
        ctx.login_throttle = login_throttle
        if connection.client is not None:
            ctx.client_address = connection.client.host
        ctx.authenticate(connection.headers.get("authorization"))
        return ctx

    graphiql = settings.graphql_graphiql or not settings.graphql_production
    return _Router(
        build_schema(settings),
        graphql_ide="graphiql" if graphiql else None,
        allow_queries_via_get=False,  # no state-changing or costly work from a cross-site GET
        context_getter=context,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        response_cache=ResponseCache(settings.graphql_response_cache_seconds),
        max_query_chars=settings.graphql_max_query_chars,
    )
