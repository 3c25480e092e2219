"""Small real git repositories for tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        # one fixed time: commits of a test are made within a second anyway, so let every test
        # meet the ties that brings (and be repeatable)
        "GIT_AUTHOR_DATE": "2026-11-20T10:00:00+00:00",
        "GIT_COMMITTER_DATE": "2026-11-20T10:00:00+00:00",
        "HOME": str(repo),
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )
    return done.stdout.strip()


def make_repo(path: Path, messages: list[str], tags: dict[int, str] | None = None) -> Path:
    """A repository on branch ``main`` with one commit per message; ``tags`` maps a commit's
    index to a tag name (names starting with ``a:`` become annotated tags)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for n, message in enumerate(messages):
        (path / "f.txt").write_text(str(n))
        git(path, "add", "f.txt")
        git(path, "commit", "-q", "-m", message)
        tag = (tags or {}).get(n)
        if tag and tag.startswith("a:"):
            git(path, "tag", "-a", tag[2:], "-m", "release")
        elif tag:
            git(path, "tag", tag)
    return path
