"""Starting local services fails with a message that says what to install."""

from __future__ import annotations

import base64

import pytest

from opsassist.endpoints import ServicesError, resolve_endpoints
from opsassist.infra.errors import InfraError
from opsassist.infra.kafka import java_binary, new_cluster_id
from opsassist.settings import Settings


def test_a_missing_jdk_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(InfraError, match="openjdk-17-jre-headless"):
        java_binary()


def test_cluster_ids_are_16_bytes_url_safe_base64() -> None:
    cluster_id = new_cluster_id()
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    assert cluster_id != new_cluster_id()


def test_no_configured_and_no_running_services_says_how_to_get_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS="", DATABASE_URL="", state_dir=tmp_path)
    with pytest.raises(ServicesError, match="opsassist infra up"):
        resolve_endpoints(settings)
    configured = Settings(
        KAFKA_BOOTSTRAP_SERVERS="k:9092", DATABASE_URL="postgresql://x/y", state_dir=tmp_path
    )
    endpoints = resolve_endpoints(configured)
    assert (endpoints.kafka_bootstrap_servers, endpoints.database_url) == (
        "k:9092",
        "postgresql://x/y",
    )
