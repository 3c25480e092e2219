"""Commits as the API lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from opsassist.store.reads._keyset import Page, PageRequest, Sort, fetch_page
from opsassist.store.reads._where import Where, like_pattern

SELECT = """
SELECT repo, sha, parents, author_name, author_email, authored_at, committed_at, message,
       branch, tags, source, trace_id, ingested_at
FROM commits
"""
BY_TIME = Sort("committed_at", "committed_at", "committed_at", (("repo", "repo"), ("sha", "sha")))


@dataclass(frozen=True, slots=True)
class CommitFilter:
    repositories: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def where(self) -> Where:
        where = Where()
        where.add_any(self.repositories, "repo")
        where.add_if(self.since, "committed_at >= {}")
        where.add_if(self.until, "committed_at < {}")
        if self.text:
            where.add("message ILIKE {}", like_pattern(self.text))
        return where


async def commits_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: CommitFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await fetch_page(
        conn,
        SELECT,
        where=filter_.where(),
        sort=BY_TIME.reversed(descending),
        request=request,
        default_size=default_size,
    )


async def commits_by_keys(
    conn: asyncpg.Pool | asyncpg.Connection, keys: list[tuple[str, str]]
) -> list[asyncpg.Record]:
    """The commits with these (repo, sha) keys, in one query."""
    return list(
        await conn.fetch(
            f"{SELECT} WHERE (repo, sha) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
    )
