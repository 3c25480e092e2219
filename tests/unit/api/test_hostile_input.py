"""The pure parts of the API's defences: JSON depth, the login backoff schedule, the pages' CSP."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest

from opsassist.api.bodies import MAX_JSON_DEPTH, InvalidJson, load_json
from opsassist.api.graphql.login_throttle import LoginThrottle
from opsassist.api.security_headers import page_csp
from opsassist.settings import Settings


def _nested(levels: int, open_: str = "[", close: str = "]") -> str:
    return open_ * levels + close * levels


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 1000, 5000])
def test_json_deeper_than_the_limit_is_refused_with_one_reason(levels: int) -> None:
    with pytest.raises(InvalidJson) as refused:
        load_json(_nested(levels))
    assert str(refused.value) == f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


def test_json_at_the_limit_and_wide_json_are_taken() -> None:
    assert load_json(_nested(MAX_JSON_DEPTH))
    wide = "[" + ",".join(["{}"] * 10_000) + "]"
    assert len(load_json(wide)) == 10_000
    objects = '{"a": ' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH
    assert load_json(objects)


def test_not_json_says_so() -> None:
    with pytest.raises(InvalidJson, match=r"^not JSON: "):
        load_json(b"{nope")


def test_login_backoff_doubles_after_the_free_failures_up_to_the_cap() -> None:
    throttle = LoginThrottle(
        Settings(
            graphql_login_free_failures=3,
            graphql_login_backoff_seconds=2,
            graphql_login_backoff_max_seconds=60,
        )
    )
    waits = [throttle.lock_after(attempt).total_seconds() for attempt in range(1, 10)]
    assert waits == [0, 0, 2, 4, 8, 16, 32, 60, 60]
    assert throttle.lock_after(10_000) == timedelta(seconds=60)


def test_a_page_csp_allows_its_inline_scripts_by_hash_only() -> None:
    script = b"window.ui = SwaggerUIBundle({url: '/openapi.json'})"
    csp = page_csp(
        b"<html><script src='https://cdn.jsdelivr.net/x.js'></script><script>"
        + script
        + b"</script></html>"
    )
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert f"'sha256-{digest}'" in script_src
    assert "'unsafe-inline'" not in script_src
    assert "frame-ancestors 'none'" in csp
