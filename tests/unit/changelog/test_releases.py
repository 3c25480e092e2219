"""Releases from tags, Unreleased, semver bumps, and the rules that never hide a commit."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from opsassist.streams.changelog import (
    Bump,
    CommitRecord,
    Release,
    build_changelog,
    changed_releases,
    default_config,
    load_config,
)
from opsassist.streams.changelog._config import config_from_toml

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def history(*commits: tuple[str, tuple[str, ...]]) -> list[CommitRecord]:
    """A linear history, oldest first: (message, tags) per commit."""
    records: list[CommitRecord] = []
    for i, (message, tags) in enumerate(commits):
        sha = f"{i + 1:040x}"
        parents = (records[-1].sha,) if records else ()
        when = T0 + timedelta(hours=i)
        records.append(CommitRecord(sha, message, parents, "a", when, when, tags))
    return records


def by_tag(releases: list[Release]) -> dict[str | None, Release]:
    return {r.tag: r for r in releases}


def test_tags_cut_releases_and_the_rest_is_unreleased() -> None:
    commits = history(
        ("feat: a", ()),
        ("fix: b", ("v1.0.0",)),
        ("fix: c", ()),
        ("docs: d", ("v1.0.1", "not-a-release")),
        ("feat: e", ()),
    )
    releases = build_changelog(commits, default_config())
    assert [r.tag for r in releases] == [None, "v1.0.1", "v1.0.0"]
    rel = by_tag(releases)
    assert rel["v1.0.0"].commits == (commits[1].sha, commits[0].sha)
    assert rel["v1.0.1"].previous_version == "1.0.0"
    assert rel["v1.0.1"].bump is Bump.PATCH
    assert rel[None].bump is Bump.MINOR and rel[None].next_version == "1.1.0"
    assert rel["v1.0.0"].date == commits[1].committed_at


def test_release_membership_follows_ancestry_not_time() -> None:
    # A branch commit older than v1 but merged after it belongs to v2, as git log v1..v2 says.
    base = CommitRecord("a" * 40, "feat: base", (), "x", T0, T0)
    side = CommitRecord(
        "b" * 40, "fix: side", (base.sha,), "x", T0 + timedelta(1), T0 + timedelta(1)
    )
    v1 = CommitRecord(
        "c" * 40, "fix: main", (base.sha,), "x", T0 + timedelta(2), T0 + timedelta(2), ("v1.0.0",)
    )
    merge = CommitRecord(
        "d" * 40,
        "Merge branch 'side'",
        (v1.sha, side.sha),
        "x",
        T0 + timedelta(3),
        T0 + timedelta(3),
        ("v1.1.0",),
    )
    rel = by_tag(build_changelog([base, side, v1, merge], default_config()))
    assert set(rel["v1.0.0"].commits) == {base.sha, v1.sha}
    assert set(rel["v1.1.0"].commits) == {side.sha, merge.sha}


def test_same_releases_whatever_the_input_order() -> None:
    commits = history(
        ("feat: a", ()),
        ("fix: b", ("v0.1.0",)),
        ("feat!: c", ()),
        ("chore: d", ("v0.2.0",)),
        ("fix: e", ()),
    )
    shuffled = commits[:]
    random.Random(7).shuffle(shuffled)
    assert build_changelog(shuffled, default_config()) == build_changelog(commits, default_config())


def test_a_commit_delivered_twice_is_one_entry() -> None:
    commits = history(("feat: a", ()), ("fix: b", ("v1.0.0",)))
    twice = build_changelog([*commits, commits[0]], default_config())
    assert twice == build_changelog(commits, default_config())


def test_bumps_major_minor_patch_and_none() -> None:
    def bump(*messages: str) -> Bump:
        commits = history(("fix: base", ("v1.0.0",)), *((m, ()) for m in messages))
        return build_changelog(commits, default_config())[0].bump

    assert bump("fix: x", "docs: y") is Bump.PATCH
    assert bump("fix: x", "feat: y") is Bump.MINOR
    assert bump("feat: y", "refactor!: z") is Bump.MAJOR
    assert bump("chore: x", "docs: y") is Bump.NONE
    assert bump("fix: x\n\nBREAKING CHANGE: gone") is Bump.MAJOR
    assert bump("Add a feature the heuristic sees") is Bump.NONE  # guesses do not bump


def test_pre_1_0_convention_and_its_setting() -> None:
    commits = history(("fix: base", ("v0.3.0",)), ("feat!: drop old API", ()))
    unreleased = build_changelog(commits, default_config())[0]
    assert unreleased.bump is Bump.MINOR and unreleased.next_version == "0.4.0"
    feat_only = history(("fix: base", ("v0.3.0",)), ("feat: new", ()))
    patchy = config_from_toml('[versions]\npre_1_0_feat = "patch"\n')
    assert build_changelog(feat_only, patchy)[0].next_version == "0.3.1"


def test_skip_rules_never_hide_a_breaking_change() -> None:
    config = config_from_toml(
        '[changelog]\nbreaking_group = ""\n'
        "[[parsers]]\nmessage = '^chore'\nskip = true\n"
        "[[parsers]]\ntype = '^feat$'\ngroup = 'feat'\n"
    )
    commits = history(("chore(deps)!: drop python 3.9", ()), ("chore(deps): bump x", ()))
    (release,) = build_changelog(commits, config)
    shown = [e.commit for e in release.entries]
    assert shown == [commits[0].sha]
    assert release.entries[0].breaking
    assert [s.commit for s in release.skipped] == [commits[1].sha]


def test_every_commit_is_shown_or_skipped_with_a_reason() -> None:
    commits = history(
        ("WIP", ()),
        ("Merge branch 'x'", ()),
        ("feat: y", ()),
        ("test: z", ()),
        ("random words here", ()),
    )
    (release,) = build_changelog(commits, default_config())
    shown = {e.commit for e in release.entries}
    skipped = {s.commit: s.reason for s in release.skipped}
    assert shown | set(skipped) == {c.sha for c in commits}
    assert not shown & set(skipped)
    flagged = [e for e in release.entries if not e.conventional]
    assert {e.commit for e in flagged} == {commits[0].sha, commits[1].sha, commits[4].sha}
    assert all(reason for reason in skipped.values())


def test_unconventional_skip_setting_records_the_reason() -> None:
    config = config_from_toml('[changelog]\nunconventional = "skip"\n')
    (release,) = build_changelog(history(("tidy things", ()), ("fix: y", ())), config)
    assert [s.reason for s in release.skipped] == ["not a conventional commit"]


def test_ignored_tags_fold_into_the_next_release(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text("[versions]\nignore_tags = 'rc'\n")
    commits = history(("feat: a", ("v1.0.0-rc.1",)), ("fix: b", ("v1.0.0",)))
    releases = build_changelog(commits, load_config(path))
    assert [(r.tag, len(r.commits)) for r in releases] == [("v1.0.0", 2)]


def test_late_commits_change_only_the_releases_they_land_in() -> None:
    commits = history(("feat: a", ("v1.0.0",)), ("fix: b", ("v1.0.1",)), ("docs: c", ()))
    stored = build_changelog(commits, default_config())
    # A commit that arrives late, on a branch merged before v1.0.1 was tagged.
    late = CommitRecord("f" * 40, "fix: late", (commits[0].sha,), "a", T0, T0)
    merge = CommitRecord(
        commits[1].sha, commits[1].message, (commits[0].sha, late.sha), "a",
        commits[1].committed_at, commits[1].committed_at, ("v1.0.1",),
    )  # fmt: skip
    fresh = build_changelog([commits[0], late, merge, commits[2]], default_config())
    changed = changed_releases(stored, fresh)
    assert [r.tag for r in changed] == ["v1.0.1"]
    assert late.sha in changed[0].commits
    assert changed_releases(fresh, fresh) == []
