"""Log lines validated one by one, and request bodies decoded within limits."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from opsassist.api.bodies import decode_content
from opsassist.api.problems import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from opsassist.api.webhooks.log_mapping import LogDefaults, parse_log_lines

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def test_ndjson_lines_are_accepted_or_rejected_with_line_number_and_reason() -> None:
    body = "\n".join(
        [
            json.dumps({"service": "api", "message": "ok", "timestamp": "2026-11-20T10:00:00Z"}),
            "",
            "{broken",
            json.dumps({"message": "no service"}),
            json.dumps("a string"),
            json.dumps({"service": "api", "message": "m", "timestamp": "yesterday"}),
        ]
    ).encode()
    parsed = parse_log_lines(body, "ndjson", LogDefaults(), NOW)
    assert [e.payload.message for e in parsed.events] == ["ok"]
    assert parsed.rejected == 4
    assert [(r.line, r.reason.split(":")[0]) for r in parsed.rejections] == [
        (3, "not JSON"),
        (4, "service"),
        (5, "a line is a JSON object, got str"),
        (6, "timestamp"),
    ]


def test_query_defaults_fill_in_and_a_line_overrides_them() -> None:
    body = b'{"message": "a"}\n{"message": "b", "service": "own", "level": "WARN"}\n'
    parsed = parse_log_lines(body, "ndjson", LogDefaults(service="dflt", level="INFO"), NOW)
    assert [(e.payload.service, e.payload.level) for e in parsed.events] == [
        ("dflt", "INFO"),
        ("own", "WARN"),
    ]
    assert parsed.events[0].payload.timestamp == NOW


def test_plain_text_lines_are_messages_and_invalid_utf8_is_rejected() -> None:
    parsed = parse_log_lines(b"one\r\n\xff\xfe\nthree", "text", LogDefaults(service="s"), NOW)
    assert [e.payload.message for e in parsed.events] == ["one", "three"]
    assert [(r.line, r.reason) for r in parsed.rejections] == [(2, "not UTF-8")]


def test_ids_follow_the_idempotency_key_so_a_retry_yields_the_same_events() -> None:
    body = b"a\nb\n"
    one = parse_log_lines(body, "text", LogDefaults(service="s"), NOW, id_seed="k1")
    two = parse_log_lines(body, "text", LogDefaults(service="s"), NOW, id_seed="k1")
    other = parse_log_lines(body, "text", LogDefaults(service="s"), NOW, id_seed="k2")
    assert [e.id for e in one.events] == [e.id for e in two.events]
    assert not {e.id for e in one.events} & {e.id for e in other.events}


def test_all_rejects_are_counted_but_only_some_listed() -> None:
    parsed = parse_log_lines(b"x\n" * 50, "ndjson", LogDefaults(), NOW, max_listed=10)
    assert parsed.rejected == 50
    assert len(parsed.rejections) == 10


def test_gzip_is_undone_within_the_limit() -> None:
    assert decode_content(gzip.compress(b"hello"), "gzip", 100) == b"hello"
    assert decode_content(b"plain", None, 100) == b"plain"
    with pytest.raises(PayloadTooLarge):
        decode_content(gzip.compress(b"a" * 10_000), "gzip", 1000)
    with pytest.raises(Unprocessable):
        decode_content(b"not gzip", "gzip", 1000)
    with pytest.raises(Unprocessable):
        decode_content(gzip.compress(b"hello world")[:-12], "gzip", 1000)
    with pytest.raises(UnsupportedMediaType):
        decode_content(b"x", "br", 1000)
