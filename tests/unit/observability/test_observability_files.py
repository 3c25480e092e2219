"""Alert rules, their unit tests, and the Grafana dashboards are consistent and valid."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.observability_files import (
    DASHBOARDS,
    DATASOURCES,
    RULE_TESTS,
    RULES,
    dashboard,
    dashboard_expressions,
    expand,
    raw_dashboard_expressions,
    rules,
    variable_queries,
    variables,
)


def test_every_alert_has_a_promtool_unit_test_and_a_runbook_entry() -> None:
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert alerts, "no alerts found"
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert alerts <= tested, f"alerts without a unit test: {sorted(alerts - tested)}"
    runbook = (Path(__file__).parents[3] / "docs" / "observability.md").read_text()
    missing = sorted(a for a in alerts if f"### {a}" not in runbook)
    assert not missing, f"docs/observability.md has no section for {missing}"
    for rule in rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"critical", "warning"}
            assert rule["annotations"]["runbook"].endswith(f"#{rule['alert'].lower()}")


def test_dashboards_are_provisioning_json_on_the_provisioned_datasource() -> None:
    uid = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]["uid"]
    assert DASHBOARDS, "no dashboards"
    uids = set()
    for path in DASHBOARDS:
        board = dashboard(path)
        assert board["uid"] and board["title"] and board["panels"], path.name
        uids.add(board["uid"])
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in board["panels"]:
            assert expand(board, panel["datasource"]["uid"]) == uid, (
                f"{path.name}: {panel['title']}"
            )
            assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert expand(board, target["datasource"]["uid"]) == uid
    assert len(uids) == len(DASHBOARDS), "dashboard uids must be unique"


def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian: apt-get install prometheus); CI installs it")
    # promtool parses rule expressions: each dashboard query becomes a recording rule.
    exprs = dashboard_expressions()
    groups = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:expr_{n}", "expr": expr}
                    for n, (_, _, expr) in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump(groups))
    done = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(exprs)} rules found" in done.stdout


def test_the_rule_file_itself_is_valid() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian: apt-get install prometheus); CI installs it")
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_links_its_runbook_section() -> None:
    """``runbook_url`` (what Alertmanager and Grafana link) is the ``runbook`` path on the
    project's pages, and the section it points to exists (GitHub's anchor of the heading)."""
    runbook = (Path(__file__).parents[3] / "docs" / "observability.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", runbook, flags=re.MULTILINE)
    }
    alerts = [rule for rule in rules() if "alert" in rule]
    for rule in alerts:
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("https://"), rule["alert"]
        assert url.endswith("/" + rule["annotations"]["runbook"]), rule["alert"]
        page, anchor = url.rsplit("#", 1)
        assert page.endswith("/docs/observability.md") and anchor in anchors, url


def test_dashboards_choose_datasource_and_filter_by_their_variables() -> None:
    for path in DASHBOARDS:
        board = dashboard(path)
        defined = variables(board)
        assert defined["datasource"]["type"] == "datasource", path.name
        assert defined["datasource"]["query"] == "prometheus", path.name
        filters = [v for v in defined.values() if v["type"] == "query"]
        assert filters, f"{path.name}: no variable to filter its panels by"
        exprs = [expr for name, _, expr in raw_dashboard_expressions() if name == path.name]
        for variable in filters:
            assert variable["includeAll"] and variable["allValue"] == ".*", variable["name"]
            assert variable["datasource"]["uid"] == "${datasource}", variable["name"]
            used = f'{variable["name"]}=~"${variable["name"]}"'
            assert any(used in expr for expr in exprs), f"{path.name}: ${variable['name']} unused"
        for expr in exprs:
            expand(board, expr)  # KeyError: a variable the dashboard does not define


def test_rate_windows_are_grafanas_rate_interval() -> None:
    """A fixed rate() window is too short for a slow scrape or too coarse when zoomed in;
    ``$__rate_interval`` follows both. increase() over a window a panel's title names stays."""
    for name, title, expr in raw_dashboard_expressions():
        windows = re.findall(r"\brate\([^\[\]]*\[([^\]]+)\]", expr)
        assert all(w == "$__rate_interval" for w in windows), f"{name} / {title}: {expr}"


def test_every_variable_lists_the_values_of_one_label() -> None:
    """The integration test asks Prometheus for each of these (label_values in Grafana)."""
    found = variable_queries()
    assert {(name, variable) for name, variable, _, _ in found} >= {
        ("api.json", "instance"),
        ("pipeline.json", "topic"),
        ("pipeline.json", "instance"),
        ("intelligence.json", "instance"),
        ("intelligence.json", "task"),
    }
