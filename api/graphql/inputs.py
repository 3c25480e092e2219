"""Input checks that the schema's types cannot express: PostgreSQL refuses the NUL character in
text, and ids must fit a bigint. Bad input answers ``BAD_USER_INPUT``, never a database error."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension

from api.graphql.masking import graphql_error

_BIGINT_MAX = 2**63 - 1


def int_id(value: object) -> int | None:
    """The integer an ``ID`` names, or None when it names none (not a bigint)."""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number <= _BIGINT_MAX else None


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):  # input objects, as graphql-core hands them to resolvers
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_has_nul(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


class RejectNulCharacters(SchemaExtension):
    """Refuse arguments holding U+0000 (PostgreSQL text cannot store or compare it)."""

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if kwargs and any(_has_nul(v) for v in kwargs.values()):
            raise graphql_error(
                f"{info.field_name}: text arguments may not contain the NUL character",
                "BAD_USER_INPUT",
            )
        return _next(root, info, *args, **kwargs)
