"""`opsassist apikey create|list|revoke` as a user runs it, and the API honouring the result;
the OpenAPI document the app serves lists every webhook endpoint."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

from opsassist.settings import PROJECT_ROOT
from tests.conftest import settings_env
from tests.integration.events import log_event

pytestmark = pytest.mark.integration


def apikey(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsassist", "apikey", *args],
        env={**settings_env(settings), "COLUMNS": "300"},
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )


def test_created_key_sends_within_its_scopes_and_a_revoked_key_is_refused(
    webhook_api: Any,
) -> None:
    api = webhook_api(webhook_api_key_cache_seconds=0.0)
    settings = api.settings
    created = apikey(settings, "create", "--name", "shipper", "--scope", "logs")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("opsa_")
    duplicate = apikey(settings, "create", "--name", "shipper", "--scope", "logs")
    assert duplicate.returncode == 1 and "already named" in duplicate.stderr
    bad_scope = apikey(settings, "create", "--name", "x", "--scope", "admin")
    assert bad_scope.returncode == 2 and "invalid scope" in bad_scope.stderr

    listed = apikey(settings, "list")
    assert listed.returncode == 0
    assert "shipper" in listed.stdout and token not in listed.stdout

    api.start()
    auth = {"X-API-Key": token, "Content-Type": "text/plain"}
    ok = httpx.post(f"{api.url}/ingest/logs?service=s", content=b"hello\n", headers=auth)
    assert ok.status_code == 202, ok.text
    out_of_scope = httpx.post(
        f"{api.url}/ingest/events",
        json=log_event(1).model_dump(mode="json"),
        headers={"X-API-Key": token},
    )
    assert out_of_scope.status_code == 403

    revoked = apikey(settings, "revoke", "shipper")
    assert revoked.returncode == 0, revoked.stderr
    refused = httpx.post(f"{api.url}/ingest/logs?service=s", content=b"hello\n", headers=auth)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert apikey(settings, "revoke", "shipper").returncode == 1


def test_the_app_serves_its_openapi_with_every_webhook_endpoint(webhook_api: Any) -> None:
    api = webhook_api()
    api.start()
    spec = httpx.get(f"{api.url}/openapi.json").json()
    assert {
        "/webhooks/github",
        "/webhooks/tickets/{source}",
        "/ingest/logs",
        "/ingest/events",
    } <= set(spec["paths"])
    logs = spec["paths"]["/ingest/logs"]["post"]
    assert {"application/x-ndjson", "text/plain"} <= set(logs["requestBody"]["content"])
    assert "application/problem+json" in logs["responses"]["413"]["content"]
    assert httpx.get(f"{api.url}/docs").status_code == 200
