"""The built-in personal-data check: refuses what looks personal, lets ordinary log text pass."""

from __future__ import annotations

import pytest

from opsassist.llm import find_personal_data


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("contact jane.doe+ops@example.co.uk about it", "email"),
        ("call +49 30 1234 5678 after six", "phone"),
        ("call (555) 123-4567", "phone"),
        ("call 555-123-4567", "phone"),
        ("request from 192.168.10.24 rejected", "ip_address"),
        ("client 2001:db8::8a2e:370:7334 disconnected", "ip_address"),
        ("paid with 4111 1111 1111 1111 yesterday", "card_number"),
        ("card 5500-0000-0000-0004 declined", "card_number"),
    ],
)
def test_personal_data_is_found(text: str, kind: str) -> None:
    assert kind in find_personal_data(text)


@pytest.mark.parametrize(
    "text",
    [
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating",
        "2015-10-18 18:01:47,978 INFO [main] Created MRAppMaster for <*>",
        "Received block blk_<*> of size <*> from /<*>",
        "took 1234567 ms, 42 retries, version 3.11",
        "order 4111111111111112 shipped",  # 16 digits that fail the Luhn check
        "",
    ],
)
def test_ordinary_log_text_passes(text: str) -> None:
    assert find_personal_data(text) == []


def test_every_kind_is_reported_once() -> None:
    text = "a@b.io, b@c.io from 10.0.0.1 and 10.0.0.2"
    assert find_personal_data(text) == ["email", "ip_address"]


def test_out_of_range_dotted_numbers_are_not_addresses() -> None:
    assert find_personal_data("release 999.300.1.2") == []
