"""``opsassist changelog``: the changelog of a git repository or of an exported commit log."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console

from opsassist.cli.gitrepo import GitCommit, GitError, read_commits

# The settings and the changelog stage load inside the command: the CLI starts without them
# (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    from opsassist.streams.changelog import CommitRecord

console = Console(stderr=True)


def commit_record(commit: GitCommit) -> CommitRecord:
    """The changelog's view of a commit read by ``opsassist.cli.gitrepo``."""
    from opsassist.streams.changelog import CommitRecord

    return CommitRecord(
        sha=commit.sha,
        message=commit.message,
        parents=tuple(commit.parents),
        author_name=commit.author_name,
        authored_at=commit.authored_at,
        committed_at=commit.committed_at,
        tags=tuple(commit.tags),
    )


_REMOTE = re.compile(
    r"^(?:https?://|ssh://)?(?:[^@/]+@)?(?P<host>[^/:]+\.[^/:]+)[:/](?P<path>.+?)(?:\.git)?/?$"
)


def repository_url_of(repo: Path) -> str | None:
    """The web URL of the ``origin`` remote (``git@host:o/r.git`` → ``https://host/o/r``)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    match = _REMOTE.match(done.stdout.strip()) if done.returncode == 0 else None
    return f"https://{match['host']}/{match['path']}" if match else None


def _from_git(repo: Path, rev_range: str | None) -> Iterator[CommitRecord]:
    return (commit_record(c) for c in read_commits(repo, rev_range))


def changelog(
    *,
    git: Annotated[
        Path | None, typer.Option("--git", help="Path of a git repository.", file_okay=False)
    ] = None,
    rev_range: Annotated[
        str | None, typer.Option("--range", help="A..B with --git; default: all of HEAD.")
    ] = None,
    commits: Annotated[
        Path | None,
        typer.Option(
            "--commits",
            help="JSONL of commits (hash, parents, subject, body, ...).",
            dir_okay=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Releases as JSON, for machines.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML laid over the default configuration.")
    ] = None,
    repository_url: Annotated[
        str | None,
        typer.Option(
            "--repository-url",
            help="e.g. https://github.com/o/r; enables links. Default: the origin remote.",
        ),
    ] = None,
) -> None:
    """Print the changelog (Markdown, or --json) of --git PATH [--range A..B] or --commits FILE."""
    from opsassist.settings import get_settings
    from opsassist.streams.changelog import (
        ChangelogError,
        build_changelog,
        commits_from_jsonl,
        load_config,
        releases_to_json,
        render_markdown,
    )

    if (git is None) == (commits is None):
        raise typer.BadParameter("give exactly one of --git PATH or --commits FILE.jsonl")
    if rev_range and git is None:
        raise typer.BadParameter("--range goes with --git")
    settings = get_settings()
    # Links: --repository-url, else the setting, else the config file, else the origin remote.
    url = repository_url if repository_url is not None else settings.changelog_repository_url
    try:
        cfg = load_config(config or settings.changelog_config, url or None)
        if not cfg.repository_url and git is not None and (origin := repository_url_of(git)):
            cfg = load_config(config or settings.changelog_config, origin)
        if git is not None:
            releases = build_changelog(_from_git(git, rev_range), cfg)
        else:
            assert commits is not None
            with commits.open("rb") as fh:
                releases = build_changelog(commits_from_jsonl(fh), cfg)
    except (ChangelogError, GitError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.buffer.write(
            orjson.dumps(releases_to_json(releases), option=orjson.OPT_INDENT_2)
        )
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_markdown(releases, cfg))
