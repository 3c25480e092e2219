"""Reading commits and tags from a real git repository with the ``git`` command.

``git log`` with a NUL-separated format is the most faithful reader there is: it sees exactly what
git sees (grafts, mailmap-free raw authors, merges) and needs no library.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%cI", "%B")
_RECORD_END = "\x1e"


class GitError(RuntimeError):
    """git could not read the repository or the range; the message says what git said."""


@dataclass(frozen=True, slots=True)
class GitCommit:
    sha: str
    parents: list[str]
    author_name: str
    author_email: str
    authored_at: datetime
    committed_at: datetime
    message: str
    tags: list[str] = field(default_factory=list)


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed; install it (apt-get install git)") from None
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args[:2])} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def tags_by_commit(repo: Path) -> dict[str, list[str]]:
    """Commit sha -> the tags pointing at it (annotated tags peeled to their commit)."""
    out = _git(
        repo, "for-each-ref", "--format=%(objectname) %(*objectname) %(refname:short)", "refs/tags"
    )
    tags: dict[str, list[str]] = {}
    for line in out.splitlines():
        parts = line.split(" ")
        if len(parts) == 3:
            obj, peeled, name = parts
        else:
            obj, name, peeled = parts[0], parts[-1], ""
        tags.setdefault(peeled or obj, []).append(name)
    return tags


def ensure_repository(repo: Path) -> None:
    """Raise :class:`GitError` unless ``repo`` is a git repository (a work tree or a bare one)."""
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        raise GitError(f"{repo} is not a git repository")


def current_branch(repo: Path) -> str | None:
    name = _git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    return None if name == "HEAD" else name


def read_commits(repo: Path, rev_range: str | None = None) -> Iterator[GitCommit]:
    """Commits of ``rev_range`` (``A..B``; default: all reachable from HEAD), oldest first."""
    ensure_repository(repo)
    tags = tags_by_commit(repo)
    fmt = "%x1f".join(_FIELDS) + _RECORD_END
    out = _git(
        repo,
        "log",
        "--reverse",
        "--topo-order",
        f"--format={fmt}",
        *([rev_range] if rev_range else []),
    )
    for chunk in out.split(_RECORD_END):
        record = chunk.lstrip("\n")
        if not record:
            continue
        sha, parents, name, email, authored, committed, message = record.split("\x1f", 6)
        yield GitCommit(
            sha=sha,
            parents=parents.split(),
            author_name=name,
            author_email=email,
            authored_at=datetime.fromisoformat(authored),
            committed_at=datetime.fromisoformat(committed),
            message=message.rstrip("\n"),
            tags=sorted(tags.get(sha, [])),
        )
