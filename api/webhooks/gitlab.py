"""``POST /webhooks/gitlab``: GitLab's Issue Hook and Note Hook deliveries, authenticated by the
``X-Gitlab-Token`` secret (compared in constant time), made idempotent by
``X-Gitlab-Event-UUID``."""

from __future__ import annotations

from typing import Any

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
from opsassist.api.webhooks.github_mapping import IgnoredDelivery
from opsassist.api.webhooks.gitlab_mapping import gitlab_issue_event, token_matches
from opsassist.api.webhooks.idempotency import Answer, request_fingerprint
from opsassist.api.webhooks.ingestion import ingestion, respond, trace_id_of
from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload
from opsassist.schemas import utcnow

router = APIRouter(tags=["webhooks"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "description": "A GitLab webhook payload."}
            }
        },
    }
}


@router.post(
    "/webhooks/gitlab",
    summary="GitLab webhook: Issue Hook and Note Hook deliveries become ticket events",
    status_code=202,
    responses={
        202: {"description": "the ticket event is queued in Kafka (or the delivery is ignored)"},
        **problem_responses(401, 403, 409, 413, 415, 422, 429, 503),
    },
    openapi_extra=_BODY_DOC,
)
async def gitlab_webhook(
    request: Request,
    x_gitlab_event: str | None = Header(default=None, max_length=100),
    x_gitlab_token: str | None = Header(default=None, max_length=1000),
    x_gitlab_event_uuid: str | None = Header(default=None, max_length=255),
) -> JSONResponse:
    service = ingestion(request)
    settings = service.settings
    body = await read_body(request, settings.webhook_max_body_bytes)
    expected = settings.gitlab_webhook_token.get_secret_value()
    if not expected:
        raise Forbidden(
            "GitLab deliveries are refused: no token is configured (OPSASSIST_GITLAB_WEBHOOK_TOKEN)"
        )
    if x_gitlab_token is None:
        raise Unauthorized("the X-Gitlab-Token header is missing", scheme="Token")
    if not token_matches(expected, x_gitlab_token):
        raise Unauthorized("X-Gitlab-Token is not the configured token", scheme="Token")
    wait = service.limiter.acquire("gitlab")
    if wait is not None:
        raise TooManyRequests("GitLab deliveries are over their rate limit", retry_after=wait)
    if not x_gitlab_event:
        raise Unprocessable("the X-Gitlab-Event header is missing")
    if media_type(request) != "application/json":
        raise UnsupportedMediaType(
            f"GitLab deliveries are application/json, not {media_type(request) or 'untyped'}"
        )
    payload = json_body(body)
    if not isinstance(payload, dict):
        raise Unprocessable("the payload must be a JSON object")

    async def produce() -> Answer:
        try:
            event = gitlab_issue_event(x_gitlab_event, payload, utcnow(), trace_id_of(request))
        except InvalidTicketPayload as exc:
            raise Unprocessable(f"not a {x_gitlab_event} payload: {exc}") from None
        answer: dict[str, Any] = {"event": x_gitlab_event}
        if isinstance(event, IgnoredDelivery):
            return Answer(202, {**answer, "produced": 0, "ignored": event.reason})
        return await service.publish_ticket(
            event, "gitlab", f"a {x_gitlab_event}", answer, x_gitlab_event_uuid
        )

    fingerprint = request_fingerprint(body)
    return respond(
        await service.idempotency.run("gitlab", x_gitlab_event_uuid, fingerprint, produce)
    )
