"""Prompt files and declared chains."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsassist.llm import PromptError, PromptLibrary, load_chain, parse_answer
from opsassist.llm.chain import run_chain
from opsassist.llm.templates import PROMPTS_DIR, load_template

PROMPT = """
id = "demo.ask"
version = {version}
system = "You answer about ${{topic}}."
user = "Question: ${{question}} Items: ${{items}}"

[output]
answer = "str"
confidence = "float"
tags = "list[str]"
"""


def _write(directory: Path, version: int, name: str | None = None) -> Path:
    path = directory / (name or f"demo.ask.v{version}.toml")
    path.write_text(PROMPT.format(version=version))
    return path


def test_every_shipped_prompt_and_chain_loads() -> None:
    library = PromptLibrary.from_directory()
    for task, inputs in {
        "summarize": {"service", "window", "groups"},
        "triage": {"title", "body", "categories", "priorities"},
        "changelog": {"repo", "release", "commits"},
    }.items():
        chain = load_chain(task)
        assert chain.required_inputs(library, None) == inputs
    assert [p for p in PROMPTS_DIR.iterdir() if p.name.endswith(".toml")]


def test_render_fills_placeholders_and_appends_the_output_schema(tmp_path: Path) -> None:
    template = load_template(_write(tmp_path, 1))
    system, user = template.render({"topic": "disks", "question": "why?", "items": [1, "a"]})
    assert system["content"].startswith("You answer about disks.")
    assert '"confidence"' in system["content"] and '"tags"' in system["content"]
    assert user["content"] == 'Question: why? Items: [1, "a"]'


def test_render_without_an_input_names_it(tmp_path: Path) -> None:
    template = load_template(_write(tmp_path, 1))
    with pytest.raises(PromptError, match="question"):
        template.render({"topic": "disks", "items": []})


def test_newest_version_or_the_newest_not_above_a_limit(tmp_path: Path) -> None:
    for version in (1, 2, 5):
        _write(tmp_path, version)
    library = PromptLibrary.from_directory(tmp_path)
    assert library.get("demo.ask").version == 5
    assert library.get("demo.ask", at_most=4).version == 2
    assert library.versions("demo.ask") == [1, 2, 5]
    with pytest.raises(PromptError):
        library.get("demo.ask", at_most=0)


def test_file_name_must_match_the_declared_id_and_version(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="declares"):
        load_template(_write(tmp_path, 3, name="demo.ask.v2.toml"))


def test_parse_answer_accepts_a_fenced_object_and_rejects_the_wrong_shape(
    tmp_path: Path,
) -> None:
    from opsassist.llm import MalformedOutput

    template = load_template(_write(tmp_path, 1))
    fenced = '```json\n{"answer": "ok", "confidence": 0.5, "tags": ["a"]}\n```'
    assert parse_answer(template, fenced) == {"answer": "ok", "confidence": 0.5, "tags": ["a"]}
    with pytest.raises(MalformedOutput):
        parse_answer(template, '{"answer": "ok"}')
    with pytest.raises(MalformedOutput):
        parse_answer(template, "ok")


async def test_chain_runs_map_then_reduce_with_earlier_answers_by_step_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "c.item.v1.toml").write_text(
        'id = "c.item"\nversion = 1\nsystem = "s"\nuser = "${item}"\n[output]\nn = "int"\n'
    )
    (tmp_path / "c.total.v1.toml").write_text(
        'id = "c.total"\nversion = 1\nsystem = "s"\nuser = "${items}"\n[output]\ntotal = "int"\n'
    )
    (tmp_path / "c.chain.toml").write_text(
        '[[steps]]\nname = "items"\nprompt = "c.item"\nmap_over = "numbers"\n'
        '[[steps]]\nname = "total"\nprompt = "c.total"\n'
    )
    library = PromptLibrary.from_directory(tmp_path)
    chain = load_chain("c", tmp_path)
    assert chain.required_inputs(library, None) == {"numbers"}

    async def call(template, values):  # type: ignore[no-untyped-def]
        if template.id == "c.item":
            return {"n": values["item"] * 10}
        return {"total": sum(a["n"] for a in values["items"])}

    merged = await run_chain(chain, chain.templates(library, None), {"numbers": [1, 2, 3]}, call)
    assert merged == {"total": 60}
