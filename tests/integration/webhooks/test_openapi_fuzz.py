"""schemathesis against the app's own OpenAPI: generated requests (valid and invalid by the
schema) to every webhook and ingest endpoint, authenticated and, for GitHub, signed, so they
reach the parsing and producing code; not one may get a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from opsassist.api.webhooks.github_mapping import sign

pytestmark = pytest.mark.integration

ENDPOINTS = (
    ("POST", "/webhooks/github"),
    ("POST", "/webhooks/tickets/{source}"),
    ("POST", "/ingest/logs"),
    ("POST", "/ingest/events"),
)
CASES_PER_OPERATION_AND_MODE = 130  # x 4 endpoints x 2 modes = 1,040 cases


def _body_bytes(kwargs: dict[str, Any]) -> bytes:
    """The body exactly as it will be sent, so that GitHub's signature can be computed on it."""
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
    data = kwargs.get("data")
    if data is None:
        return b""
    if isinstance(data, str):
        kwargs["data"] = data.encode()
    elif not isinstance(data, bytes):
        kwargs["data"] = json.dumps(data).encode()
    return bytes(kwargs["data"])


def test_generated_requests_to_the_webhook_endpoints_never_get_a_5xx(webhook_api: Any) -> None:
    api = webhook_api(webhook_rate_limit_per_second=10_000.0, webhook_rate_limit_burst=100_000)
    api.start()
    assert httpx.get(f"{api.url}/openapi.json").status_code == 200
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    secret = api.settings.github_webhook_secret
    session = requests.Session()
    sent: list[int] = []
    server_errors: list[str] = []

    def send(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=api.url)
        headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if isinstance(k, str)}
        headers.pop("X-API-Key", None)
        headers["Authorization"] = f"Bearer {api.api_key}"
        body = _body_bytes(kwargs)
        if case.path == "/webhooks/github":
            headers["X-Hub-Signature-256"] = sign(secret, body)
        kwargs["headers"] = headers
        kwargs["timeout"] = 30
        response = session.request(**kwargs)
        sent.append(response.status_code)
        if response.status_code >= 500:
            server_errors.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]}\n  request: {kwargs!r:.500}"
            )

    for method, path in ENDPOINTS:
        operation = schema[path][method]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=CASES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                send(case)

            run()

    assert len(sent) >= 1000, f"only {len(sent)} generated cases were sent"
    assert not server_errors, "\n".join(server_errors[:10])
    # the fuzzing reached the code behind authentication, not only the 401s
    assert {202, 422} <= set(sent), sorted(set(sent))
