"""Prompt templates as versioned files: ``llm/prompts/<id>.v<version>.toml``.

A file holds its ``id``, ``version``, a ``system`` and a ``user`` text with ``${name}``
placeholders, and an ``[output]`` table declaring the JSON object the answer must be (field ->
``str``, ``int``, ``float``, ``bool`` or ``list[str]``). Values that are not strings are
inserted as JSON. The output declaration becomes a pydantic model, used to tell the model the
JSON Schema (in the system message, and as a strict ``json_schema`` response format where the
provider supports one) and to parse its answer.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from string import Template
from typing import Any, cast

from openai.lib import type_to_response_format_param
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from opsassist.llm.errors import MalformedOutput, PromptError

PROMPTS_DIR = resources.files("opsassist.llm").joinpath("prompts")
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_FILE_NAME = re.compile(r"^(?P<id>[a-z0-9_.]+)\.v(?P<version>\d+)\.toml$")
_FIELD_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list[str]": list[str],
}


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class PromptTemplate:
    id: str
    version: int
    system: str
    user: str
    output_fields: dict[str, str]
    description: str = ""
    output_model: type[BaseModel] = field(init=False, repr=False, compare=False)
    _schema: str = field(init=False, repr=False, compare=False)
    # The strict structured-output request for the answer, as the SDK's own ``parse`` builds it
    # (``additionalProperties: false`` and every property required, as strict mode demands).
    response_format: ResponseFormatJSONSchema = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = {t for t in self.output_fields.values() if t not in _FIELD_TYPES}
        if unknown or not self.output_fields:
            raise PromptError(
                f"prompt {self.id} v{self.version}: [output] needs fields of types "
                f"{sorted(_FIELD_TYPES)}; got {self.output_fields}"
            )
        fields: dict[str, Any] = {
            name: (_FIELD_TYPES[kind], ...) for name, kind in self.output_fields.items()
        }
        model = create_model(
            f"Answer_{self.id.replace('.', '_')}_v{self.version}", __base__=_Answer, **fields
        )
        object.__setattr__(self, "output_model", model)
        # Generated once: pydantic's schema generation costs more than the rest of a render.
        object.__setattr__(self, "_schema", json.dumps(model.model_json_schema(), sort_keys=True))
        object.__setattr__(self, "response_format", _strict_response_format(model))

    @property
    def variables(self) -> set[str]:
        names: set[str] = set()
        for text in (self.system, self.user):
            for match in Template.pattern.finditer(text):
                name = match.group("named") or match.group("braced")
                if name:
                    names.add(name)
        return names

    def render(self, values: dict[str, Any]) -> list[dict[str, str]]:
        """The chat messages for these values; the system message ends with the output's
        JSON Schema."""
        missing = self.variables - values.keys()
        if missing:
            raise PromptError(f"prompt {self.id} v{self.version} needs {sorted(missing)}")
        text_values = {name: _as_text(values[name]) for name in self.variables}
        system = Template(self.system).substitute(text_values).rstrip()
        system += (
            "\n\nAnswer with one JSON object and nothing else. Its JSON Schema:\n" + self._schema
        )
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": Template(self.user).substitute(text_values)},
        ]


def _strict_response_format(model: type[BaseModel]) -> ResponseFormatJSONSchema:
    """The SDK's strict transformation of the model's JSON Schema (the function
    ``chat.completions.parse`` sends), typed as the one kind of format it returns for a model."""
    return cast(ResponseFormatJSONSchema, type_to_response_format_param(model))


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def load_template(path: Traversable) -> PromptTemplate:
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise PromptError(f"{path.name}: prompt files are named <id>.v<version>.toml")
    try:
        data = tomllib.loads(path.read_text())
        template = PromptTemplate(
            id=data["id"],
            version=int(data["version"]),
            system=data["system"],
            user=data["user"],
            output_fields=dict(data["output"]),
            description=data.get("description", ""),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PromptError(f"{path}: {exc!r}") from exc
    if (template.id, template.version) != (match.group("id"), int(match.group("version"))):
        raise PromptError(f"{path.name}: declares {template.id} v{template.version}")
    return template


class PromptLibrary:
    """Every version of every prompt in a directory."""

    def __init__(self, templates: list[PromptTemplate]) -> None:
        self._versions: dict[str, dict[int, PromptTemplate]] = {}
        for template in templates:
            versions = self._versions.setdefault(template.id, {})
            if template.version in versions:
                raise PromptError(f"prompt {template.id} v{template.version} is defined twice")
            versions[template.version] = template

    @classmethod
    def from_directory(cls, directory: Traversable = PROMPTS_DIR) -> PromptLibrary:
        paths = sorted(
            (p for p in directory.iterdir() if p.name.endswith(".toml")),
            key=lambda p: p.name,
        )
        paths = [p for p in paths if not p.name.endswith(".chain.toml")]
        return cls([load_template(p) for p in paths])

    def get(self, prompt_id: str, at_most: int | None = None) -> PromptTemplate:
        """The newest version of ``prompt_id``, or the newest not above ``at_most``."""
        versions = self._versions.get(prompt_id, {})
        eligible = [v for v in versions if at_most is None or v <= at_most]
        if not eligible:
            limit = "" if at_most is None else f" at version <= {at_most}"
            raise PromptError(f"no prompt {prompt_id!r}{limit}")
        return versions[max(eligible)]

    def versions(self, prompt_id: str) -> list[int]:
        return sorted(self._versions.get(prompt_id, {}))


def parse_answer(template: PromptTemplate, text: str) -> dict[str, Any]:
    """The answer as the prompt's declared object; tolerates a Markdown code fence around it."""
    fenced = _FENCE.match(text)
    try:
        data = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as exc:
        raise MalformedOutput(f"not JSON: {exc}") from exc
    try:
        return template.output_model.model_validate(data).model_dump()
    except ValidationError as exc:
        raise MalformedOutput(f"not the declared object: {exc}") from exc
