"""Dead-letter records: the original bytes, key and headers of a message that could not be
processed, with why and where it came from in ``dlq-*`` headers, so it can be replayed as is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from store.dead_letters import DeadLetterRecord

DLQ_HEADER_PREFIX = "dlq-"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


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
    return DeadLetter(
        key=key,
        value=value,
        headers=[
            *kept,
            ("dlq-reason", reason[:4000].encode()),
            ("dlq-code", code.encode()),
            ("dlq-source-topic", topic.encode()),
            ("dlq-source-partition", str(partition).encode()),
            ("dlq-source-offset", str(offset).encode()),
            ("dlq-failed-at", datetime.now(UTC).isoformat().encode()),
        ],
    )


def read_dead_letter_headers(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """The ``dlq-*`` headers of a dead-letter record, without the prefix."""
    return {
        k[len(DLQ_HEADER_PREFIX) :]: v.decode("utf-8", "replace")
        for k, v in headers
        if k.startswith(DLQ_HEADER_PREFIX)
    }


def dead_letter_record(
    letter: DeadLetter, dlq_topic: str, dlq_partition: int, dlq_offset: int
) -> DeadLetterRecord:
    """What PostgreSQL keeps of a dead letter placed at ``dlq_partition``/``dlq_offset``: where
    it came from and why, never its bytes (store/dead_letters.py)."""
    meta = read_dead_letter_headers(letter.headers)
    return DeadLetterRecord(
        source_topic=meta["source-topic"],
        source_partition=int(meta["source-partition"]),
        source_offset=int(meta["source-offset"]),
        dlq_topic=dlq_topic,
        dlq_partition=dlq_partition,
        dlq_offset=dlq_offset,
        code=meta["code"],
        reason=meta["reason"],
        failed_at=datetime.fromisoformat(meta["failed-at"]),
    )
