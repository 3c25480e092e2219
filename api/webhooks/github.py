"""``POST /webhooks/github``: GitHub's push, issues, issue_comment and ping deliveries,
authenticated by the ``X-Hub-Signature-256`` HMAC of the body, made idempotent by
``X-GitHub-Delivery``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from opsassist.api.bodies import json_body, media_type, read_body
from opsassist.api.problems import (
    Forbidden,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
    problem_responses,
)
from opsassist.api.webhooks.github_mapping import (
    IgnoredDelivery,
    InvalidPushPayload,
    commit_events_from_push,
    github_issue_event,
    signature_matches,
)
from opsassist.api.webhooks.idempotency import Answer, request_fingerprint
from opsassist.api.webhooks.ingestion import Ingestion, ingestion, respond, trace_id_of
from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload
from opsassist.schemas import utcnow

router = APIRouter(tags=["webhooks"])

#: The events that become ticket events (docs/webhooks.md, "GitHub issues").
ISSUE_EVENTS = ("issues", "issue_comment")

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "description": "A GitHub webhook payload."}
            }
        },
    }
}


def _payload(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8", "replace"))
        body = form.get("payload", [""])[0].encode()
    elif content_type != "application/json":
        raise UnsupportedMediaType(
            f"GitHub deliveries are application/json or application/x-www-form-urlencoded, "
            f"not {content_type or 'untyped'}"
        )
    payload = json_body(body)
    if not isinstance(payload, dict):
        raise Unprocessable("the payload must be a JSON object")
    return payload


@router.post(
    "/webhooks/github",
    summary="GitHub webhook: push events become commit events, issues and issue comments "
    "ticket events; ping is answered",
    status_code=202,
    responses={
        200: {"description": "ping answered"},
        202: {"description": "the events are queued in Kafka (or the delivery is ignored)"},
        **problem_responses(401, 403, 409, 413, 415, 422, 429, 503),
    },
    openapi_extra=_BODY_DOC,
)
async def github_webhook(
    request: Request,
    x_github_event: str | None = Header(default=None, max_length=100),
    x_hub_signature_256: str | None = Header(default=None, max_length=200),
    x_github_delivery: str | None = Header(default=None, max_length=255),
) -> JSONResponse:
    service = ingestion(request)
    settings = service.settings
    body = await read_body(request, settings.webhook_max_body_bytes)
    secret = settings.github_webhook_secret.get_secret_value()
    if not secret:
        raise Forbidden(
            "GitHub deliveries are refused: no secret is configured "
            "(OPSASSIST_GITHUB_WEBHOOK_SECRET)"
        )
    if not x_hub_signature_256:
        raise Unauthorized("the X-Hub-Signature-256 header is missing", scheme="HMAC-SHA256")
    if not signature_matches(secret, body, x_hub_signature_256):
        raise Unauthorized(
            "X-Hub-Signature-256 is not the HMAC-SHA256 of the body with the configured secret",
            scheme="HMAC-SHA256",
        )
    wait = service.limiter.acquire("github")
    if wait is not None:
        raise TooManyRequests("GitHub deliveries are over their rate limit", retry_after=wait)
    if not x_github_event:
        raise Unprocessable("the X-GitHub-Event header is missing")
    payload = _payload(body, media_type(request))
    if x_github_event == "ping":
        return JSONResponse({"pong": True, "hook_id": payload.get("hook_id")}, status_code=200)
    if x_github_event in ISSUE_EVENTS:
        produce_tickets = _ticket_producer(request, service, x_github_event, payload)
        answer = await service.idempotency.run(
            "github", x_github_delivery, request_fingerprint(body), produce_tickets
        )
        return respond(answer)
    if x_github_event != "push":
        return JSONResponse(
            {
                "event": x_github_event,
                "produced": 0,
                "ignored": f"only {', '.join(('push', *ISSUE_EVENTS))} events are ingested",
            },
            status_code=202,
        )

    async def produce() -> Answer:
        try:
            events = commit_events_from_push(payload, utcnow(), trace_id_of(request))
        except InvalidPushPayload as exc:
            raise Unprocessable(f"not a push payload: {exc}") from None
        await service.publish(events, "github")
        return Answer(
            202,
            {
                "event": "push",
                "delivery": x_github_delivery,
                "produced": len(events),
                "event_ids": [e.id for e in events],
            },
        )

    answer = await service.idempotency.run(
        "github", x_github_delivery, request_fingerprint(body), produce
    )
    return respond(answer)


def _ticket_producer(
    request: Request, service: Ingestion, event_name: str, payload: dict[str, Any]
) -> Callable[[], Awaitable[Answer]]:
    async def produce() -> Answer:
        delivery = request.headers.get("x-github-delivery")
        try:
            event = github_issue_event(
                event_name,
                payload,
                utcnow(),
                trace_id_of(request),
                pull_requests=service.settings.github_issue_pull_requests,
            )
        except InvalidTicketPayload as exc:
            raise Unprocessable(f"not an {event_name} payload: {exc}") from None
        answer: dict[str, Any] = {"event": event_name, "action": payload.get("action")}
        if isinstance(event, IgnoredDelivery):
            return Answer(202, {**answer, "produced": 0, "ignored": event.reason})
        if event.payload.comment is not None:
            # which comment of the conversation the event carries (the worker stores it)
            answer["comment"] = event.payload.comment.id
        return await service.publish_ticket(event, "github", f"an {event_name}", answer, delivery)

    return produce
