"""Commits: the type, its filter and the queries over it."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import strawberry
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.pagination import Connection, Order, connection, page_request
from opsassist.store.changelog import CommitFilter, commits_by_keys, commits_page


@strawberry.type
class Commit:
    repository: str
    sha: str
    parents: list[str]
    author_name: str
    author_email: str | None
    authored_at: datetime
    committed_at: datetime
    message: str
    branch: str | None
    tags: list[str]
    source: str
    trace_id: str | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Commit:
        return cls(
            repository=row["repo"],
            sha=row["sha"],
            parents=list(row["parents"]),
            author_name=row["author_name"],
            author_email=row["author_email"],
            authored_at=row["authored_at"],
            committed_at=row["committed_at"],
            message=row["message"],
            branch=row["branch"],
            tags=list(row["tags"]),
            source=row["source"],
            trace_id=row["trace_id"],
        )


@strawberry.input
class CommitFilterInput:
    repositories: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = strawberry.field(default=None, description="in the message, any case")

    def to_store(self) -> CommitFilter:
        return CommitFilter(
            repositories=self.repositories, since=self.since, until=self.until, text=self.text
        )


@strawberry.type
class CommitQueries:
    @strawberry.field(description="Commits by commit time, newest first unless ordered otherwise.")
    async def commits(
        self,
        info: Info[Context, None],
        *,
        filter: CommitFilterInput | None = None,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Commit]:
        request = page_request(info, first, after, last, before)
        store_filter = (filter or CommitFilterInput()).to_store()
        pool = info.context.pool
        return await connection(
            info,
            lambda req, size: commits_page(pool, store_filter, order.descending, req, size),
            request,
            Commit.from_row,
        )

    @strawberry.field
    async def commit(self, info: Info[Context, None], repository: str, sha: str) -> Commit | None:
        rows = await commits_by_keys(info.context.pool, [(repository, sha)])
        return Commit.from_row(rows[0]) if rows else None
