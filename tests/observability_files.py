"""The observability files as data, for the tests that check them."""

from __future__ import annotations

import re
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


# What Grafana puts for $__rate_interval is for the checks the window the dashboards had before
# they used it: the queries Prometheus answers in the tests are the same as then.
RATE_INTERVAL = "5m"
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def variables(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The dashboard's template variables by name."""
    return {variable["name"]: variable for variable in board["templating"]["list"]}


def expand(board: dict[str, Any], text: str) -> str:
    """``text`` with the variables as Grafana fills them on a freshly opened dashboard: a
    variable's default (``All`` is its ``allValue``), ``$__rate_interval`` the window above. A
    variable the dashboard does not define raises KeyError."""
    defined = variables(board)

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name == "__rate_interval":
            return RATE_INTERVAL
        variable = defined[name]
        current = variable["current"]["value"]
        return str(variable["allValue"]) if current == "$__all" else str(current)

    return _VARIABLE.sub(value, text)


def raw_dashboard_expressions() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL as written, with its variables)."""
    found = []
    for path in DASHBOARDS:
        for panel in dashboard(path)["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
    return found


def dashboard_expressions() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) for every target of every panel, variables
    expanded as on a freshly opened dashboard."""
    boards = {path.name: dashboard(path) for path in DASHBOARDS}
    return [
        (name, title, expand(boards[name], expr))
        for name, title, expr in raw_dashboard_expressions()
    ]


_LABEL_VALUES = re.compile(r"^label_values\((\w+), (\w+)\)$")


def variable_queries() -> list[tuple[str, str, str, str]]:
    """(dashboard file, variable, metric, label) for every ``label_values(metric, label)``
    variable: the choices Grafana offers are the label's values on that metric."""
    found = []
    for path in DASHBOARDS:
        for name, variable in variables(dashboard(path)).items():
            if variable["type"] != "query":
                continue
            match = _LABEL_VALUES.match(variable["definition"])
            assert match, f"{path.name}: ${name} is not label_values(metric, label)"
            found.append((path.name, name, match.group(1), match.group(2)))
    return found
