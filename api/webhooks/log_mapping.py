"""``/ingest/logs`` as plain functions: a body of NDJSON or plain text lines turned into log
events, every line validated on its own, and each rejected line reported with its number and
the reason.

NDJSON: one JSON object per line with the log payload's fields (``timestamp``, ``service``,
``host``, ``level``, ``message``, ``attributes``); ``service``, ``host`` and ``level`` default to
the request's query parameters, ``timestamp`` to the time the request was received. Plain text:
each line is a ``message``, with ``service`` (required), ``host`` and ``level`` from the query.
Empty lines are skipped, not counted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from opsassist.api.bodies import InvalidJson, load_json
from opsassist.schemas import LogEvent, LogPayloadV1

LineFormat = Literal["ndjson", "text"]
SOURCE = "ingest:logs"
_ID_NAMESPACE = uuid.UUID("6f707361-0003-4000-8000-000000000003")


@dataclass(frozen=True, slots=True)
class LogDefaults:
    service: str | None = None
    host: str | None = None
    level: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str


@dataclass(slots=True)
class ParsedLines:
    events: list[LogEvent] = field(default_factory=list)
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, line: int, reason: str, max_listed: int) -> None:
        self.rejected += 1
        if len(self.rejections) < max_listed:
            self.rejections.append(Rejection(line, reason))


def _describe(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(map(str, e['loc'])) or '(line)'}: {e['msg']}"
        for e in exc.errors(include_url=False)[:3]
    ]
    return "; ".join(parts)


def _fields(raw: bytes, fmt: LineFormat, defaults: LogDefaults, received_at: datetime) -> Any:
    base: dict[str, Any] = {"timestamp": received_at}
    for name in ("service", "host", "level"):
        if getattr(defaults, name) is not None:
            base[name] = getattr(defaults, name)
    if fmt == "text":
        return {**base, "message": raw.decode("utf-8").rstrip("\r")}
    data = load_json(raw)
    if not isinstance(data, dict):
        raise TypeError(f"a line is a JSON object, got {type(data).__name__}")
    return {**base, **{k: v for k, v in data.items() if v is not None or k not in base}}


def parse_log_lines(
    body: bytes,
    fmt: LineFormat,
    defaults: LogDefaults,
    received_at: datetime,
    *,
    max_listed: int = 100,
    id_seed: str | None = None,
    trace_id: str | None = None,
) -> ParsedLines:
    """Every non-empty line of ``body`` as a log event, or a rejection saying why not.

    ``id_seed`` (the request's idempotency key) makes the event ids a function of it and the line
    number, so a retried request yields the same ids; without it the ids are random.
    """
    parsed = ParsedLines()
    for number, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            fields = _fields(raw, fmt, defaults, received_at)
            payload = LogPayloadV1.model_validate(fields)
        except UnicodeDecodeError:
            parsed.reject(number, "not UTF-8", max_listed)
            continue
        except InvalidJson as exc:
            parsed.reject(number, str(exc), max_listed)
            continue
        except TypeError as exc:
            parsed.reject(number, str(exc), max_listed)
            continue
        except ValidationError as exc:
            parsed.reject(number, _describe(exc), max_listed)
            continue
        event_id = (
            f"log:{uuid.uuid5(_ID_NAMESPACE, f'{id_seed}:{number}')}"
            if id_seed is not None
            else str(uuid.uuid4())
        )
        parsed.events.append(
            LogEvent(
                id=event_id,
                schema_version=1,
                source=SOURCE,
                occurred_at=payload.timestamp,
                received_at=received_at,
                trace_id=trace_id,
                payload=payload,
            )
        )
    return parsed
