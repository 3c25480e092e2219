"""Changelogs from commits: Conventional Commits parsing, releases and semver bumps, Markdown and
JSON, and the check that keeps an optional LLM rewording honest. Plain code: no Kafka, no
database; the CLI, the benchmark and the pipeline's agent all call the functions below.

Typical use::

    config = load_config(path_or_None, repository_url="https://github.com/o/r")
    releases = build_changelog(commit_records, config)   # newest first, Unreleased on top
    print(render_markdown(releases, config))
"""

from opsassist.streams.changelog._config import ChangelogConfig, default_config, load_config
from opsassist.streams.changelog._model import (
    Bump,
    ChangelogError,
    CommitRecord,
    Entry,
    Group,
    InvalidCommit,
    InvalidConfig,
    ParsedCommit,
    Release,
    Skipped,
)
from opsassist.streams.changelog._parser import parse_commit
from opsassist.streams.changelog._polish import (
    InvalidRewording,
    PolishVerdict,
    Proposer,
    Rewording,
    apply_rewording,
    check_rewording,
    parse_rewording,
    polish_prompt,
    polish_release,
)
from opsassist.streams.changelog._records import commit_from_mapping, commits_from_jsonl
from opsassist.streams.changelog._releases import build_changelog, changed_releases
from opsassist.streams.changelog._render import releases_to_json, render_markdown

__all__ = [
    "Bump",
    "ChangelogConfig",
    "ChangelogError",
    "CommitRecord",
    "Entry",
    "Group",
    "InvalidCommit",
    "InvalidConfig",
    "InvalidRewording",
    "ParsedCommit",
    "PolishVerdict",
    "Proposer",
    "Release",
    "Rewording",
    "Skipped",
    "apply_rewording",
    "build_changelog",
    "changed_releases",
    "check_rewording",
    "commit_from_mapping",
    "commits_from_jsonl",
    "default_config",
    "load_config",
    "parse_commit",
    "parse_rewording",
    "polish_prompt",
    "polish_release",
    "releases_to_json",
    "render_markdown",
]
