"""Who may see what: the one table of role-based field masking and access rules.

Every rule names a GraphQL type and field, the roles that see it, and when the rule applies.
:func:`attach_rules` enforces the table on the schema (a field of a rule resolves to ``null``
for other roles; a root field refuses with ``FORBIDDEN``, and every root field but the login
ones needs a login), history diffs apply the same rules per changed field, and
``docs/graphql.md`` shows the table that :func:`markdown_table` renders (a test keeps the two
equal). A root field's rule that depends on the object it acts on (``applies``) cannot be
decided before the resolver has loaded that object: the resolver asks :func:`refusal`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver, SyncExtensionResolver
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition

from opsassist.api.graphql.context import Context
from opsassist.store.tickets import HR_CATEGORY

ROLES = ("admin", "ops", "hr")
#: Root fields anyone may call without logging in.
PUBLIC_ROOT_FIELDS = frozenset(
    {"signup", "login", "refresh", "logout", "__typename", "__schema", "__type"}
)


def _is_hr_ticket(ticket: Any) -> bool:
    """HR now, or (for a past state or a version, which carry ``hr_in_history``) in any
    version: a ticket's text from before it left HR is still HR text."""
    return getattr(ticket, "hr_in_history", False) or HR_CATEGORY in (
        ticket.category,
        ticket.suggested_category,
    )


def hr_in_any_version(deltas: Iterable[Mapping[str, Any]]) -> bool:
    """Whether a ticket whose history wrote ``deltas`` (every field in an insert, the changed
    ones in an update) was HR in any version."""
    return any(
        HR_CATEGORY in (delta.get("category"), delta.get("suggested_category")) for delta in deltas
    )


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
_ON_CALL = frozenset({"admin", "ops"})
_HR_TICKET = (
    "the ticket is HR (category or suggested category); in `history`, `asOf` and "
    "subscribed changes: it was HR in any version"
)
_ON_HR_TICKET = "on a ticket whose category (or suggested category) is HR"

RULES: tuple[Rule, ...] = (
    Rule("Ticket", "reporterId", _EVERYONE_BUT_OPS),
    Rule("Ticket", "title", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("Ticket", "body", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("Ticket", "labels", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    # the reason a person typed, as triage.notes repeats it
    Rule("Ticket", "correction", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    # the conversation is the body's continuation, and its authors are people like the reporter
    Rule("Ticket", "comments", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("TicketComment", "authorId", _EVERYONE_BUT_OPS),
    Rule("TriageDecision", "explanation", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("TriageDecision", "notes", _EVERYONE_BUT_OPS, _HR_TICKET, _is_hr_ticket),
    Rule("Query", "users", _ADMIN),
    Rule("Query", "user", _ADMIN),
    Rule("Query", "apiKeys", _ADMIN),
    Rule("Mutation", "createApiKey", _ADMIN),
    Rule("Mutation", "revokeApiKey", _ADMIN),
    Rule("Mutation", "retriageTicket", frozenset({"admin", "ops"})),
    # Ops do not read HR tickets, so they may not change their triage either: a correction
    # or re-triage could move the ticket out of HR and so unmask it (to them, in the answer).
    Rule("Mutation", "retriageTicket", _ADMIN, _ON_HR_TICKET, _is_hr_ticket),
    Rule("Mutation", "correctTriage", _EVERYONE_BUT_OPS, _ON_HR_TICKET, _is_hr_ticket),
    # Working an incident is on-call's job: ops and admin, not hr.
    *(
        Rule("Mutation", name, _ON_CALL)
        for name in (
            "acknowledgeIncident",
            "assignIncident",
            "resolveIncident",
            "reopenIncident",
            "addIncidentNote",
            "linkIncidentTicket",
        )
    ),
    Rule("Query", "deadLetters", _ADMIN),
    Rule("Mutation", "replayDeadLetters", _ADMIN),
    # Deliveries name the routes (who is paged, where) and carry receivers' errors.
    Rule("Query", "notificationDeliveries", _ADMIN),
    Rule("Incident", "notifications", _ADMIN),
)
_BY_FIELD: dict[tuple[str, str], tuple[Rule, ...]] = {
    key: tuple(r for r in RULES if (r.type_name, r.field) == key)
    for key in {(r.type_name, r.field) for r in RULES}
}
_ROOTS = frozenset({"Query", "Mutation", "Subscription"})


def hidden(role: str | None, type_name: str, field: str, parent: Any) -> bool:
    """Whether ``role`` may not see ``type_name.field`` of ``parent`` (any rule of it hides)."""
    return any(rule.hides(role, parent) for rule in _BY_FIELD.get((type_name, field), ()))


def refusal(role: str | None, type_name: str, field: str, target: Any) -> str | None:
    """Why ``role`` may not call the root field ``type_name.field`` on ``target`` (the object
    it acts on, as the resolver loaded it), or ``None`` if it may."""
    for rule in _BY_FIELD.get((type_name, field), ()):
        if rule.applies is not None and rule.hides(role, target):
            roles = ", ".join(name for name in ROLES if name in rule.roles)
            return f"{field} {rule.when} is for the role(s) {roles}"
    return None


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


def check_root_access(info: Info[Context, None], type_name: str) -> None:
    """Refuse a root field to a caller who is not logged in, or whose role a rule excludes."""
    field = info.field_name
    viewer = info.context.viewer
    if viewer is None and field not in PUBLIC_ROOT_FIELDS:
        raise graphql_error(info.context.unauthenticated_reason(), "UNAUTHENTICATED")
    role = None if viewer is None else viewer.role
    for rule in _BY_FIELD.get((type_name, field), ()):
        # rules on the object acted on are the resolver's to check (refusal)
        if rule.applies is None and rule.hides(role, None):
            roles = ", ".join(sorted(rule.roles))
            raise graphql_error(f"{field} is for the role(s) {roles}", "FORBIDDEN")


class _RootAccess(FieldExtension):
    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def resolve(
        self, next_: SyncExtensionResolver, source: Any, info: Info[Context, None], **kwargs: Any
    ) -> Any:
        check_root_access(info, self.type_name)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info[Context, None], **kwargs: Any
    ) -> Any:
        check_root_access(info, self.type_name)
        return await next_(source, info, **kwargs)


class _Masked(FieldExtension):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def resolve(
        self, next_: SyncExtensionResolver, source: Any, info: Info[Context, None], **kwargs: Any
    ) -> Any:
        if self.rule.hides(info.context.role, source):
            return None
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info[Context, None], **kwargs: Any
    ) -> Any:
        if self.rule.hides(info.context.role, source):
            return None
        return await next_(source, info, **kwargs)


def attach_rules(schema: strawberry.Schema) -> None:
    """Put the rules on the fields of ``schema``'s types: every Query and Mutation field checks
    the login (and its rule), every field of a rule masks. Only those fields pay for it.

    Subscription fields check with :func:`check_root_access` themselves (their resolver is an
    async generator, which field extensions do not wrap)."""
    names = schema.config.name_converter
    for root in ("Query", "Mutation"):
        definition = schema.get_type_by_name(root)
        assert isinstance(definition, StrawberryObjectDefinition)
        for field in definition.fields:
            if not any(isinstance(e, _RootAccess) for e in field.extensions):
                field.extensions.append(_RootAccess(root))
    for rule in RULES:
        if rule.type_name in _ROOTS:
            continue
        definition = schema.get_type_by_name(rule.type_name)
        assert isinstance(definition, StrawberryObjectDefinition), rule
        [field] = [f for f in definition.fields if names.get_graphql_name(f) == rule.field]
        if not any(isinstance(e, _Masked) for e in field.extensions):
            field.extensions.append(_Masked(rule))
