"""Keyset (seek) pagination: a page continues strictly after (or before) the sort key of the
cursor's row, so rows inserted meanwhile never shift or repeat what a client already saw, and
the cost of a page does not grow with its depth (no OFFSET).

A cursor names its sort, so one made under another order is refused rather than misread.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import asyncpg
import orjson

from opsassist.store.reads._where import Where

T = TypeVar("T")


class InvalidCursor(ValueError):
    """A cursor that this API did not make, or made for another sort order."""


@dataclass(frozen=True, slots=True)
class Sort:
    """One ordering of a list: a sort key, then unique tie-breaking columns, all one direction."""

    name: str  # written into cursors
    column: str  # SQL of the sort key
    field: str  # the key's name in a result row
    tiebreak: tuple[tuple[str, str], ...]  # (SQL, row field) that make the order total
    descending: bool = True
    key_is_time: bool = True

    def reversed(self, descending: bool) -> Sort:
        return Sort(self.name, self.column, self.field, self.tiebreak, descending, self.key_is_time)


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: str
    values: tuple[Any, ...]

    def encode(self) -> str:
        values = [v.isoformat() if isinstance(v, datetime) else v for v in self.values]
        raw = orjson.dumps({"s": self.sort, "v": values})
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: Sort) -> Cursor:
        try:
            data = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            values = data["v"]
            if data["s"] != sort.name or not isinstance(values, list):
                raise InvalidCursor(f"this cursor was made for another order than {sort.name}")
            if len(values) != 1 + len(sort.tiebreak):
                raise InvalidCursor("malformed cursor")
            if sort.key_is_time:
                values[0] = datetime.fromisoformat(values[0])
            return cls(sort.name, tuple(values))
        except InvalidCursor:
            raise
        except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise InvalidCursor("malformed cursor") from None

    @classmethod
    def of(cls, row: asyncpg.Record | dict[str, Any], sort: Sort) -> Cursor:
        return cls(sort.name, (row[sort.field], *(row[f] for _, f in sort.tiebreak)))


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Relay's arguments; ``first`` wins when both sizes are given."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def backwards(self) -> bool:
        return self.first is None and self.last is not None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _seek(where: Where, sort: Sort, cursor: Cursor, forwards: bool) -> None:
    columns = [sort.column, *(sql for sql, _ in sort.tiebreak)]
    # Rows after the cursor in the page's order: smaller keys when that order is descending.
    op = "<" if sort.descending == forwards else ">"
    placeholders = ", ".join(where.bind(v) for v in cursor.values)
    where.conditions.append(f"({', '.join(columns)}) {op} ({placeholders})")


async def fetch_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    select: str,
    *,
    where: Where,
    sort: Sort,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    """One page of ``select`` (``SELECT … FROM …``, no WHERE) under ``where``, in ``sort``."""
    if request.after is not None:
        _seek(where, sort, Cursor.decode(request.after, sort), forwards=True)
    if request.before is not None:
        _seek(where, sort, Cursor.decode(request.before, sort), forwards=False)
    backwards = request.backwards
    size = (request.last if backwards else request.first) or default_size
    descending = sort.descending != backwards
    direction = "DESC" if descending else "ASC"
    columns: Sequence[str] = [sort.column, *(sql for sql, _ in sort.tiebreak)]
    order = ", ".join(f"{c} {direction}" for c in columns)
    limit = where.bind(size + 1)
    rows = await conn.fetch(
        f"{select} WHERE {where.sql()} ORDER BY {order} LIMIT {limit}", *where.args
    )
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    return Page(
        rows=rows,
        cursors=[Cursor.of(r, sort).encode() for r in rows],
        has_next_page=more if not backwards else request.before is not None,
        has_previous_page=more if backwards else request.after is not None,
    )
