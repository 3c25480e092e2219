"""The GraphQL API (strawberry on the FastAPI app, at ``/graphql``); docs/graphql.md."""

from opsassist.api.graphql.change_feed import INCIDENT_CHANNEL, ChangeFeed
from opsassist.api.graphql.router import graphql_router
from opsassist.api.graphql.schema import build_schema, schema_sdl

__all__ = ["INCIDENT_CHANNEL", "ChangeFeed", "build_schema", "graphql_router", "schema_sdl"]
