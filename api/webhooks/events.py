"""``POST /ingest/logs`` (NDJSON or plain text lines, gzip accepted) and ``POST /ingest/events``
(the generic envelope, one or a batch), for senders that cannot speak Kafka."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from opsassist.api.bodies import json_body, media_type
from opsassist.api.metrics import WEBHOOK_REJECTED_LINES
from opsassist.api.problems import Unprocessable, UnsupportedMediaType, problem_responses
from opsassist.api.webhooks.auth import Caller
from opsassist.api.webhooks.idempotency import Answer, request_fingerprint
from opsassist.api.webhooks.ingestion import authenticated_caller, ingestion, respond, trace_id_of
from opsassist.api.webhooks.log_mapping import LineFormat, LogDefaults, parse_log_lines
from opsassist.schemas import AnyEvent, InvalidEvent, decode_event, utcnow

router = APIRouter(tags=["ingest"])

LINE_FORMATS: dict[str, LineFormat] = {
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json-lines": "ndjson",
    "text/plain": "text",
}

_LOGS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "One JSON log object per line."}
            },
            "text/plain": {"schema": {"type": "string", "description": "One message per line."}},
        },
    }
}
_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "schema_version", "source", "occurred_at", "payload"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": ["log", "commit", "ticket"]},
        "schema_version": {"type": "integer"},
        "source": {"type": "string"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "received_at": {"type": "string", "format": "date-time"},
        "trace_id": {"type": "string"},
        "payload": {"type": "object"},
    },
}
_EVENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _ENVELOPE_SCHEMA,
                        {"type": "array", "items": _ENVELOPE_SCHEMA, "minItems": 1},
                    ]
                }
            }
        },
    }
}


@router.post(
    "/ingest/logs",
    summary="Log lines (NDJSON or plain text, optionally gzip) become log events",
    status_code=202,
    responses={
        202: {"description": "the accepted lines are queued in Kafka; rejected lines are listed"},
        **problem_responses(401, 403, 409, 413, 415, 422, 429, 503),
    },
    openapi_extra=_LOGS_BODY,
)
async def ingest_logs(
    request: Request,
    *,
    caller: Caller = Depends(authenticated_caller),  # noqa: B008
    service: str | None = Query(default=None, min_length=1, max_length=200),
    host: str | None = Query(default=None, max_length=255),
    level: str | None = Query(default=None, max_length=32),
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=255),
    content_encoding: str | None = Header(default=None, alias="Content-Encoding"),
) -> JSONResponse:
    caller.require("logs")
    state = ingestion(request)
    settings = state.settings
    line_format = LINE_FORMATS.get(media_type(request))
    if line_format is None:
        raise UnsupportedMediaType(
            f"log lines are one of {', '.join(LINE_FORMATS)}, not "
            f"{media_type(request) or 'untyped'}"
        )
    if line_format == "text" and service is None:
        raise Unprocessable("plain text lines need the ?service= they come from")
    body = await state.decoded_body(request, content_encoding)

    async def produce() -> Answer:
        parsed = parse_log_lines(
            body,
            line_format,
            LogDefaults(service=service, host=host, level=level),
            utcnow(),
            max_listed=settings.webhook_max_listed_rejects,
            id_seed=f"{caller.key_id}:{idempotency_key}" if idempotency_key else None,
            trace_id=trace_id_of(request),
        )
        rejections = [{"line": r.line, "reason": r.reason} for r in parsed.rejections]
        WEBHOOK_REJECTED_LINES.inc(parsed.rejected)
        if not parsed.events:
            raise Unprocessable(
                f"no line was accepted ({parsed.rejected} rejected)",
                extensions={"accepted": 0, "rejected": parsed.rejected, "rejections": rejections},
            )
        await state.publish(parsed.events, "logs")
        return Answer(
            202,
            {"accepted": len(parsed.events), "rejected": parsed.rejected, "rejections": rejections},
        )

    scope = f"{caller.key_id}:logs"
    fingerprint = request_fingerprint(
        body, str(request.query_params).encode(), line_format.encode()
    )
    return respond(await state.idempotency.run(scope, idempotency_key, fingerprint, produce))


def _events(body: bytes, traceparent_trace_id: str | None) -> list[AnyEvent]:
    data = json_body(body)
    items = data if isinstance(data, list) else [data]
    if not items:
        raise Unprocessable("the batch is empty")
    received_at = utcnow().isoformat()
    events: list[AnyEvent] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        candidate = item
        if isinstance(item, dict):
            candidate = {**item}
            if candidate.get("received_at") is None:
                candidate["received_at"] = received_at
            if candidate.get("trace_id") is None and traceparent_trace_id:
                candidate["trace_id"] = traceparent_trace_id
        try:
            events.append(decode_event(orjson.dumps(candidate)))
        except InvalidEvent as exc:
            errors.append({"index": index, "reason": str(exc)})
    if errors:
        raise Unprocessable(
            f"{len(errors)} of {len(items)} event(s) are invalid; none was queued",
            extensions={"errors": errors[:100]},
        )
    return events


@router.post(
    "/ingest/events",
    summary="Events in the generic envelope, one or a batch (all valid or none queued)",
    status_code=202,
    responses={
        202: {"description": "every event is queued in Kafka"},
        **problem_responses(401, 403, 409, 413, 415, 422, 429, 503),
    },
    openapi_extra=_EVENTS_BODY,
)
async def ingest_events(
    request: Request,
    caller: Caller = Depends(authenticated_caller),  # noqa: B008
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=255),
    content_encoding: str | None = Header(default=None, alias="Content-Encoding"),
) -> JSONResponse:
    caller.require("events")
    state = ingestion(request)
    if media_type(request) != "application/json":
        raise UnsupportedMediaType("events are application/json: one envelope or an array")
    body = await state.decoded_body(request, content_encoding)

    async def produce() -> Answer:
        events = _events(body, trace_id_of(request))
        await state.publish(events, "events")
        return Answer(202, {"produced": len(events), "event_ids": [e.id for e in events]})

    scope = f"{caller.key_id}:events"
    return respond(
        await state.idempotency.run(scope, idempotency_key, request_fingerprint(body), produce)
    )
