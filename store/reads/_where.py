"""A WHERE clause built from fixed SQL fragments and bound values."""

from __future__ import annotations

from typing import Any


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
