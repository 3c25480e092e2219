"""OTLP logs (``POST /v1/logs``) as plain functions: an ``ExportLogsServiceRequest`` in either of
OTLP/HTTP's encodings read into the protobuf message, and each log record turned into a log
event, or counted as rejected with the reason, as OTLP's partial success reports it.

Mapping (OpenTelemetry semantic conventions): the resource's ``service.name`` is the service
(``unknown_service``, what the SDKs default to, when absent), ``host.name`` the host,
``deployment.environment.name`` (or the older ``deployment.environment``) the ``environment``
attribute the enrich stage reads; the severity text, else the severity number's range, is the
level; the body is the message (a non-string body as JSON); ``time_unix_nano``, else
``observed_time_unix_nano``, else the time received, is the timestamp; the trace id (hex) is the
event's ``trace_id``. The record's attributes, the rest of the resource's and the scope's name go
to ``attributes``; the record's own win over the resource's of the same name.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from pydantic import ValidationError

from opsassist.api.bodies import InvalidJson, load_json
from opsassist.schemas import LogEvent, LogPayloadV1

OtlpEncoding = Literal["json", "protobuf"]
SOURCE = "otlp:logs"
UNKNOWN_SERVICE = "unknown_service"
_ID_NAMESPACE = uuid.UUID("6f707361-0005-4000-8000-000000000005")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_TRACE = bytes(16)
_NO_SPAN = bytes(8)
# SeverityNumber ranges of the logs data model, each a block of four: TRACE 1-4 .. FATAL 21-24.
_SEVERITY_BY_BLOCK = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
# The most rejection reasons one answer names; the count covers them all.
_MAX_NAMED_REASONS = 5


class MalformedExport(ValueError):
    """The body is not an ``ExportLogsServiceRequest`` in the encoding it claims; ``str()``
    says why. Nothing of such a body is queued."""


@dataclass(slots=True)
class MappedLogs:
    events: list[LogEvent] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < _MAX_NAMED_REASONS and reason not in self.reasons:
            self.reasons.append(reason)

    @property
    def error_message(self) -> str:
        if not self.rejected:
            return ""
        return f"{self.rejected} log record(s) rejected: {'; '.join(self.reasons)}"


def _hex_ids_as_base64(data: Any) -> None:
    """OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64
    for bytes: rewrite them in place before the standard parser reads the message."""
    if not isinstance(data, dict):
        raise MalformedExport("the body is a JSON object (an ExportLogsServiceRequest)")
    for resource_logs in _list_of(data, "resourceLogs", "resource_logs"):
        for scope_logs in _list_of(resource_logs, "scopeLogs", "scope_logs"):
            for record in _list_of(scope_logs, "logRecords", "log_records"):
                if not isinstance(record, dict):
                    continue  # the parser below says what is wrong with it
                for name in ("traceId", "trace_id", "spanId", "span_id"):
                    value = record.get(name)
                    if isinstance(value, str) and value:
                        try:
                            record[name] = base64.b64encode(bytes.fromhex(value)).decode()
                        except ValueError:
                            raise MalformedExport(f"{name} {value[:64]!r} is not hex") from None


def _list_of(parent: Any, *names: str) -> list[Any]:
    if not isinstance(parent, dict):
        return []
    for name in names:
        value = parent.get(name)
        if isinstance(value, list):
            return value
    return []


def decode_export_request(body: bytes, encoding: OtlpEncoding) -> ExportLogsServiceRequest:
    """The request message of ``body``; :class:`MalformedExport` when it is not one."""
    request = ExportLogsServiceRequest()
    if encoding == "protobuf":
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise MalformedExport(f"not a protobuf ExportLogsServiceRequest: {exc}") from None
        return request
    try:
        data = load_json(body)
    except InvalidJson as exc:
        raise MalformedExport(f"the body is {exc}") from None
    _hex_ids_as_base64(data)
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise MalformedExport(f"not an ExportLogsServiceRequest: {exc}") from None
    return request


def _plain(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as the JSON value it stands for (bytes as base64, as OTLP/JSON)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_plain(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _plain(pair.value) for pair in pairs}


def _level(record: LogRecord) -> str | None:
    if record.severity_text:
        return record.severity_text
    number = int(record.severity_number)
    if 1 <= number <= 24:
        return _SEVERITY_BY_BLOCK[(number - 1) // 4]
    return None


def _message(body: AnyValue) -> str:
    value = _plain(body)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _timestamp(record: LogRecord, received_at: datetime) -> datetime:
    nanos = record.time_unix_nano or record.observed_time_unix_nano
    if not nanos:
        return received_at
    try:
        return _EPOCH + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        raise ValueError(f"time {nanos} ns is outside the range of dates") from None


def _trace_id(record: LogRecord) -> str | None:
    if not record.trace_id or record.trace_id == _NO_TRACE:
        return None
    if len(record.trace_id) != 16:
        raise ValueError(f"trace_id is {len(record.trace_id)} bytes, not 16")
    return record.trace_id.hex()


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)[:3]
    )


def _resource_fields(resource_attributes: Mapping[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    rest = dict(resource_attributes)
    service = rest.pop("service.name", None) or UNKNOWN_SERVICE
    host = rest.pop("host.name", None)
    environment = rest.get("deployment.environment.name") or rest.get("deployment.environment")
    if environment:
        rest["environment"] = environment
    return service, host, rest


def map_log_records(
    request: ExportLogsServiceRequest,
    received_at: datetime,
    *,
    id_of: Callable[[int], str],
) -> MappedLogs:
    """Every log record of ``request`` as a log event, or a rejection with its reason.

    ``id_of(n)`` gives the event id of the request's n-th record (from 0, across resources and
    scopes), so that the route decides how ids repeat when a sender retries.
    """
    mapped = MappedLogs()
    number = -1
    for resource_logs in request.resource_logs:
        service, host, resource_rest = _resource_fields(
            _attributes(resource_logs.resource.attributes)
        )
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                number += 1
                try:
                    trace_id = _trace_id(record)
                    attributes = {**resource_rest, **_attributes(record.attributes)}
                    if scope:
                        attributes.setdefault("otel.scope.name", scope)
                    if trace_id is not None:
                        attributes.setdefault("trace_id", trace_id)
                        if record.span_id and record.span_id != _NO_SPAN:
                            attributes.setdefault("span_id", record.span_id.hex())
                    timestamp = _timestamp(record, received_at)
                    payload = LogPayloadV1(
                        timestamp=timestamp,
                        service=service,
                        host=host,
                        level=_level(record),
                        message=_message(record.body),
                        attributes=attributes,
                    )
                    event = LogEvent(
                        id=id_of(number),
                        schema_version=1,
                        source=SOURCE,
                        occurred_at=payload.timestamp,
                        received_at=received_at,
                        trace_id=trace_id,
                        payload=payload,
                    )
                except ValidationError as exc:
                    mapped.reject(_describe(exc))
                    continue
                except ValueError as exc:
                    mapped.reject(str(exc))
                    continue
                mapped.events.append(event)
    return mapped


def record_ids(seed: str, body: bytes) -> Callable[[int], str]:
    """Event ids derived from the sender (``seed``), the exact body and the record's position:
    an exporter that retries a batch sends the same bytes, so the store keeps each record once."""
    digest = hashlib.sha256(body).hexdigest()
    return lambda number: f"log:{uuid.uuid5(_ID_NAMESPACE, f'{seed}:{digest}:{number}')}"


def export_response(mapped: MappedLogs, encoding: OtlpEncoding) -> bytes:
    """The ``ExportLogsServiceResponse`` body, in the request's encoding; ``partial_success``
    is set only when records were rejected, as the specification asks."""
    response = ExportLogsServiceResponse()
    if mapped.rejected:
        response.partial_success.CopyFrom(
            ExportLogsPartialSuccess(
                rejected_log_records=mapped.rejected, error_message=mapped.error_message
            )
        )
    # protobuf ships no type stubs (mypy reads it as Any): the types are stated here.
    if encoding == "protobuf":
        encoded: bytes = response.SerializeToString()
        return encoded
    text: str = json_format.MessageToJson(response, indent=None)
    return text.encode()
