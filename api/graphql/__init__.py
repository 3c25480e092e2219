"""The GraphQL API (strawberry on the FastAPI app, at ``/graphql``); docs/graphql.md."""

from opsassist.api.graphql.router import graphql_router
from opsassist.api.graphql.schema import build_schema, schema_sdl
from opsassist.api.graphql.subscriptions import INCIDENT_CHANNEL, ChangeFeed

__all__ = ["INCIDENT_CHANNEL", "ChangeFeed", "build_schema", "graphql_router", "schema_sdl"]
