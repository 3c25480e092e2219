"""Changelog releases: the type (with who polished it, and history) and the queries over it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.history import Version, versions
from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.pagination import Connection, Order, connection, page_request
from opsassist.api.graphql.scalars import json_value
from opsassist.api.graphql.time_travel import (
    equality_filter,
    one_as_of,
    rows_as_of_page,
)
from opsassist.store.changelog import ReleaseFilter, releases_by_ids, releases_page


@strawberry.type(
    description="Who wrote the release's text: 'llm' when a rewording by an LLM passed the "
    "check, else 'deterministic' (the conventional-commit renderer)."
)
class ReleaseText:
    produced_by: str
    models: list[str] = strawberry.field(description="The LLM model(s) asked, if any.")
    accepted: bool | None = strawberry.field(
        description="Whether the LLM's rewording passed the check (null: none was asked)."
    )
    problems: list[str] = strawberry.field(description="Why a rewording was refused.")

    @classmethod
    def from_polish(cls, polish: dict[str, Any] | None) -> ReleaseText:
        if not polish:
            return cls(produced_by="deterministic", models=[], accepted=None, problems=[])
        llm = polish.get("llm") or {}
        accepted = bool(polish.get("accepted"))
        return cls(
            produced_by="llm" if accepted and llm.get("produced_by") == "llm" else "deterministic",
            models=[str(m) for m in llm.get("models") or []],
            accepted=accepted,
            problems=[str(p) for p in polish.get("problems") or []],
        )


@strawberry.type
class ChangelogRelease:
    id: strawberry.ID
    repository: str
    tag: str = strawberry.field(description="'' is the Unreleased section.")
    release_version: str | None
    released_at: datetime | None
    bump: str
    commit_count: int
    content: JSON = strawberry.field(description="The release's groups and entries.")
    markdown: str
    present: bool = strawberry.field(description="False once no commit makes this release.")
    text: ReleaseText
    version: int
    changed_by: str
    _row_id: strawberry.Private[int]

    @strawberry.field(description="Every version, oldest first, with the fields each changed.")
    async def history(self, info: Info[Context, None]) -> list[Version]:
        changes = await info.context.loaders.release_changes.load(self._row_id)
        return versions(changes, info.context.role, lambda f: ("ChangelogRelease", f, self))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ChangelogRelease:
        return cls(
            id=strawberry.ID(str(row["id"])),
            repository=row["repo"],
            tag=row["tag"],
            release_version=row["release_version"],
            released_at=row["released_at"],
            bump=row["bump"],
            commit_count=row["commit_count"],
            content=json_value(row["content"]),
            markdown=row["markdown"],
            present=row["present"],
            text=ReleaseText.from_polish(json_value(row["polish"])),
            version=row["version"],
            changed_by=row["changed_by"],
            _row_id=row["id"],
        )


@strawberry.input
class ReleaseFilterInput:
    repositories: list[str] | None = None
    include_removed: bool = False

    def to_store(self) -> ReleaseFilter:
        return ReleaseFilter(repositories=self.repositories, include_removed=self.include_removed)

    def to_state(self) -> dict[str, Any]:
        """The filter on past states (with asOf): one repository at most, and a release that
        was present then unless removed ones are included."""
        where = equality_filter(
            {"repositories": self.repositories}, {"repositories": "repo"}, what="a release"
        )
        return where if self.include_removed else {**where, "present": True}


@strawberry.type
class ReleaseQueries:
    @strawberry.field(description="Releases, most recently created first unless ordered otherwise.")
    async def changelog_releases(
        self,
        info: Info[Context, None],
        *,
        filter: ReleaseFilterInput | None = None,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="The releases that existed at this time, as they were then, in id "
                "order (forwards only; filters on one repository)."
            ),
        ] = None,
    ) -> Connection[ChangelogRelease]:
        request = page_request(info, first, after, last, before)
        given = filter or ReleaseFilterInput()
        pool = info.context.pool
        if as_of is not None:
            # the filter is translated inside the fetch, where a refusal becomes BAD_USER_INPUT
            return await connection(
                info,
                lambda req, size: rows_as_of_page(
                    pool, "changelog_releases", as_of, req, size, where=given.to_state()
                ),
                request,
                ChangelogRelease.from_row,
            )
        store_filter = given.to_store()
        return await connection(
            info,
            lambda req, size: releases_page(pool, store_filter, order.descending, req, size),
            request,
            ChangelogRelease.from_row,
        )

    @strawberry.field
    async def changelog_release(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="The release as it was at this time; null if it did not exist yet."
            ),
        ] = None,
    ) -> ChangelogRelease | None:
        pool = info.context.pool
        return await one_as_of(
            pool,
            "changelog_releases",
            int_id(id),
            as_of,
            by_ids=releases_by_ids,
            build=ChangelogRelease.from_row,
        )
