"""Input checks that the schema's types cannot express: PostgreSQL refuses the NUL character in
text, and ids must fit a bigint. Bad input answers ``BAD_USER_INPUT``, never a database error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from opsassist.api.graphql.masking import graphql_error

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
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class _StringValues(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.nul = False

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        self.nul = self.nul or "\x00" in node.value


class RejectNulCharacters(SchemaExtension):
    """Refuse a request whose variables or string literals hold U+0000 (PostgreSQL text cannot
    store or compare it), once per request, before anything executes."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        literals = _StringValues()
        query = context.query
        # A string literal holds NUL only if the text has it raw or as an escape (\u0000,
        # \u{0}): without a "\u" there is no need to walk the document.
        maybe_nul = query is None or "\x00" in query or "\\u" in query
        if context.graphql_document is not None and maybe_nul:
            visit(context.graphql_document, literals)
        if literals.nul or _has_nul(context.variables or {}):
            context.result = ExecutionResult(
                data=None,
                errors=[
                    graphql_error(
                        "text arguments may not contain the NUL character", "BAD_USER_INPUT"
                    )
                ],
            )
        yield
