"""Dead-letter records: the original bytes, key and headers of a message that could not be
processed, with why and where it came from in ``dlq-*`` headers, so it can be replayed as is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

DLQ_HEADER_PREFIX = "dlq-"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """The record to send (``key``, ``value``, ``headers``) and, for PostgreSQL's record of it,
    where it came from and why (the same facts the ``dlq-*`` headers carry)."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    source_topic: str
    source_partition: int
    source_offset: int
    code: str
    reason: str
    failed_at: datetime


def dead_letter(
    *,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
    topic: str,
    partition: int,
    offset: int,
    code: str,
    reason: str,
) -> DeadLetter:
    kept = [(k, v or b"") for k, v in headers if not k.startswith(DLQ_HEADER_PREFIX)]
    reason = reason[:4000]
    failed_at = datetime.now(UTC)
    return DeadLetter(
        key=key,
        value=value,
        headers=[
            *kept,
            ("dlq-reason", reason.encode()),
            ("dlq-code", code.encode()),
            ("dlq-source-topic", topic.encode()),
            ("dlq-source-partition", str(partition).encode()),
            ("dlq-source-offset", str(offset).encode()),
            ("dlq-failed-at", failed_at.isoformat().encode()),
        ],
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        code=code,
        reason=reason,
        failed_at=failed_at,
    )


def read_dead_letter_headers(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """The ``dlq-*`` headers of a dead-letter record, without the prefix."""
    return {
        k[len(DLQ_HEADER_PREFIX) :]: v.decode("utf-8", "replace")
        for k, v in headers
        if k.startswith(DLQ_HEADER_PREFIX)
    }
