"""JSON Schema of every event kind and version, exported into ``schemas/json/`` for producers
in other languages. ``opsassist schemas export`` writes them; a test fails when they are stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from opsassist.schemas.registry import PUBLISHED

JSON_DIR = Path(__file__).parent / "json"


def render_schemas() -> dict[str, bytes]:
    """File name -> content of the schema of every published version of every kind."""
    out: dict[str, bytes] = {}
    for (kind, version), model in PUBLISHED.items():
        schema: dict[str, Any] = model.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://opsassist.dev/schemas/{kind}.v{version}.json"
        schema["title"] = f"opsassist {kind} event, schema_version {version}"
        out[f"{kind}.v{version}.json"] = (
            orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
    return out


def export_schemas(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in render_schemas().items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written
