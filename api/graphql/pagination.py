"""Relay connections over keyset pages, and the one check of page sizes (the cost limit)."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry
from strawberry.relay import PageInfo
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.masking import graphql_error
from opsassist.store.paging import InvalidCursor, Page, PageRequest

NodeT = TypeVar("NodeT")


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list (Relay cursor connection; keyset, so stable).")
class Connection(Generic[NodeT]):
    page_info: PageInfo
    edges: list[Edge[NodeT]]

    @strawberry.field(description="The nodes of the page, without their cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


@strawberry.enum(description="The order of a list by its time (or id).")
class Order(enum.Enum):
    NEWEST_FIRST = "newest_first"
    OLDEST_FIRST = "oldest_first"

    @property
    def descending(self) -> bool:
        return self is Order.NEWEST_FIRST


def page_request(
    info: Info[Context, None],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageRequest:
    """The page asked for, refused when larger than the configured maximum."""
    maximum = info.context.settings.graphql_max_page_size
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 1 <= size <= maximum:
            raise graphql_error(
                f"{name} must be between 1 and {maximum} (OPSASSIST_GRAPHQL_MAX_PAGE_SIZE)",
                "BAD_USER_INPUT",
            )
    return PageRequest(first=first, after=after, last=last, before=before)


RowT = TypeVar("RowT")


async def connection(
    info: Info[Context, None],
    fetch: Callable[[PageRequest, int], Awaitable[Page[RowT]]],
    request: PageRequest,
    node: Callable[[RowT], NodeT],
) -> Connection[NodeT]:
    try:
        page = await fetch(request, info.context.settings.graphql_default_page_size)
    except InvalidCursor as exc:
        raise graphql_error(str(exc), "BAD_USER_INPUT") from None
    edges = [Edge(cursor=c, node=node(r)) for r, c in zip(page.rows, page.cursors, strict=True)]
    return Connection(
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        edges=edges,
    )
