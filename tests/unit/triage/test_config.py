from __future__ import annotations

import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from opsassist.streams.triage import InvalidTriageConfig, load_config, parse_config


def _default_document() -> dict[str, Any]:
    text = resources.files("opsassist.streams.triage").joinpath("default_config.toml").read_text()
    return tomllib.loads(text)


def test_default_config_has_the_six_categories_and_an_sla_per_priority() -> None:
    config = load_config()
    assert set(config.category_ids) == {
        "incident",
        "feature_request",
        "question",
        "access_request",
        "hr",
        "billing",
    }
    assert config.sla.due_in("P1") < config.sla.due_in("P2") < config.sla.due_in("P4")


def test_labels_map_onto_the_taxonomy_through_aliases() -> None:
    config = load_config()
    assert config.normalize_label("Bug") == "incident"
    assert config.normalize_label("enhancement") == "feature_request"
    assert config.normalize_label("question") == "question"
    assert config.normalize_label("no-such-label") is None


def test_a_config_file_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "triage.toml"
    path.write_text(
        "[sla_hours]\nP1 = 1\nP2 = 2\nP3 = 3\nP4 = 4\n"
        '[[categories]]\nid = "a"\nteam = "ta"\npriority = "P1"\n'
        '[[categories]]\nid = "b"\nteam = "tb"\npriority = "P4"\nthreshold = 0.9\n'
    )
    config = load_config(path)
    assert config.category_ids == ("a", "b")
    assert config.category("b").threshold == 0.9
    assert config.category("a").threshold == 0.5
    assert config.sla.due_in("P2") == timedelta(hours=2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["rules"].append({"name": "x", "keywords": ["y"], "category": "nope"}),
            "unknown category",
        ),
        (lambda d: d["rules"].append({"name": "x", "category": "hr"}), "at least one of"),
        (
            lambda d: d["rules"].append({"name": "x", "regexes": ["("], "category": "hr"}),
            "bad regex",
        ),
        (lambda d: d["rules"].append({"name": "x", "keywords": ["y"]}), "sets none"),
        (lambda d: d["sla_hours"].pop("P3"), "misses"),
        (lambda d: d["categories"][0].update(priority="P9"), "priority"),
        (lambda d: d["categories"][0].update(threshold=1.5), "threshold"),
    ],
)
def test_a_malformed_config_is_refused_naming_the_problem(change: Any, message: str) -> None:
    document = _default_document()
    change(document)
    with pytest.raises(InvalidTriageConfig, match=message):
        parse_config(document)
