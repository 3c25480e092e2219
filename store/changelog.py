"""Stored changelogs: the commits of a repository as the changelog stage reads them, and its
releases as the worker keeps them (one row per repository and tag, history by trigger); and both
as the API lists them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from opsassist.store.paging import Listing, Page, PageRequest, Sort, Where, like_pattern

UNRELEASED = ""  # the tag under which the Unreleased section is stored

_REPOSITORY_COMMITS = """
SELECT sha, message, parents, author_name, authored_at, committed_at, tags
FROM commits WHERE repo = $1
"""
_RELEASE_CONTENTS = """
SELECT tag, content, present FROM changelog_releases WHERE repo = $1
"""
COMMITS = Listing(
    """
SELECT repo, sha, parents, author_name, author_email, authored_at, committed_at, message,
       branch, tags, source, trace_id, ingested_at
FROM commits
""",
    Sort("committed_at", "committed_at", "committed_at", (("repo", "repo"), ("sha", "sha"))),
)
RELEASES = Listing(
    """
SELECT id, repo, tag, release_version, released_at, bump, commit_count, content, markdown,
       polish, present, changed_by, version, row_updated_at
FROM changelog_releases
""",
    Sort("id", "id", "id", (), key_is_time=False),
)
_UPSERT = """
INSERT INTO changelog_releases AS r (repo, tag, release_version, released_at, bump, commit_count,
                                     content, markdown, polish, present, changed_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, true, $9)
ON CONFLICT (repo, tag) DO UPDATE SET
    release_version = excluded.release_version, released_at = excluded.released_at,
    bump = excluded.bump, commit_count = excluded.commit_count, content = excluded.content,
    markdown = excluded.markdown, polish = excluded.polish, present = true,
    changed_by = excluded.changed_by
"""
_ABSENT = """
UPDATE changelog_releases SET present = false, changed_by = $3
WHERE repo = $1 AND tag = ANY($2::text[]) AND present
"""
_ORDER = """
INSERT INTO changelog_order (repo, tags) VALUES ($1, $2)
ON CONFLICT (repo) DO UPDATE SET tags = excluded.tags, updated_at = now()
WHERE changelog_order.tags IS DISTINCT FROM excluded.tags
"""
_STORED = """
SELECT r.markdown, r.content FROM changelog_releases r JOIN changelog_order o USING (repo)
WHERE r.repo = $1 AND r.present
ORDER BY array_position(o.tags, r.tag)
"""


@dataclass(frozen=True, slots=True)
class StoredRelease:
    """A release as the worker writes it."""

    tag: str
    release_version: str | None
    released_at: datetime | None
    bump: str
    commit_count: int
    content: dict[str, Any]
    markdown: str
    #: The LLM polish: whether a rewording was accepted, the check's problems, provenance.
    polish: dict[str, Any] | None = None


async def lock_repository(conn: asyncpg.Connection, repo: str) -> None:
    """Serialize regenerations of one repository across workers, until the transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('changelog:' || $1, 0))", repo
    )


async def repository_commits(conn: asyncpg.Connection, repo: str) -> list[dict[str, Any]]:
    """Every stored commit of ``repo`` as a mapping the changelog stage reads."""
    return [dict(row) for row in await conn.fetch(_REPOSITORY_COMMITS, repo)]


async def stored_contents(conn: asyncpg.Connection, repo: str) -> dict[str, dict[str, Any]]:
    """Tag -> stored content of the releases currently present."""
    rows = await conn.fetch(_RELEASE_CONTENTS, repo)
    return {row["tag"]: orjson.loads(row["content"]) for row in rows if row["present"]}


async def save_releases(
    conn: asyncpg.Connection,
    repo: str,
    *,
    changed: Sequence[StoredRelease],
    absent: Sequence[str],
    order: Sequence[str],
    changed_by: str,
) -> None:
    """Write new or changed releases, mark vanished ones absent (history by trigger), and
    record the order of the releases (tags, newest first)."""
    if changed:
        await conn.executemany(
            _UPSERT,
            [
                (
                    repo,
                    r.tag,
                    r.release_version,
                    r.released_at,
                    r.bump,
                    r.commit_count,
                    orjson.dumps(r.content).decode(),
                    r.markdown,
                    changed_by,
                    None if r.polish is None else orjson.dumps(r.polish).decode(),
                )
                for r in changed
            ],
        )
    if absent:
        await conn.execute(_ABSENT, repo, list(absent), changed_by)
    await conn.execute(_ORDER, repo, list(order))


async def changelog_markdown(conn: asyncpg.Connection, repo: str) -> str | None:
    """The stored changelog of ``repo`` as Markdown, newest first; None if none is stored."""
    rows = await conn.fetch(_STORED, repo)
    if not rows:
        return None
    return "# Changelog\n\n" + "\n".join(row["markdown"] for row in rows)


async def changelog_json(conn: asyncpg.Connection, repo: str) -> list[dict[str, Any]]:
    """The stored releases of ``repo`` as the CLI's ``--json`` prints them, newest first."""
    return [orjson.loads(row["content"]) for row in await conn.fetch(_STORED, repo)]


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


async def commits_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: CommitFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await COMMITS.page(conn, filter_, descending, request, default_size)


async def commits_by_keys(
    conn: asyncpg.Pool | asyncpg.Connection, keys: list[tuple[str, str]]
) -> list[asyncpg.Record]:
    """The commits with these (repo, sha) keys, in one query."""
    return list(
        await conn.fetch(
            f"{COMMITS.select} WHERE (repo, sha) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
    )


async def releases_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: ReleaseFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await RELEASES.page(conn, filter_, descending, request, default_size)


async def releases_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{RELEASES.select} WHERE id = ANY($1::bigint[])", ids))
