"""Dead letters keep the original record and say why and where from, in headers."""

from __future__ import annotations

from opsassist.bus.deadletter import dead_letter, read_dead_letter_headers


def test_a_dead_letter_keeps_key_value_and_headers_and_adds_why_and_where() -> None:
    letter = dead_letter(
        key=b"k",
        value=b"\x00original",
        headers=[("traceparent", b"00-x"), ("empty", None)],
        topic="ops.logs.raw",
        partition=2,
        offset=41,
        code="invalid_json",
        reason="not JSON",
    )
    assert (letter.key, letter.value) == (b"k", b"\x00original")
    assert ("traceparent", b"00-x") in letter.headers
    assert ("empty", b"") in letter.headers  # a null header value is kept as empty bytes
    info = read_dead_letter_headers(letter.headers)
    assert info["reason"] == "not JSON"
    assert info["code"] == "invalid_json"
    assert (info["source-topic"], info["source-partition"], info["source-offset"]) == (
        "ops.logs.raw",
        "2",
        "41",
    )
    assert "failed-at" in info


def test_a_dead_letter_replayed_and_failing_again_does_not_pile_up_old_reasons() -> None:
    first = dead_letter(
        key=None, value=b"v", headers=[], topic="a", partition=0, offset=1, code="x", reason="first"
    )
    second = dead_letter(
        key=None,
        value=b"v",
        headers=first.headers,
        topic="a",
        partition=0,
        offset=9,
        code="y",
        reason="second",
    )
    assert [k for k, _ in second.headers].count("dlq-reason") == 1
    assert read_dead_letter_headers(second.headers)["reason"] == "second"


def test_a_very_long_reason_is_cut_to_a_bounded_header() -> None:
    letter = dead_letter(
        key=None,
        value=b"v",
        headers=[],
        topic="a",
        partition=0,
        offset=1,
        code="x",
        reason="r" * 100_000,
    )
    assert len(read_dead_letter_headers(letter.headers)["reason"]) == 4000
