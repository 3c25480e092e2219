"""Turning files and git repositories into events for ``opsassist produce``.

Event ids are derived from the content (UUIDv5), not drawn at random, so producing the same file
twice is idempotent downstream: the second copy of each event is recognised by its id.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from opsassist.cli.gitrepo import current_branch, ensure_repository, read_commits
from opsassist.schemas import (
    LATEST_VERSION,
    CommitEvent,
    CommitPayloadV1,
    InvalidEvent,
    LogEvent,
    LogPayloadV1,
    TicketEvent,
    TicketPayloadV3,
    utcnow,
)

_NAMESPACE = uuid.UUID("0f5f3b8e-6a52-4f0e-9a57-6f70736173a1")


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x00".join(parts)))


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if record.get(key) not in (None, ""):
            return record[key]
    return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value).astimezone()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def log_events_from_file(
    path: Path, service: str, source: str = "cli:produce"
) -> Iterator[LogEvent]:
    """One event per non-empty line. A JSON object with a message is split by the worker's
    parser (``streams/enrich``: its message, time, level, host and service keys, the rest as
    attributes), so that the event's time and key are the line's; any other line is the message
    itself, timestamped now, and the worker splits it when it enriches the event."""
    from opsassist.streams.enrich import parse_json_line, parse_timestamp

    now = utcnow()
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.strip():
                continue
            parsed = parse_json_line(line) if line.lstrip().startswith("{") else None
            if parsed is not None and parsed.message:
                message = parsed.message
                ts = (parse_timestamp(parsed.timestamp) if parsed.timestamp else None) or now
                level, host = parsed.level, parsed.host
                svc = parsed.service or service
                attributes = parsed.fields
            else:
                message, ts, level, host, svc, attributes = line, now, None, None, service, {}
            yield LogEvent(
                id=_stable_id("log", svc, path.name, str(lineno), line),
                schema_version=1,
                source=source,
                occurred_at=ts,
                received_at=now,
                payload=LogPayloadV1(
                    timestamp=ts,
                    service=svc,
                    host=host,
                    level=level,
                    message=message,
                    attributes=attributes,
                ),
            )


def repo_name(repo: Path) -> str:
    return repo.resolve().name


def commit_events_from_git(
    repo: Path, rev_range: str | None = None, name: str | None = None, source: str = "cli:produce"
) -> Iterator[CommitEvent]:
    """One event per commit of ``rev_range``, oldest first, with the tags pointing at it."""
    ensure_repository(repo)
    repo_label = name or repo_name(repo)
    branch = current_branch(repo)
    now = utcnow()
    for commit in read_commits(repo, rev_range):
        yield CommitEvent(
            id=f"{repo_label}@{commit.sha}",
            schema_version=1,
            source=source,
            occurred_at=commit.committed_at,
            received_at=now,
            payload=CommitPayloadV1(
                repo=repo_label,
                sha=commit.sha,
                parents=commit.parents,
                author_name=commit.author_name,
                author_email=commit.author_email or None,
                authored_at=commit.authored_at,
                committed_at=commit.committed_at,
                message=commit.message,
                branch=branch,
                tags=commit.tags,
            ),
        )


_TICKET_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "id", "key", "number", "ticket_id"),
    "title": ("title", "summary", "subject"),
    "body": ("body", "description", "text"),
    "reporter": ("reporter_id", "reporter", "author", "requester", "user"),
    "status": ("status", "state"),
    "created_at": ("created_at", "created", "opened_at"),
    "updated_at": ("updated_at", "updated", "modified_at"),
}


def _ticket_from_record(
    record: dict[str, Any], source_system: str, source: str, now: datetime
) -> TicketEvent:
    def pick(field: str) -> Any:
        return _first(record, _TICKET_ALIASES[field])

    title = pick("title")
    if title is None:
        raise InvalidEvent("validation_error", "a ticket needs a title (or summary/subject)")
    created = _parse_time(pick("created_at")) or now
    updated = _parse_time(pick("updated_at")) or created
    labels_raw = record.get("labels", record.get("label"))
    if isinstance(labels_raw, str):
        labels = [part.strip() for part in labels_raw.split(",") if part.strip()]
    elif isinstance(labels_raw, list):
        labels = [str(x) for x in labels_raw]
    else:
        labels = []
    system = str(record.get("source_system") or record.get("repo") or source_system)
    external_id = pick("external_id")
    if external_id is None:
        digest = hashlib.sha256(f"{system}\x00{title}\x00{created.isoformat()}".encode())
        external_id = digest.hexdigest()[:16]
    payload = TicketPayloadV3(
        external_id=str(external_id),
        source_system=system,
        title=str(title),
        body=str(pick("body") or ""),
        reporter_id=pick("reporter") and str(pick("reporter")),
        status=str(pick("status") or "open"),
        labels=labels,
        created_at=created,
        updated_at=updated,
    )
    return TicketEvent(
        id=_stable_id(
            "ticket", system, str(external_id), updated.isoformat(), payload.title, payload.body
        ),
        schema_version=LATEST_VERSION["ticket"],
        source=source,
        occurred_at=updated,
        received_at=now,
        payload=payload,
    )


def ticket_events_from_file(
    path: Path, source_system: str = "file", source: str = "cli:produce"
) -> Iterator[TicketEvent]:
    """Tickets from JSONL (one object a line) or CSV (a header row); common column names of
    ticket systems are understood (``summary`` for title, ``description`` for body, ...)."""
    now = utcnow()
    if path.suffix.lower() == ".csv":
        csv.field_size_limit(10_000_000)
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                yield _ticket_from_record(dict(row), source_system, source, now)
        return
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InvalidEvent("invalid_json", f"{path}:{lineno}: {exc}") from None
            if not isinstance(record, dict):
                raise InvalidEvent("invalid_json", f"{path}:{lineno}: a ticket is a JSON object")
            yield _ticket_from_record(record, source_system, source, now)
