"""Commit records from plain data: JSONL lines of exported git logs, and commit payloads.

Two shapes are accepted so one reader serves the CLI, the benchmark and the pipeline:
the evaluation data's ``hash, parents, subject, body, author_date, committer_date, release``
(plus optional ``tags``), and the commit event payload's ``sha, message, authored_at,
committed_at, tags``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

from opsassist.streams.changelog._model import CommitRecord, InvalidCommit


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise InvalidCommit(f"not an ISO 8601 time: {value!r}") from None
    return None


def _strings(value: object, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidCommit(f"{name} must be a list of strings")
    return tuple(value)


def commit_from_mapping(data: Mapping[str, Any]) -> CommitRecord:
    """One commit record from either accepted shape; InvalidCommit says what is wrong."""
    sha = data.get("sha") or data.get("hash")
    if not isinstance(sha, str) or not sha:
        raise InvalidCommit("a commit needs a 'hash' (or 'sha')")
    if "message" in data:
        message = data["message"]
    else:
        subject, body = data.get("subject", ""), data.get("body", "")
        message = f"{subject}\n\n{body}" if body else subject
    if not isinstance(message, str) or not message.strip():
        raise InvalidCommit(f"commit {sha[:12]} has no message")
    release = data.get("release")
    return CommitRecord(
        sha=sha,
        message=message,
        parents=_strings(data.get("parents"), "parents"),
        author_name=str(data.get("author_name") or ""),
        authored_at=_time(data.get("authored_at") or data.get("author_date")),
        committed_at=_time(data.get("committed_at") or data.get("committer_date")),
        tags=_strings(data.get("tags"), "tags"),
        release=release if isinstance(release, str) and release else None,
    )


def commits_from_jsonl(lines: Iterable[bytes | str]) -> Iterator[CommitRecord]:
    """Commit records from JSONL lines (blank lines ignored); errors name the line number."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidCommit(f"line {number}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise InvalidCommit(f"line {number}: expected a JSON object")
        try:
            yield commit_from_mapping(data)
        except InvalidCommit as exc:
            raise InvalidCommit(f"line {number}: {exc}") from None
