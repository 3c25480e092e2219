"""Versions and diffs of mutable entities, from their ``*_changes`` tables, masked per role."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import strawberry
from strawberry.scalars import JSON

from opsassist.api.graphql.masking import hidden


@strawberry.type(description="One field's change: its value before and after.")
class FieldChange:
    field: str
    before: JSON | None
    after: JSON | None
    masked: bool = strawberry.field(
        description="True when the values are hidden from your role (they are null)."
    )


@strawberry.type(description="One version of an entity: who or what changed which fields.")
class Version:
    version: int
    changed_at: datetime
    changed_by: str
    change_kind: str = strawberry.field(description="insert or update")
    event_id: str | None
    changes: list[FieldChange]


def camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(part.title() for part in rest)


def delta_of(change: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a change wrote, with their new values."""
    delta = change["delta"]
    return orjson.loads(delta) if isinstance(delta, str) else dict(delta)


def versions(
    changes: Sequence[asyncpg.Record],
    role: str | None,
    masking_target: Callable[[str], tuple[str, str, Any]],
) -> list[Version]:
    """Each change with before/after per field; ``masking_target(field)`` names the (type,
    field, parent) whose masking rule applies to that field's values."""
    state: dict[str, Any] = {}
    out = []
    for change in changes:
        delta = delta_of(change)
        fields = []
        for column in sorted(delta):
            name = camel(column)
            before, after = state.get(name), delta[column]
            state[name] = after
            type_name, field, parent = masking_target(name)
            masked = hidden(role, type_name, field, parent)
            fields.append(
                FieldChange(
                    field=name,
                    before=None if masked else before,
                    after=None if masked else after,
                    masked=masked,
                )
            )
        out.append(
            Version(
                version=change["version"],
                changed_at=change["changed_at"],
                changed_by=change["changed_by"],
                change_kind=change["change_kind"],
                event_id=change["event_id"],
                changes=fields,
            )
        )
    return out
