"""The changelog over the two real histories in the evaluation data: no commit lost or doubled,
every breaking change shown. (Agreement with the published text is the benchmark's job.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from opsassist.settings import Settings
from opsassist.streams.changelog import build_changelog, commits_from_jsonl, default_config


def history(name: str) -> Path:
    path = Settings().eval_data / "changelogs" / name / "commits.jsonl"
    if not path.is_file():
        pytest.skip(f"evaluation data absent: {path} (see ../shared/data/README.md)")
    return path


@pytest.mark.parametrize("name", ["git-cliff", "commitizen"])
def test_every_commit_lands_exactly_once(name: str) -> None:
    with history(name).open("rb") as fh:
        records = list(commits_from_jsonl(fh))
    releases = build_changelog(records, default_config())
    placed = [e.commit for r in releases for e in r.entries] + [
        s.commit for r in releases for s in r.skipped
    ]
    assert sorted(placed) == sorted(r.sha for r in records)
    assert {r.tag for r in releases} == {r.release for r in records}
    by_sha = {r.sha: r for r in records}
    for release in releases:
        assert all(by_sha[sha].release == release.tag for sha in release.commits)


@pytest.mark.parametrize("name", ["git-cliff", "commitizen"])
def test_breaking_changes_are_all_shown(name: str) -> None:
    with history(name).open("rb") as fh:
        records = list(commits_from_jsonl(fh))
    marked = {
        r.sha
        for r in records
        if "!:" in r.message.split("\n")[0] or "BREAKING CHANGE:" in r.message
    }
    shown = {
        e.commit
        for r in build_changelog(records, default_config())
        for e in r.entries
        if e.breaking
    }
    assert marked <= shown
