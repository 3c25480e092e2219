"""The store's one way to list an entity: a filter's WHERE clause built from fixed SQL fragments
and bound values, and keyset (seek) pages over it.

A page continues strictly after (or before) the sort key of the cursor's row, so rows inserted
meanwhile never shift or repeat what a client already saw, and the cost of a page does not grow
with its depth (no OFFSET). A cursor names its sort, so one made under another order is refused
rather than misread. Every value is bound as a parameter; SQL text is assembled only from
fragments written in the store.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import orjson

T = TypeVar("T")
U = TypeVar("U")


class Where:
    """Conditions joined by AND; ``{}`` in a fragment is the placeholder of its value."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def bind(self, value: Any) -> str:
        """Add ``value`` as a parameter; return its placeholder (``$n``)."""
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, fragment: str, *values: Any) -> Where:
        """``fragment`` with each ``{}`` replaced by the placeholder of the next value."""
        self.conditions.append(fragment.format(*(self.bind(v) for v in values)))
        return self

    def add_if(self, value: Any, fragment: str) -> Where:
        """Add ``fragment`` (one ``{}``) when ``value`` is given (not None, not empty)."""
        if value is not None and value not in ([], ""):
            self.add(fragment, value)
        return self

    def add_any(self, values: list[Any] | None, column: str, sql_type: str = "text") -> Where:
        """``column`` equal to one of ``values`` (when given). One value is written ``= $n``
        rather than ``= ANY($n)``: PostgreSQL (before 17) reads an index in order only for
        equality, so a filter on one service and level then seeks its index
        (log_events_service_level_ts) instead of scanning the time index and filtering."""
        if not values:
            return self
        if len(values) == 1:
            return self.add(f"{column} = {{}}", values[0])
        return self.add(f"{column} = ANY({{}}::{sql_type}[])", values)

    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "true"


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Filter(Protocol):
    """An entity's list filter: a fresh WHERE clause each time (paging appends to it)."""

    def where(self) -> Where: ...


class InvalidCursor(ValueError):
    """A cursor that this API did not make, or made for another sort order."""


@dataclass(frozen=True, slots=True)
class Sort:
    """One ordering of a list: a sort key, then unique tie-breaking columns, all one direction."""

    name: str  # written into cursors
    column: str  # SQL of the sort key
    field: str  # the key's name in a result row
    tiebreak: tuple[tuple[str, str], ...]  # (SQL, row field) that make the order total
    descending: bool = True  # a page's direction: Listing.page sets it from its caller's order
    key_is_time: bool = True


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

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with each row converted (the cursors were made from the rows read)."""
        return Page(
            [convert(r) for r in self.rows],
            self.cursors,
            self.has_next_page,
            self.has_previous_page,
        )


def _seek(where: Where, sort: Sort, cursor: Cursor, forwards: bool) -> None:
    columns = [sort.column, *(sql for sql, _ in sort.tiebreak)]
    # Rows after the cursor in the page's order: smaller keys when that order is descending.
    op = "<" if sort.descending == forwards else ">"
    placeholders = ", ".join(where.bind(v) for v in cursor.values)
    where.conditions.append(f"({', '.join(columns)}) {op} ({placeholders})")


@dataclass(frozen=True, slots=True)
class Listing:
    """How one entity is listed: ``select`` (``SELECT <columns> FROM <table>``, no WHERE) in
    the order of ``sort``. Paging is the same for every entity, so it is written once, here."""

    select: str
    sort: Sort

    async def page(
        self,
        conn: asyncpg.Pool | asyncpg.Connection,
        filter_: Filter | None,
        descending: bool,
        request: PageRequest,
        default_size: int,
    ) -> Page[asyncpg.Record]:
        """One page of the rows that ``filter_`` selects (every row when None), largest sort
        key first when ``descending``."""
        where = Where() if filter_ is None else filter_.where()
        sort = dataclasses.replace(self.sort, descending=descending)
        if request.after is not None:
            _seek(where, sort, Cursor.decode(request.after, sort), forwards=True)
        if request.before is not None:
            _seek(where, sort, Cursor.decode(request.before, sort), forwards=False)
        backwards = request.backwards
        size = (request.last if backwards else request.first) or default_size
        direction = "DESC" if sort.descending != backwards else "ASC"
        columns: Sequence[str] = [sort.column, *(sql for sql, _ in sort.tiebreak)]
        order = ", ".join(f"{c} {direction}" for c in columns)
        limit = where.bind(size + 1)
        rows = await conn.fetch(
            f"{self.select} WHERE {where.sql()} ORDER BY {order} LIMIT {limit}", *where.args
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
