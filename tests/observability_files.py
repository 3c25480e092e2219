"""The observability files as data, for the tests that check them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml

from opsassist.settings import PROJECT_ROOT

ROOT = PROJECT_ROOT / "observability"
RULES = ROOT / "prometheus" / "rules" / "opsassist.yml"
RULE_TESTS = ROOT / "prometheus" / "tests" / "opsassist_test.yml"
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml"


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def dashboard(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


def dashboard_expressions() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) for every target of every panel."""
    found = []
    for path in DASHBOARDS:
        for panel in dashboard(path)["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
    return found
