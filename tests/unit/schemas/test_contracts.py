"""The contracts other languages see: the exported JSON Schema is current, and every published
version of every event still decodes (one fixture per kind and version, kept forever)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsassist.schemas import LATEST_VERSION, decode_event
from opsassist.schemas.jsonschema import JSON_DIR, render_schemas

FIXTURES = Path(__file__).parents[2] / "fixtures" / "events"
FIXTURE_NAME = re.compile(r"^(log|commit|ticket|alert)\.v(\d+)\.json$")


def test_exported_json_schema_is_current() -> None:
    rendered = render_schemas()
    on_disk = {path.name: path.read_bytes() for path in JSON_DIR.glob("*.json")}
    stale = sorted(name for name in rendered if on_disk.get(name) != rendered[name])
    assert not stale, f"schemas/json is stale for {stale}: run `make schemas` and commit the result"
    extra = sorted(set(on_disk) - set(rendered))
    assert not extra, f"schemas/json holds schemas no model produces: {extra}"


def test_there_is_a_fixture_for_every_published_version_of_every_kind() -> None:
    present = {m.groups() for p in FIXTURES.iterdir() if (m := FIXTURE_NAME.match(p.name))}
    expected = {
        (kind, str(v)) for kind, latest in LATEST_VERSION.items() for v in range(1, latest + 1)
    }
    assert expected <= present, f"missing fixtures: {sorted(expected - present)}"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.name)
def test_every_old_fixture_still_decodes_to_the_newest_version(path: Path) -> None:
    match = FIXTURE_NAME.match(path.name)
    assert match is not None, f"{path.name} is not named <kind>.v<version>.json"
    kind = match.group(1)
    event = decode_event(path.read_bytes(), kind)  # type: ignore[arg-type]
    assert event.kind == kind
    assert event.schema_version == LATEST_VERSION[kind]
