"""``POST /v1/logs``: OTLP/HTTP logs (protobuf or JSON, gzip accepted), so that an OpenTelemetry
Collector's ``otlphttp`` exporter or an SDK's OTLP log exporter ships logs without custom code.

The answer follows the OTLP specification: ``200`` with an ``ExportLogsServiceResponse`` in the
request's encoding, its ``partial_success`` counting the records that could not be mapped; a body
that is not a request at all is ``400``; retryable failures (Kafka down: ``503``, rate limit:
``429``) carry ``Retry-After``, which the exporters honour."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response

from opsassist.api.bodies import media_type
from opsassist.api.problems import Problem, Unprocessable, UnsupportedMediaType, problem_responses
from opsassist.api.webhooks.auth import Caller
from opsassist.api.webhooks.ingestion import authenticated_caller, ingestion
from opsassist.api.webhooks.otlp_mapping import (
    MalformedExport,
    OtlpEncoding,
    decode_export_request,
    export_response,
    map_log_records,
    record_ids,
)
from opsassist.schemas import utcnow

router = APIRouter(tags=["ingest"])

ENCODINGS: dict[str, OtlpEncoding] = {
    "application/x-protobuf": "protobuf",
    "application/json": "json",
}
_RESPONSE_MEDIA_TYPES: dict[OtlpEncoding, str] = {
    "protobuf": "application/x-protobuf",
    "json": "application/json",
}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-protobuf": {
                "schema": {"type": "string", "format": "binary"},
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "An OTLP ExportLogsServiceRequest in OTLP/JSON.",
                }
            },
        },
    }
}


class MalformedBody(Problem):
    """OTLP says 400 for a body the server cannot read; the exporters do not retry it."""

    status, slug = 400, "malformed-otlp"


@router.post(
    "/v1/logs",
    summary="OTLP/HTTP logs (protobuf or JSON, optionally gzip) become log events",
    responses={
        200: {
            "description": "an ExportLogsServiceResponse; partial_success counts the records "
            "that could not be mapped (the others are queued in Kafka)"
        },
        **problem_responses(400, 401, 403, 413, 415, 429, 503),
    },
    openapi_extra=_BODY,
)
async def export_logs(
    request: Request,
    caller: Caller = Depends(authenticated_caller),  # noqa: B008
    content_encoding: str | None = Header(default=None, alias="Content-Encoding"),
) -> Response:
    caller.require("logs")
    state = ingestion(request)
    encoding = ENCODINGS.get(media_type(request))
    if encoding is None:
        raise UnsupportedMediaType(
            f"OTLP logs are {' or '.join(ENCODINGS)}, not {media_type(request) or 'untyped'}"
        )
    try:
        body = await state.decoded_body(request, content_encoding)
    except Unprocessable as exc:  # broken gzip: for OTLP a malformed request, not retried
        raise MalformedBody(exc.detail) from None
    try:
        export = decode_export_request(body, encoding)
    except MalformedExport as exc:
        raise MalformedBody(str(exc)) from None
    mapped = map_log_records(export, utcnow(), id_of=record_ids(caller.key_id, body))
    if mapped.events:
        await state.publish(mapped.events, "otlp_logs")
    return Response(export_response(mapped, encoding), media_type=_RESPONSE_MEDIA_TYPES[encoding])
