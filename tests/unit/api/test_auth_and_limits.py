"""API key format, hashing and scopes; the rate limiter; problem details."""

from __future__ import annotations

import pytest

from opsassist.api.problems import TooManyRequests, Unauthorized, problem_body
from opsassist.api.webhooks.auth import (
    InvalidScope,
    allows,
    generate_api_key,
    hash_secret,
    parse_api_key,
    token_from_headers,
    validate_scopes,
)
from opsassist.api.webhooks.ratelimit import RateLimiter
from opsassist.schemas import InvalidEvent, decode_event


def test_a_generated_key_parses_back_and_only_its_hash_is_kept() -> None:
    key = generate_api_key()
    assert parse_api_key(key.token) == (key.key_id, key.secret)
    assert hash_secret(key.secret) != key.secret.encode()
    assert len(hash_secret(key.secret)) == 32
    assert generate_api_key().token != key.token


@pytest.mark.parametrize("token", ["", "opsa_", "Bearer x", "opsa_zzzzzzzzzzzz_" + "a" * 40])
def test_malformed_keys_do_not_parse(token: str) -> None:
    assert parse_api_key(token) is None


def test_scopes_allow_exactly_their_sources() -> None:
    assert allows(("tickets:jira",), "tickets:jira")
    assert not allows(("tickets:jira",), "tickets:zendesk")
    assert allows(("tickets:*",), "tickets:zendesk")
    assert not allows(("tickets:*",), "logs")
    assert allows(("*",), "events")
    assert validate_scopes(["logs", "logs", "tickets:jira"]) == ["logs", "tickets:jira"]
    for bad in (["admin"], [], ["tickets:"], ["tickets:Jira"]):
        with pytest.raises(InvalidScope):
            validate_scopes(bad)


def test_the_key_comes_from_x_api_key_or_a_bearer_authorization() -> None:
    assert token_from_headers("Bearer abc", None) == "abc"
    assert token_from_headers("bearer  abc ", None) == "abc"
    assert token_from_headers("Basic abc", None) is None
    assert token_from_headers(None, "xyz") == "xyz"
    assert token_from_headers(None, None) is None


def test_rate_limiter_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.acquire("k") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("k") == 1
    assert limiter.acquire("other") is None, "each sender has its own bucket"
    now[0] = 0.5  # one token back at 2/s
    assert limiter.acquire("k") is None
    assert limiter.acquire("k") == 1


def test_problem_details_carry_type_title_status_detail_and_extensions() -> None:
    body = problem_body(422, "unprocessable", "line 3 is bad", "/ingest/logs", {"rejected": 1})
    assert body == {
        "type": "urn:opsassist:problem:unprocessable",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "line 3 is bad",
        "instance": "/ingest/logs",
        "rejected": 1,
    }
    assert problem_body(400, "x", "d", None, {"status": 999})["status"] == 400
    assert Unauthorized("no key").headers == {"WWW-Authenticate": "Bearer"}
    assert TooManyRequests("slow down", retry_after=3).headers == {"Retry-After": "3"}


def test_a_time_that_overflows_in_utc_is_an_invalid_event_not_a_crash() -> None:
    raw = (
        b'{"id":"x","kind":"log","schema_version":1,"source":"s",'
        b'"occurred_at":"0001-01-01T00:01:00+03:00","payload":{}}'
    )
    with pytest.raises(InvalidEvent):
        decode_event(raw)
