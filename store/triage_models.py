"""Stored triage models (``triage_models``) and the stored tickets they learn from.

A model is saved as the bytes ``TriageModel.to_bytes`` writes (NumPy arrays, never a pickle)
with what it was trained on and how it scored. Workers use the newest active model: they read
its version cheaply (:func:`active_model_version`) and load its bytes only when it changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

_SAVE = """
INSERT INTO triage_models (version, created_by, active, trained_on, metrics, model)
VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)
RETURNING id, created_at
"""
_ACTIVE_VERSION = """
SELECT version FROM triage_models WHERE active ORDER BY created_at DESC, id DESC LIMIT 1
"""
_ACTIVE = """
SELECT id, version, created_at, created_by, active, trained_on, metrics, model
FROM triage_models WHERE active ORDER BY created_at DESC, id DESC LIMIT 1
"""
_LIST = """
SELECT id, version, created_at, created_by, active, trained_on, metrics, NULL::bytea AS model
FROM triage_models ORDER BY created_at DESC, id DESC LIMIT $1
"""
_SET_ACTIVE = "UPDATE triage_models SET active = $2 WHERE version = $1 RETURNING id"
_TRAINING_TICKETS = """
SELECT id, source_system, external_id, title, body, labels, category,
       'category' = ANY (human_fields) AS corrected,
       workflow_status IN ('resolved', 'closed') AS resolved
FROM tickets
WHERE 'category' = ANY (human_fields)
   OR labels <> '{}'
   OR (workflow_status IN ('resolved', 'closed') AND category IS NOT NULL)
ORDER BY id
"""


@dataclass(frozen=True, slots=True)
class StoredModel:
    id: int
    version: str
    created_at: datetime
    created_by: str
    active: bool
    trained_on: dict[str, Any]
    metrics: dict[str, Any]
    #: ``TriageModel.to_bytes()``; empty in listings
    model: bytes


def _stored(row: asyncpg.Record) -> StoredModel:
    return StoredModel(
        id=row["id"],
        version=row["version"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        active=row["active"],
        trained_on=orjson.loads(row["trained_on"]),
        metrics=orjson.loads(row["metrics"]),
        model=bytes(row["model"] or b""),
    )


async def save_model(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    version: str,
    model: bytes,
    trained_on: dict[str, Any],
    metrics: dict[str, Any],
    created_by: str,
    active: bool = True,
) -> int:
    """Store a trained model; active (the default), it becomes the one workers load next.
    Returns its id. A version already stored raises ``asyncpg.UniqueViolationError``."""
    row = await conn.fetchrow(
        _SAVE,
        version,
        created_by,
        active,
        orjson.dumps(trained_on).decode(),
        orjson.dumps(metrics).decode(),
        model,
    )
    assert row is not None
    return int(row["id"])


async def active_model_version(conn: asyncpg.Connection | asyncpg.Pool) -> str | None:
    """The version of the newest active model, or None: one index lookup, cheap to poll."""
    version: str | None = await conn.fetchval(_ACTIVE_VERSION)
    return version


async def active_model(conn: asyncpg.Connection | asyncpg.Pool) -> StoredModel | None:
    """The newest active model with its bytes, or None."""
    row = await conn.fetchrow(_ACTIVE)
    return _stored(row) if row is not None else None


async def list_models(
    conn: asyncpg.Connection | asyncpg.Pool, limit: int = 20
) -> list[StoredModel]:
    """The newest models first, without their bytes."""
    return [_stored(row) for row in await conn.fetch(_LIST, limit)]


async def set_model_active(
    conn: asyncpg.Connection | asyncpg.Pool, version: str, active: bool
) -> bool:
    """(De)activate a stored model; False if no model has that version. Deactivating the
    newest active model rolls the workers back to the previous active one."""
    return await conn.fetchval(_SET_ACTIVE, version, active) is not None


@dataclass(frozen=True, slots=True)
class TrainingTicket:
    """A stored ticket that may teach the model: a correction, source labels, or resolved."""

    id: int
    source_system: str
    external_id: str
    title: str
    body: str
    labels: tuple[str, ...]
    category: str | None
    corrected: bool
    resolved: bool


async def training_tickets(conn: asyncpg.Connection | asyncpg.Pool) -> list[TrainingTicket]:
    """Tickets with a corrected category, source labels, or resolved with a category."""
    return [
        TrainingTicket(
            id=row["id"],
            source_system=row["source_system"],
            external_id=row["external_id"],
            title=row["title"],
            body=row["body"],
            labels=tuple(row["labels"]),
            category=row["category"],
            corrected=row["corrected"],
            resolved=row["resolved"],
        )
        for row in await conn.fetch(_TRAINING_TICKETS)
    ]
