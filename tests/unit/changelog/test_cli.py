"""``opsassist changelog`` on a repository the test builds with git, and on JSONL."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsassist.cli import app
from opsassist.cli.changelog import repository_url_of
from opsassist.cli.readers import commit_events_from_git
from opsassist.streams.changelog import (
    build_changelog,
    commit_from_mapping,
    default_config,
    releases_to_json,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    for message in ("feat: first feature", "fix(core): a bug (#3)", "Tidy up things"):
        git(path, "commit", "-q", "--allow-empty", "-m", message)
    git(path, "tag", "-a", "v1.0.0", "-m", "release 1.0.0")
    git(
        path,
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "feat(api)!: new auth",
        "-m",
        "BREAKING CHANGE: tokens",
    )
    git(path, "tag", "v2.0.0")
    git(path, "commit", "-q", "--allow-empty", "-m", "docs: guide")
    return path


def test_markdown_from_a_git_repository(repo: Path) -> None:
    result = CliRunner().invoke(app, ["changelog", "--git", str(repo)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.index("## [Unreleased]") < text.index("## [2.0.0]") < text.index("## [1.0.0]")
    assert "**api:** New auth" in text and "BREAKING CHANGE: tokens" in text
    assert "**core:** A bug (#3)" in text


def test_json_names_every_commit_once(repo: Path) -> None:
    result = CliRunner().invoke(app, ["changelog", "--git", str(repo), "--json"])
    data = json.loads(result.stdout)
    assert [(r["version"], r["bump"]) for r in data] == [
        (None, "none"),
        ("2.0.0", "major"),
        ("1.0.0", "minor"),
    ]
    seen = [e["commit"] for r in data for g in r["groups"] for e in g["entries"]]
    seen += [s["commit"] for r in data for s in r["skipped"]]
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%H"], capture_output=True, text=True, check=True
    )
    assert sorted(seen) == sorted(log.stdout.split())
    tidy = [e for r in data for g in r["groups"] for e in g["entries"] if not e["conventional"]]
    assert [e["text"] for e in tidy] == ["Tidy up things"]


def test_links_follow_the_origin_remote_unless_given(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "git@github.com:owner/name.git")
    inferred = CliRunner().invoke(app, ["changelog", "--git", str(repo)]).stdout
    assert "](https://github.com/owner/name/commit/" in inferred
    given = ["changelog", "--git", str(repo), "--repository-url", "https://git.example/x/y"]
    assert "](https://git.example/x/y/commit/" in CliRunner().invoke(app, given).stdout


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("https://github.com/o/r.git", "https://github.com/o/r"),
        ("ssh://git@gitlab.example.com/g/sub/p.git", "https://gitlab.example.com/g/sub/p"),
        ("/srv/git/local.git", None),
    ],
)
def test_repository_url_of_remote_forms(repo: Path, remote: str, url: str | None) -> None:
    git(repo, "remote", "add", "origin", remote)
    assert repository_url_of(repo) == url


def test_range_limits_the_commits(repo: Path) -> None:
    result = CliRunner().invoke(
        app, ["changelog", "--git", str(repo), "--range", "v1.0.0..v2.0.0", "--json"]
    )
    data = json.loads(result.stdout)
    assert [r["version"] for r in data] == ["2.0.0"]


def test_commit_events_give_the_same_changelog_as_the_cli(repo: Path) -> None:
    # The pipeline stores what `produce commits --git` sends; a changelog built from those
    # payloads must equal the CLI's. (Through Kafka and Postgres: the lead's integration test.)
    payloads = [e.payload.model_dump() for e in commit_events_from_git(repo, None, "repo")]
    from_events = releases_to_json(
        build_changelog(map(commit_from_mapping, payloads), default_config())
    )
    cli = json.loads(CliRunner().invoke(app, ["changelog", "--git", str(repo), "--json"]).stdout)
    assert from_events == cli


def test_commits_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    day1, day2 = "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"
    common = {"body": "", "author_name": "x"}
    rows = [
        {"hash": "b" * 40, "parents": ["a" * 40], "subject": "fix: two", **common,
         "author_date": day2, "committer_date": day2, "release": "v1.0.1"},
        {"hash": "a" * 40, "parents": [], "subject": "feat: one", **common,
         "author_date": day1, "committer_date": day1, "release": "v1.0.0"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    data = json.loads(
        CliRunner().invoke(app, ["changelog", "--commits", str(path), "--json"]).stdout
    )
    assert [(r["version"], r["previous_version"]) for r in data] == [
        ("1.0.1", "1.0.0"),
        ("1.0.0", None),
    ]


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hash": "abc"}\n')
    result = CliRunner().invoke(app, ["changelog", "--commits", str(bad)])
    assert result.exit_code == 2 and "line 1" in result.output
    both = CliRunner().invoke(app, ["changelog"])
    assert both.exit_code != 0
