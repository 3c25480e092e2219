"""Each detector on values it must find and on look-alikes it must leave (versions, timestamps,
UUIDs, hashes, ids)."""

from __future__ import annotations

import itertools
import re

import pytest

from opsassist.streams.privacy import PiiType, Redactor, Span
from opsassist.streams.privacy._detection import SpanFinder
from opsassist.streams.privacy._policy import default_policy
from opsassist.streams.privacy._tries import word_trie

FINDER = Redactor()


def found(text: str) -> list[tuple[str, str]]:
    return [(span.type.value, text[span.start : span.end]) for span in FINDER.find(text)]


def types_in(text: str) -> set[str]:
    return {pii_type for pii_type, _ in found(text)}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("contact jane.doe@example.com today", "jane.doe@example.com"),
        ("key=o'brien+tag@mail.example.co.uk;", "o'brien+tag@mail.example.co.uk"),
        ("email='ops@example.org'", "ops@example.org"),
    ],
)
def test_email_addresses_are_found_whole(text: str, value: str) -> None:
    assert found(text) == [("EMAIL", value)]


@pytest.mark.parametrize("text", ["git@github: no tld", "user@localhost", "a @ b.com"])
def test_strings_with_at_signs_that_are_not_addresses_are_left(text: str) -> None:
    assert "EMAIL" not in types_in(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call me at 555-123-4567", "555-123-4567"),
        ("call +1 (555) 123-4567 ext 12", "+1 (555) 123-4567 ext 12"),
        ("ring +44 20 7946 0958 today", "+44 20 7946 0958"),
        ("tel. 03.93.92.16.85", "03.93.92.16.85"),
        ("mobile: 9498777106", "9498777106"),
    ],
)
def test_phone_numbers_in_the_shapes_people_write_them(text: str, value: str) -> None:
    assert found(text) == [("PHONE", value)]


@pytest.mark.parametrize(
    "text",
    [
        "upgraded to version 10.2.3.4567",
        "2023-10-02 12:34:56,789 INFO started",
        "epoch 1696250096789 reached",
        "request 550e8400-e29b-41d4-a716-446655440000 done",
        "sha256 9b74c9897bad770ac7d4e0f5a1b2c3d4e5f60718 ok",
        "block blk_-1608999687919862906 replicated",
        "took 1234567 ns",
        "at 12:34:56 and 10:20",
        "GET /api/v1/orders/12345 200 17ms",
    ],
)
def test_versions_timestamps_uuids_hashes_and_ids_are_not_phones_or_cards(text: str) -> None:
    assert types_in(text) & {"PHONE", "CREDIT_CARD", "US_SSN", "IBAN"} == set()


@pytest.mark.parametrize(
    "value", ["4111 1111 1111 1111", "4111111111111111", "5500-0000-0000-0004", "378282246310005"]
)
def test_luhn_valid_card_numbers_are_found(value: str) -> None:
    assert found(f"paid with {value} yesterday") == [("CREDIT_CARD", value)]


def test_a_card_shaped_number_failing_luhn_is_not_a_card() -> None:
    assert "CREDIT_CARD" not in types_in("paid with 4111 1111 1111 1112 yesterday")


def test_a_luhn_valid_number_outside_the_scheme_table_needs_a_card_word() -> None:
    number = "3598899323053410"  # Luhn-valid, prefix 3598 belongs to no scheme
    assert "CREDIT_CARD" not in types_in(f"counter {number} reached")
    assert found(f"card number {number} is lost") == [("CREDIT_CARD", number)]


@pytest.mark.parametrize(
    "value", ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "gb82west12345698765432"]
)
def test_ibans_with_a_valid_checksum_are_found(value: str) -> None:
    assert found(f"my iban is {value}.") == [("IBAN", value)]


def test_an_iban_with_a_wrong_check_digit_is_left() -> None:
    assert "IBAN" not in types_in("my iban is GB82WEST12345698765433")


def test_us_ssns_are_found_and_never_issued_ranges_are_not() -> None:
    assert found("SSN 123-45-6789 on file") == [("US_SSN", "123-45-6789")]
    assert "US_SSN" not in types_in("SSN 000-45-6789 or 666-45-6789 or 123-00-6789")


def test_a_spaced_ssn_needs_the_word_ssn_nearby() -> None:
    assert found("my ssn is 123 45 6789") == [("US_SSN", "123 45 6789")]
    assert "US_SSN" not in types_in("sizes 123 45 6789")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("from 192.168.1.23 port 8080", "192.168.1.23"),
        ("connect 10.0.0.1:22 failed", "10.0.0.1"),
        ("peer 2001:db8::8a2e:370:7334 up", "2001:db8::8a2e:370:7334"),
        ("pool BP-1347369012-10.190.173.170-1444972147527 up", "10.190.173.170"),
        ("at msra-sa-41/10.190.173.170:8030", "10.190.173.170"),
    ],
)
def test_ip_addresses_are_found_with_or_without_a_port(text: str, value: str) -> None:
    assert found(text) == [("IP_ADDRESS", value)]


@pytest.mark.parametrize(
    "text", ["version 1.2.3.4 released", "listen 127.0.0.1", "bind ::1 and fe80::1", "v 300.1.1.1"]
)
def test_versions_loopback_and_link_local_are_not_ip_addresses(text: str) -> None:
    assert "IP_ADDRESS" not in types_in(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", None),
        ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", None),
        ("slack xoxb-1234567890-abcdefghij ok", "xoxb-1234567890-abcdefghij"),
        ("login password=hunter2 ok", "hunter2"),
        ('{"client_secret": "abc"}', "abc"),
        ("db https://bob:s3cr3t@db.example.com/x", "bob:s3cr3t"),
        ("api_token: Zx8Qp2Lm9Rt4Vw7Yb3Nc", "Zx8Qp2Lm9Rt4Vw7Yb3Nc"),
        ('{"clientSecret": "abc"}', "abc"),
        ("accessToken=Zx8Qp2Lm9Rt4Vw7Yb3Nc", "Zx8Qp2Lm9Rt4Vw7Yb3Nc"),
        ("secretKey: hunter2", "hunter2"),
    ],
)
def test_secrets_are_found(text: str, value: str | None) -> None:
    spans = [span for span in FINDER.find(text) if span.type is PiiType.SECRET]
    assert len(spans) == 1
    if value is not None:
        assert text[spans[0].start : spans[0].end] == value


@pytest.mark.parametrize(
    "text",
    [
        "password=*** accepted",
        "token_count: 1234",
        "session_timeout: 30",
        "monkey=banana",
        "passenger=3 tokens: 12 bypass=on",
        "Accepted password for root from 127.0.0.1",
    ],
)
def test_placeholders_low_entropy_values_of_non_password_keys_and_prose_are_not_secrets(
    text: str,
) -> None:
    assert "SECRET" not in types_in(text)


@pytest.mark.parametrize(
    ("text", "pii_type", "value"),
    [
        ("Jane Doe <jane@example.com> wrote", "PERSON", "Jane Doe"),
        ("Hi Maria,\nthe server is down", "PERSON", "Maria"),
        ("it still fails.\n\nThanks,\nJohn Smith", "PERSON", "John Smith"),
        ("reported by Ana Lopez yesterday", "PERSON", "Ana Lopez"),
        ("Failed password for alice from 10.1.2.3", "USERNAME", "alice"),
        ("session opened for user bob by (uid=0)", "USERNAME", "bob"),
        ("audit user=carol action=login", "USERNAME", "carol"),
        ("sshd: Invalid user Management from 10.1.2.3", "USERNAME", "Management"),
    ],
)
def test_names_are_found_where_the_context_says_so(text: str, pii_type: str, value: str) -> None:
    assert (pii_type, value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Failed password for root from 10.1.2.3",
        "logname= uid=0 euid=0 ruser= rhost=localhost",
        "Hi team,\nplease review",
        "hostname: Alpha",
        "the user is not logged in",
    ],
)
def test_system_accounts_empty_values_and_common_words_are_not_names(text: str) -> None:
    assert types_in(text) & {"PERSON", "USERNAME"} == set()


def test_overlapping_detections_keep_the_more_certain_type() -> None:
    # The URL credential contains an @ that the e-mail detector also sees.
    spans = FINDER.find("https://bob:s3cr3t@db.example.com/x")
    assert [span.type for span in spans] == [PiiType.SECRET]


def test_spans_are_sorted_and_do_not_overlap() -> None:
    text = "a@b.io 10.0.0.1 555-123-4567 user dave"
    spans = FINDER.find(text)
    assert list(spans) == sorted(spans, key=lambda span: span.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert Span(PiiType.EMAIL, 0, 6) in spans


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ship to 42 Baker Street, Apt 3 please", "42 Baker Street, Apt 3"),
        ("office at 370 3911 Fourth Avenue Suite 697.", "370 3911 Fourth Avenue Suite 697"),
        ("chez nous, 12 Rue de la Paix", "12 Rue de la Paix"),
        ("mail it to P.O. Box 287 today", "P.O. Box 287"),
    ],
)
def test_postal_addresses_in_english_and_romance_order(text: str, value: str) -> None:
    assert found(text) == [("ADDRESS", value)]


@pytest.mark.parametrize(
    "text", ["waited 5 seconds for the route", "sent 3 packets on way 2", "step 2 of 7 done"]
)
def test_prose_with_a_number_and_a_street_word_is_not_an_address(text: str) -> None:
    assert "ADDRESS" not in types_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "postcode 3610-114 Lisboa",
        "unit Suite 541 6343 upstairs",
        "columns 128520 3491 ok",
    ],
)
def test_postcodes_unit_numbers_and_number_columns_are_not_phones(text: str) -> None:
    assert "PHONE" not in types_in(text)


def test_a_word_trie_matches_exactly_its_words_preferring_the_longest() -> None:
    words = ["mr", "mrs", "ms", "user", "username", "hi", "hello", "good morning"]
    trie = re.compile(word_trie(words))
    assert all(trie.fullmatch(word) for word in words)
    assert not any(trie.fullmatch(other) for other in ["m", "mrx", "use", "hel", "good"])
    assert [m.group() for m in trie.finditer("mrs username hello")] == ["mrs", "username", "hello"]


def test_a_repeated_text_is_answered_from_the_cache_with_the_same_spans() -> None:
    finder = SpanFinder(default_policy(), cache_entries=2)
    text = "mail a@b.io from 10.0.0.1"
    first = finder.find(text)
    assert [span.type for span in first] == [PiiType.EMAIL, PiiType.IP_ADDRESS]
    assert finder.find(text) == first
    assert (finder.cache_hits, finder.cache_misses) == (1, 1)
    # Two more texts push the first out (first in, first out): it is scanned again.
    finder.find("call 555-123-4567 now")
    finder.find("user dave logged in")
    assert finder.find(text) == first
    assert (finder.cache_hits, finder.cache_misses) == (1, 4)


def test_without_a_cache_every_text_is_scanned() -> None:
    finder = SpanFinder(default_policy(), cache_entries=0)
    text = "mail a@b.io"
    assert finder.find(text) == finder.find(text)
    assert (finder.cache_hits, finder.cache_misses) == (0, 0)
