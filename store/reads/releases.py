"""Changelog releases as the API lists them."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from opsassist.store.reads._keyset import Page, PageRequest, Sort, fetch_page
from opsassist.store.reads._where import Where

SELECT = """
SELECT id, repo, tag, release_version, released_at, bump, commit_count, content, markdown,
       polish, present, changed_by, version, row_updated_at
FROM changelog_releases
"""
BY_ID = Sort("id", "id", "id", (), key_is_time=False)


@dataclass(frozen=True, slots=True)
class ReleaseFilter:
    repositories: list[str] | None = None
    include_removed: bool = False

    def where(self) -> Where:
        where = Where()
        where.add_any(self.repositories, "repo")
        if not self.include_removed:
            where.add("present")
        return where


async def releases_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: ReleaseFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await fetch_page(
        conn,
        SELECT,
        where=filter_.where(),
        sort=BY_ID.reversed(descending),
        request=request,
        default_size=default_size,
    )


async def releases_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{SELECT} WHERE id = ANY($1::bigint[])", ids))
