"""A real repository through `opsassist produce commits --git`, the worker and PostgreSQL gives
the same changelog as `opsassist changelog --git`; late commits and a late tag change exactly
the releases they belong to, each change kept as a new version."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from opsassist.store.changelog import changelog_json, changelog_markdown
from tests.conftest import run_cli, wait_for
from tests.integration.events import fetch
from tests.repos import git, make_repo

pytestmark = pytest.mark.integration

HISTORY = [
    "feat(api): list orders",
    "fix: off-by-one in paging (#12)",
    "docs: readme",
    "feat!: drop the v1 endpoints\n\nBREAKING CHANGE: /v1 is gone",
    "perf(db): index orders by customer",
    "chore(deps): bump asyncpg",
    "Update the deploy script",  # not conventional: classified by the heuristic, kept
]


def stored(settings: Any, repo: str) -> tuple[list[dict[str, Any]], str | None]:
    async def read() -> tuple[list[dict[str, Any]], str | None]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return await changelog_json(conn, repo), await changelog_markdown(conn, repo)
        finally:
            await conn.close()

    return asyncio.run(read())


def cli_changelog(settings: Any, repo: Path, *args: str) -> str:
    done = run_cli(settings, "changelog", "--git", str(repo), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_stored_changelog_equals_the_cli_and_follows_late_commits(  # type: ignore[no-untyped-def]
    settings, worker_process, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "shop", HISTORY, tags={2: "v0.1.0", 4: "a:v0.2.0"})
    worker = worker_process()
    worker.start()
    done = run_cli(settings, "produce", "commits", "--git", str(repo))
    assert done.returncode == 0, done.stderr

    expected = orjson.loads(cli_changelog(settings, repo, "--json"))
    assert [r["tag"] for r in expected] == [None, "v0.2.0", "v0.1.0"]
    wait_for(
        lambda: stored(settings, "shop")[0] == expected,
        90,
        "the stored changelog to equal the CLI's",
    )
    markdown = stored(settings, "shop")[1]
    assert markdown == cli_changelog(settings, repo)

    # Late: two more commits, and a tag on them pushed afterwards.
    for message in ("fix: race in checkout", "feat: gift cards"):
        (repo / "f.txt").write_text(message)
        git(repo, "commit", "-qam", message)
    done = run_cli(settings, "produce", "commits", "--git", str(repo), "--range", "v0.2.0..HEAD")
    assert done.returncode == 0, done.stderr
    wait_for(
        lambda: (
            stored(settings, "shop")[0] == orjson.loads(cli_changelog(settings, repo, "--json"))
        ),
        90,
        "the Unreleased section to grow",
    )
    git(repo, "tag", "v0.3.0")
    done = run_cli(settings, "produce", "commits", "--git", str(repo), "--range", "HEAD~1..HEAD")
    assert done.returncode == 0, done.stderr
    final = orjson.loads(cli_changelog(settings, repo, "--json"))
    assert [r["tag"] for r in final] == ["v0.3.0", "v0.2.0", "v0.1.0"]
    wait_for(lambda: stored(settings, "shop")[0] == final, 90, "the late tag to make a release")

    rows = asyncio.run(
        fetch(
            settings.database_url,
            """
        SELECT r.tag, r.present, array_agg(c.change_kind ORDER BY c.version) AS kinds
        FROM changelog_releases r JOIN changelog_release_changes c ON c.release_id = r.id
        GROUP BY r.tag, r.present ORDER BY r.tag""",
        )
    )
    history = {r["tag"]: (r["present"], r["kinds"]) for r in rows}
    # the two old releases were written once and never touched by the late commits
    assert history["v0.1.0"] == (True, ["insert"])
    assert history["v0.2.0"] == (True, ["insert"])
    # Unreleased: created, grown by the late commits, then emptied by the tag
    assert history[""] == (False, ["insert", "update", "update"])
    assert history["v0.3.0"] == (True, ["insert"])
