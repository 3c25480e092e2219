"""Configuration errors, group order and titles, scopes, links, and the JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsassist.streams.changelog import (
    CommitRecord,
    InvalidConfig,
    build_changelog,
    default_config,
    releases_to_json,
    render_markdown,
)
from opsassist.streams.changelog._config import config_from_toml

T = datetime(2026, 3, 4, tzinfo=UTC)
SHA1, SHA2, SHA3 = "a" * 40, "b" * 40, "c" * 40
COMMITS = [
    CommitRecord(
        SHA1, "fix(api): handle empty body (#12)\n\nCloses #7", (), "x", T, T, ("v1.0.0",)
    ),
    CommitRecord(SHA2, "feat(ui): dark mode", (SHA1,), "x", T, T),
    CommitRecord(SHA3, "feat!: new config format", (SHA2,), "x", T, T, ("v2.0.0",)),
]


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ("[[parsers]]\ntype = '('\ngroup = 'feat'\n", "parsers[0].type"),
        ("[[parsers]]\ntype = 'x'\n", "parsers[0]"),
        ("[[parsers]]\ntype = 'x'\ngroup = 'nope'\n", "'nope'"),
        ("[changelog]\nsort = 'random'\n", "changelog.sort"),
        ("[changelog]\ncolour = 'red'\n", "colour"),
        ("[versions]\npre_1_0_feat = 'huge'\n", "pre_1_0_feat"),
        ("not toml [", "TOML"),
        ('groups = []\n[changelog]\nbreaking_group = ""\ndefault_group = ""\n', "groups"),
    ],
)
def test_bad_configuration_names_the_problem(toml: str, names: str) -> None:
    with pytest.raises(InvalidConfig, match=names.replace("[", r"\[").replace("(", r"\(")):
        config_from_toml(toml)


def test_group_order_and_titles_come_from_the_configuration() -> None:
    config = config_from_toml(
        '[changelog]\nbreaking_group = ""\ndefault_group = ""\n'
        '[[groups]]\nkey = "fix"\ntitle = "Fixed"\n[[groups]]\nkey = "feat"\ntitle = "Added"\n'
        "[[parsers]]\ntype = '^feat$'\ngroup = 'feat'\n[[parsers]]\ntype = '^fix$'\ngroup = 'fix'\n"
    )
    untagged = [CommitRecord(c.sha, c.message, c.parents, "x", T, T) for c in COMMITS[:2]]
    text = render_markdown(build_changelog(untagged, config), config)
    assert text.index("### Fixed") < text.index("### Added")


def test_scopes_can_be_hidden() -> None:
    shown = render_markdown(build_changelog(COMMITS, default_config()), default_config())
    assert "**ui:** Dark mode" in shown
    hidden_cfg = config_from_toml("[changelog]\nshow_scopes = false\n")
    hidden = render_markdown(build_changelog(COMMITS, hidden_cfg), hidden_cfg)
    assert "- Dark mode" in hidden and "**ui:**" not in hidden


def test_links_only_when_the_repository_is_known() -> None:
    plain = render_markdown(build_changelog(COMMITS, default_config()), default_config())
    assert "https://" not in plain and "(aaaaaaa)" in plain
    config = config_from_toml('[changelog]\nrepository_url = "https://git.example/o/r/"\n')
    linked = render_markdown(build_changelog(COMMITS, config), config)
    assert f"[aaaaaaa](https://git.example/o/r/commit/{SHA1})" in linked
    assert "[#12](https://git.example/o/r/pull/12)" in linked
    assert "## [2.0.0](https://git.example/o/r/compare/v1.0.0...v2.0.0)" in linked


def test_gitlab_link_patterns() -> None:
    config = config_from_toml(
        '[changelog]\nrepository_url = "https://gitlab.example/g/p"\n'
        '[links]\npull_request = "{repo}/-/merge_requests/{number}"\n'
    )
    text = render_markdown(build_changelog(COMMITS, config), config)
    assert "https://gitlab.example/g/p/-/merge_requests/12" in text


def test_json_names_version_date_bump_groups_and_commits() -> None:
    data = releases_to_json(build_changelog(COMMITS, default_config()))
    assert [(r["version"], r["bump"]) for r in data] == [("2.0.0", "major"), ("1.0.0", "patch")]
    assert data[0]["date"] == T.isoformat()
    titles = [g["title"] for g in data[0]["groups"]]
    assert titles == ["⚠ Breaking changes", "Features"]
    commits = [e["commit"] for g in data[0]["groups"] for e in g["entries"]]
    assert sorted(commits) == [SHA2, SHA3]
    fix = data[1]["groups"][0]["entries"][0]
    assert (fix["pull_request"], fix["issues"], fix["scope"]) == (12, [7], "api")


def test_guessed_types_are_marked_unless_configured_otherwise() -> None:
    commits = [CommitRecord(SHA1, "Fixed the login loop", (), "x", T, T)]
    marked = render_markdown(build_changelog(commits, default_config()), default_config())
    assert "- Fixed the login loop _(type guessed)_ (aaaaaaa)" in marked
    quiet_cfg = config_from_toml("[changelog]\nmark_unconventional = false\n")
    quiet = render_markdown(build_changelog(commits, quiet_cfg), quiet_cfg)
    assert "guessed" not in quiet and "- Fixed the login loop (aaaaaaa)" in quiet
