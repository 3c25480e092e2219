"""``POST /webhooks/tickets/{source}``: Jira, Zendesk or generic ticket JSON, mapped to the
ticket event (mapping in api/webhooks/ticket_mapping.py and docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse

from opsassist.api.bodies import json_body, media_type
from opsassist.api.problems import Unprocessable, UnsupportedMediaType, problem_responses
from opsassist.api.webhooks.auth import Caller
from opsassist.api.webhooks.idempotency import Answer, request_fingerprint
from opsassist.api.webhooks.ingestion import authenticated_caller, ingestion, respond, trace_id_of
from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload, map_ticket
from opsassist.schemas import utcnow
from opsassist.streams.agents.sanitize import identifier_refusal

router = APIRouter(tags=["webhooks"])

SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,49}$"
#: Headers in which ticket systems send their own delivery id (used when no Idempotency-Key).
DELIVERY_ID_HEADERS = ("x-atlassian-webhook-identifier", "x-zendesk-webhook-invocation-id")

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "A Jira or Zendesk webhook payload, or the ticket event's "
                    "payload fields (generic).",
                }
            }
        },
    }
}


def delivery_key(request: Request, idempotency_key: str | None) -> str | None:
    if idempotency_key is not None:
        return idempotency_key
    for name in DELIVERY_ID_HEADERS:
        if request.headers.get(name):
            return request.headers[name]
    return None


@router.post(
    "/webhooks/tickets/{source}",
    summary="Ticket webhook: Jira, Zendesk or generic ticket JSON becomes a ticket event",
    status_code=202,
    responses={
        202: {"description": "the ticket event is queued in Kafka (or the delivery is ignored)"},
        **problem_responses(401, 403, 409, 413, 415, 422, 429, 503),
    },
    openapi_extra=_BODY_DOC,
)
async def ticket_webhook(
    request: Request,
    source: str = Path(pattern=SOURCE_PATTERN, description="jira, zendesk, or any other name"),
    caller: Caller = Depends(authenticated_caller),  # noqa: B008
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=255),
    content_encoding: str | None = Header(default=None, alias="Content-Encoding"),
) -> JSONResponse:
    caller.require(f"tickets:{source}")
    service = ingestion(request)
    if media_type(request) != "application/json":
        raise UnsupportedMediaType("ticket webhooks are application/json")
    body = await service.decoded_body(request, content_encoding)

    async def produce() -> Answer:
        try:
            event = map_ticket(json_body(body), source, utcnow(), trace_id_of(request))
        except InvalidTicketPayload as exc:
            raise Unprocessable(f"not a {source} ticket: {exc}") from None
        if event is None:
            return Answer(202, {"produced": 0, "ignored": f"not a ticket change for {source}"})
        refusal = identifier_refusal(service.redactor, event)
        if refusal is not None:  # the worker would dead-letter it: say so to the sender now
            raise Unprocessable(f"not a {source} ticket: {refusal.detail}")
        await service.publish([event], "tickets")
        return Answer(202, {"produced": 1, "event_ids": [event.id]})

    scope = f"{caller.key_id}:tickets:{source}"
    key = delivery_key(request, idempotency_key)
    return respond(await service.idempotency.run(scope, key, request_fingerprint(body), produce))
