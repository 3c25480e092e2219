"""The API process over HTTP: liveness, readiness that checks the real services, metrics."""

from __future__ import annotations

import httpx
import pytest

from opsassist.infra.processes import free_port

pytestmark = pytest.mark.integration


def test_health_readiness_and_metrics_over_http(api_process) -> None:  # type: ignore[no-untyped-def]
    api = api_process()
    api.start()
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api.url}/readyz", timeout=15)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"kafka": "ok", "postgres": "ok"}}
    assert httpx.get(f"{api.url}/no/such/page").status_code == 404
    metrics = httpx.get(f"{api.url}/metrics").text
    assert 'opsassist_http_requests_total{method="GET",route="/readyz",status="200"} 1.0' in metrics
    # unknown paths are one bounded label, never the raw path
    assert 'route="unmatched",status="404"' in metrics
    assert "/no/such/page" not in metrics


def test_readiness_fails_with_the_reason_when_kafka_is_unreachable(api_process) -> None:  # type: ignore[no-untyped-def]
    api = api_process(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    api.start()
    ready = httpx.get(f"{api.url}/readyz", timeout=30)
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["postgres"] == "ok"
    assert body["checks"]["kafka"] != "ok"
