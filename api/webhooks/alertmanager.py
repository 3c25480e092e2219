"""``POST /webhooks/alertmanager``: Prometheus Alertmanager's webhook receiver (payload version
4). Each alert becomes an alert event on the alerts topic, keyed by its fingerprint, so that one
writer (the worker) can turn firing and resolved into the incident's lifecycle."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from opsassist.api.bodies import json_body, media_type
from opsassist.api.problems import Unprocessable, UnsupportedMediaType, problem_responses
from opsassist.api.webhooks.alertmanager_mapping import InvalidAlertmanagerPayload, alert_events
from opsassist.api.webhooks.auth import Caller
from opsassist.api.webhooks.ingestion import authenticated_caller, ingestion, trace_id_of
from opsassist.schemas import utcnow

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks/alertmanager",
    summary="Alertmanager notifications (webhook payload version 4) become alert events",
    status_code=202,
    responses={
        202: {"description": "every alert of the notification is queued in Kafka"},
        **problem_responses(401, 403, 413, 415, 422, 429, 503),
    },
)
async def alertmanager(
    request: Request,
    caller: Caller = Depends(authenticated_caller),  # noqa: B008
) -> JSONResponse:
    # Alertmanager's http_config sends the key as Authorization: Bearer (docs/webhooks.md).
    caller.require("events")
    state = ingestion(request)
    if media_type(request) != "application/json":
        raise UnsupportedMediaType("Alertmanager notifications are application/json")
    body = await state.decoded_body(request, request.headers.get("Content-Encoding"))
    try:
        events = alert_events(json_body(body), utcnow())
    except InvalidAlertmanagerPayload as exc:
        # Alertmanager does not retry a 4xx: the reason goes to its log, nothing is queued.
        raise Unprocessable(f"not an Alertmanager webhook (version 4): {exc}") from None
    trace_id = trace_id_of(request)
    if trace_id:
        events = [e.model_copy(update={"trace_id": trace_id}) for e in events]
    await state.publish(events, "alertmanager")
    return JSONResponse(
        {"produced": len(events), "event_ids": [e.id for e in events]}, status_code=202
    )
