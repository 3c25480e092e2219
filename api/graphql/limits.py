"""Protection of the GraphQL endpoint: strawberry's depth, alias and token limits, the query's
length, error masking, and no introspection or field suggestions in production. Page sizes (the
cost limit) are checked where connections resolve (api/graphql/pagination.py), so a query costs
at most max page size x max aliases rows per list."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from graphql import ASTValidationRule, GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from opsassist.settings import Settings

MASKED_MESSAGE = "Unexpected error."
CACHED_QUERIES = 256  # distinct query texts whose parse and validation are kept


def _unexpected(error: GraphQLError) -> bool:
    """Mask errors raised by surprise (bugs, database trouble), not the ones raised on purpose:
    those carry a code for the client (BAD_USER_INPUT, FORBIDDEN...) or come from validation."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


_SUGGESTION = re.compile(r" ?Did you mean .*\?$", re.DOTALL)


class HideSuggestions(MaskErrors):
    """Drops graphql-core's "Did you mean 'x'?" from errors: without introspection, suggestions
    would still spell the schema out to whoever guesses near a field name."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: bool(_SUGGESTION.search(error.message)))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            message=_SUGGESTION.sub("", error.message),
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=error.original_error,
            extensions=error.extensions,
        )


def query_too_long(length: int, max_chars: int) -> str:
    return f"the query is {length} characters; the limit is {max_chars}"


def introspection_allowed(settings: Settings) -> bool:
    return settings.graphql_introspection or not settings.graphql_production


def protection_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """strawberry's depth and alias limits are validation rules; made once here (rather than
    by QueryDepthLimiter/MaxAliasesLimiter per request) they are the same rules every time, so
    the validation of a query seen before comes from the cache. Dashboards repeat queries."""
    rules: list[type[ASTValidationRule]] = [
        depth_rule(settings.graphql_max_depth, None, None),
        aliases_rule(settings.graphql_max_aliases),
    ]
    if not introspection_allowed(settings):
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
        partial(AddValidationRules, rules),
        partial(ParserCache, maxsize=CACHED_QUERIES),
        partial(ValidationCache, maxsize=CACHED_QUERIES),
    ]
    if settings.graphql_production:
        extensions.append(
            partial(MaskErrors, should_mask_error=_unexpected, error_message=MASKED_MESSAGE)
        )
    if not introspection_allowed(settings):
        extensions.append(HideSuggestions)
    return extensions
