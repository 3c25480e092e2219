"""OTLP logs mapped to log events (api/webhooks/otlp_mapping.py), without the app."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from opsassist.api.webhooks.otlp_mapping import (
    MalformedExport,
    decode_export_request,
    export_response,
    map_log_records,
    record_ids,
)

RECEIVED = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"
NANOS = 1_765_000_000_123_456_789  # 2025-12-06T05:46:40.123456Z


def _text(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _request(*records: LogRecord, resource: list[KeyValue] | None = None) -> bytes:
    request = ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(
                    attributes=resource
                    if resource is not None
                    else [
                        _text("service.name", "checkout"),
                        _text("host.name", "web-1"),
                        _text("deployment.environment.name", "production"),
                        _text("k8s.pod.name", "checkout-7d9"),
                    ]
                ),
                scope_logs=[ScopeLogs(log_records=list(records))],
            )
        ]
    )
    return request.SerializeToString()


def _ids(number: int) -> str:
    return f"id-{number}"


def test_protobuf_records_take_service_host_environment_level_and_trace_from_otlp() -> None:
    record = LogRecord(
        time_unix_nano=NANOS,
        severity_number=17,  # SEVERITY_NUMBER_ERROR
        body=AnyValue(string_value="payment declined"),
        attributes=[_text("http.route", "/pay"), _text("k8s.pod.name", "from-record")],
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(SPAN),
    )
    mapped = map_log_records(
        decode_export_request(_request(record), "protobuf"), RECEIVED, id_of=_ids
    )
    assert mapped.rejected == 0
    [event] = mapped.events
    assert event.id == "id-0" and event.source == "otlp:logs"
    assert event.trace_id == TRACE
    payload = event.payload
    assert (payload.service, payload.host, payload.level) == ("checkout", "web-1", "ERROR")
    assert payload.message == "payment declined"
    assert payload.timestamp == datetime(2025, 12, 6, 5, 46, 40, 123456, tzinfo=UTC)
    assert payload.attributes["environment"] == "production"
    assert payload.attributes["http.route"] == "/pay"
    assert payload.attributes["k8s.pod.name"] == "from-record"  # the record's own wins
    assert (payload.attributes["trace_id"], payload.attributes["span_id"]) == (TRACE, SPAN)


def test_json_encoding_reads_hex_ids_and_string_int64s() -> None:
    body = json.dumps(
        {
            "resourceLogs": [
                {
                    "resource": {
                        "attributes": [
                            {"key": "service.name", "value": {"stringValue": "billing"}},
                            {"key": "deployment.environment", "value": {"stringValue": "stage"}},
                        ]
                    },
                    "scopeLogs": [
                        {
                            "scope": {"name": "billing.jobs"},
                            "logRecords": [
                                {
                                    "observedTimeUnixNano": str(NANOS),
                                    "severityText": "Warning",
                                    "body": {
                                        "kvlistValue": {
                                            "values": [{"key": "n", "value": {"intValue": "3"}}]
                                        }
                                    },
                                    "traceId": TRACE,
                                    "spanId": SPAN,
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    ).encode()
    mapped = map_log_records(decode_export_request(body, "json"), RECEIVED, id_of=_ids)
    [event] = mapped.events
    assert event.trace_id == TRACE
    assert event.payload.service == "billing" and event.payload.host is None
    assert event.payload.level == "Warning"
    assert json.loads(event.payload.message) == {"n": 3}
    assert event.payload.timestamp.year == 2025
    assert event.payload.attributes["environment"] == "stage"
    assert event.payload.attributes["otel.scope.name"] == "billing.jobs"


def test_a_record_without_time_or_service_gets_the_received_time_and_unknown_service() -> None:
    mapped = map_log_records(
        decode_export_request(
            _request(LogRecord(body=AnyValue(string_value="hi")), resource=[]), "protobuf"
        ),
        RECEIVED,
        id_of=_ids,
    )
    [event] = mapped.events
    assert event.payload.service == "unknown_service"
    assert event.payload.timestamp == RECEIVED
    assert event.trace_id is None and event.payload.level is None


@pytest.mark.parametrize(
    ("body", "encoding", "reason"),
    [
        (b"\xff\xff\xff", "protobuf", "protobuf"),
        (b"{not json", "json", "not JSON"),
        (b"[1, 2]", "json", "JSON object"),
        (b'{"resourceLogs": "many"}', "json", "ExportLogsServiceRequest"),
        (
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}',
            "json",
            "not hex",
        ),
    ],
)
def test_a_body_that_is_no_export_request_is_malformed(
    body: bytes, encoding: str, reason: str
) -> None:
    with pytest.raises(MalformedExport, match=reason):
        decode_export_request(body, encoding)  # type: ignore[arg-type]


def test_unmappable_records_are_counted_in_partial_success_and_the_rest_kept() -> None:
    good = LogRecord(body=AnyValue(string_value="kept"))
    short_trace = LogRecord(body=AnyValue(string_value="x"), trace_id=b"\x01\x02")
    huge = LogRecord(body=AnyValue(string_value="y" * 1_000_001))
    mapped = map_log_records(
        decode_export_request(_request(good, short_trace, huge), "protobuf"),
        RECEIVED,
        id_of=_ids,
    )
    assert [e.payload.message for e in mapped.events] == ["kept"]
    assert mapped.rejected == 2
    assert "trace_id is 2 bytes" in mapped.error_message and "message" in mapped.error_message

    as_json = json.loads(export_response(mapped, "json"))
    assert as_json["partialSuccess"]["rejectedLogRecords"] == "2"
    response = ExportLogsServiceResponse.FromString(export_response(mapped, "protobuf"))
    assert response.partial_success.rejected_log_records == 2
    assert response.partial_success.error_message == mapped.error_message


def test_a_fully_accepted_export_answers_without_partial_success() -> None:
    mapped = map_log_records(
        decode_export_request(_request(LogRecord()), "protobuf"), RECEIVED, id_of=_ids
    )
    assert json.loads(export_response(mapped, "json")) == {}
    assert not ExportLogsServiceResponse.FromString(export_response(mapped, "protobuf")).HasField(
        "partial_success"
    )


def test_record_ids_repeat_for_a_retried_body_and_differ_per_record_and_sender() -> None:
    body = _request(LogRecord(), LogRecord())
    first, again = record_ids("key1", body), record_ids("key1", body)
    assert first(0) == again(0) and first(0) != first(1)
    assert record_ids("key2", body)(0) != first(0)
