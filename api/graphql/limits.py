"""Protection of the GraphQL endpoint: strawberry's depth, alias and token limits, and error
masking in production. Page sizes (the cost limit) are checked where connections resolve
(api/graphql/pagination.py), so a query costs at most max page size x max aliases rows per
list."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from opsassist.settings import Settings

MASKED_MESSAGE = "Unexpected error."


def _unexpected(error: GraphQLError) -> bool:
    """Mask errors raised by surprise (bugs, database trouble), not the ones raised on purpose:
    those carry a code for the client (BAD_USER_INPUT, FORBIDDEN...) or come from validation."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def protection_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(QueryDepthLimiter, max_depth=settings.graphql_max_depth),
        partial(MaxAliasesLimiter, max_alias_count=settings.graphql_max_aliases),
        partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
    ]
    if settings.graphql_production:
        extensions.append(
            partial(MaskErrors, should_mask_error=_unexpected, error_message=MASKED_MESSAGE)
        )
    return extensions
