"""Who may see what: the one table of role-based field masking and access rules.

Every rule names a GraphQL type and field, the roles that see it, and when the rule applies.
:class:`MaskingExtension` enforces the table on every field the API resolves (a field of a rule
resolves to ``null`` for other roles; a root field refuses with ``FORBIDDEN``), history diffs
apply the same rules per changed field, and ``docs/graphql.md`` shows the table that
:func:`markdown_table` renders (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from strawberry.extensions import SchemaExtension

from store.reads.tickets import HR_CATEGORY

ROLES = ("admin", "ops", "hr")
#: Root fields anyone may call without logging in.
PUBLIC_ROOT_FIELDS = frozenset(
    {"signup", "login", "refresh", "logout", "__typename", "__schema", "__type"}
)


def _is_hr_ticket(ticket: Any) -> bool:
    return HR_CATEGORY in (ticket.category, ticket.suggested_category)


@dataclass(frozen=True, slots=True)
class Rule:
    type_name: str
    field: str
    roles: frozenset[str]  # the roles that see it
    when: str = "always"  # in words, for the docs table
    applies: Callable[[Any], bool] | None = None  # None: always; else on the parent object

    def hides(self, role: str | None, parent: Any) -> bool:
        if role in self.roles:
            return False
        return self.applies is None or self.applies(parent)


_EVERYONE_BUT_OPS = frozenset({"admin", "hr"})
#: The roles that read HR tickets' text, and so may find those tickets by a text search.
HR_TICKET_TEXT_ROLES = _EVERYONE_BUT_OPS
_ADMIN = frozenset({"admin"})
_HR_TICKET = "the ticket's category (or suggested category) is HR"

RULES: tuple[Rule, ...] = (
    Rule("Ticket", "reporter", _EVERYONE_BUT_OPS),
    Rule("Ticket", "title", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("Ticket", "body", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("Ticket", "labels", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("TriageDecision", "explanation", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("TriageDecision", "notes", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("Query", "users", _ADMIN),
    Rule("Query", "user", _ADMIN),
    Rule("Query", "apiKeys", _ADMIN),
    Rule("Mutation", "createApiKey", _ADMIN),
    Rule("Mutation", "revokeApiKey", _ADMIN),
)
_BY_FIELD: dict[tuple[str, str], Rule] = {(r.type_name, r.field): r for r in RULES}
_ROOTS = frozenset({"Query", "Mutation", "Subscription"})


def hidden(role: str | None, type_name: str, field: str, parent: Any) -> bool:
    """Whether ``role`` may not see ``type_name.field`` of ``parent``."""
    rule = _BY_FIELD.get((type_name, field))
    return rule is not None and rule.hides(role, parent)


def masked_fields(role: str | None, type_name: str, parent: Any) -> list[str]:
    """The fields of ``parent`` that ``role`` sees as ``null`` although they may hold a value."""
    return [r.field for r in RULES if r.type_name == type_name and r.hides(role, parent)]


def markdown_table() -> str:
    """The rules as the Markdown table of docs/graphql.md."""
    lines = ["| type | field | seen by | rule applies when |", "|---|---|---|---|"]
    for r in RULES:
        roles = ", ".join(role for role in ROLES if role in r.roles)
        lines.append(f"| `{r.type_name}` | `{r.field}` | {roles} | {r.when} |")
    return "\n".join(lines)


def graphql_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


class MaskingExtension(SchemaExtension):
    """Applies :data:`RULES` (and the login requirement of root fields) to every field."""

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        type_name = info.parent_type.name
        field = info.field_name
        if type_name in _ROOTS:
            viewer = info.context.viewer
            if viewer is None and field not in PUBLIC_ROOT_FIELDS:
                raise graphql_error(info.context.unauthenticated_reason(), "UNAUTHENTICATED")
            if hidden(None if viewer is None else viewer.role, type_name, field, root):
                roles = ", ".join(sorted(_BY_FIELD[type_name, field].roles))
                raise graphql_error(f"{field} is for the role(s) {roles}", "FORBIDDEN")
        elif (type_name, field) in _BY_FIELD:
            viewer = info.context.viewer
            if hidden(None if viewer is None else viewer.role, type_name, field, root):
                return None
        return _next(root, info, *args, **kwargs)
