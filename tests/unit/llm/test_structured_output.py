"""Strict structured output: every prompt's answer model becomes a ``json_schema`` response
format that OpenAI's strict mode accepts, sent to the models that support it; the others get
today's request (``json_object`` or nothing) and the schema in the prompt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jsonschema_rs
import pytest
from pydantic import BaseModel

from opsassist.llm import LLMClient, PromptLibrary, parse_config
from opsassist.llm.cache import cache_key
from opsassist.llm.config import ModelSpec, ProviderEndpoint, provider_endpoints
from opsassist.llm.provider import Provider
from opsassist.llm.templates import PROMPTS_DIR, PromptTemplate, load_template
from opsassist.settings import Settings
from tests.unit.llm.conftest import config_for
from tests.unit.llm.fake_openai import (
    FakeOpenAI,
    Reply,
    answer,
    response_format_violations,
    strict_schema_violations,
)

MODEL = {"name": "primary", "max_tokens": 200}
TICKET = {
    "title": "Checkout page times out",
    "body": "Since the deploy at noon, the checkout page returns 504 for most customers.",
    "categories": ["bug", "outage", "question"],
    "priorities": ["low", "high", "urgent"],
}
GOOD = {"category": "outage", "priority": "urgent", "reason": "checkout is down"}


class Triage(BaseModel):
    category: str
    priority: str
    reason: str


RULES = Triage(category="bug", priority="high", reason="rules")


def _shipped_templates() -> list[PromptTemplate]:
    """Every version of every shipped prompt: published versions stay callable."""
    files = sorted(PROMPTS_DIR.iterdir(), key=lambda p: p.name)
    return [load_template(p) for p in files if p.name.endswith(".toml") and ".chain." not in p.name]


@pytest.mark.parametrize("template", _shipped_templates(), ids=lambda t: f"{t.id}.v{t.version}")
def test_every_shipped_prompt_has_a_valid_strict_json_schema(template: PromptTemplate) -> None:
    response_format = template.response_format
    assert response_format["type"] == "json_schema"
    assert response_format_violations(dict(response_format)) == []
    schema = response_format["json_schema"]["schema"]
    assert jsonschema_rs.meta.is_valid(schema)
    assert list(schema["properties"]) == list(template.output_fields)
    # the schema closes the object: a right answer passes, an extra or a missing field does not
    right = template.output_model.model_validate(_example(template)).model_dump()
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid(right)
    assert not validator.is_valid({**right, "extra": "x"})
    first = next(iter(right))
    assert not validator.is_valid({k: v for k, v in right.items() if k != first})


def _example(template: PromptTemplate) -> dict[str, object]:
    values = {"str": "s", "int": 1, "float": 0.5, "bool": True, "list[str]": ["a"]}
    return {name: values[kind] for name, kind in template.output_fields.items()}


def test_every_declarable_field_type_gives_a_strict_schema() -> None:
    template = PromptTemplate(
        id="demo.types",
        version=1,
        system="s",
        user="u",
        output_fields={"a": "str", "b": "int", "c": "float", "d": "bool", "e": "list[str]"},
    )
    assert response_format_violations(dict(template.response_format)) == []


def test_the_strictness_check_rejects_pydantics_plain_schema() -> None:
    """Guards the check itself: pydantic's own schema leaves objects open, which strict mode
    refuses; the generated one differs exactly there."""
    template = PromptLibrary.from_directory().get("triage.classify")
    plain = template.output_model.model_json_schema()
    assert strict_schema_violations(plain) == ["#: additionalProperties must be false"]
    assert strict_schema_violations({"type": "object", "properties": {"a": {"type": "string"}},
                                     "additionalProperties": False}) == [
        "#: every property must be required"
    ]  # fmt: skip


async def test_a_strict_request_carries_the_prompts_schema_and_its_answer_is_used(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue("primary", answer(GOOD))
    client = make_client(config_for([MODEL]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert (result.produced_by, result.value) == ("llm", Triage(**GOOD))
    sent = fake_openai.requests[0]["response_format"]
    assert sent == PromptLibrary.from_directory().get("triage.classify").response_format
    assert sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["category", "priority", "reason"]


async def test_a_provider_without_json_schema_gets_todays_request(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.respond("primary", lambda _: answer(GOOD))
    fake_openai.respond("plain", lambda _: answer(GOOD))
    plain = {"name": "plain", "max_tokens": 200, "json_mode": False}
    client = make_client(config_for([MODEL]), json_schema=False)
    no_json_mode = make_client(config_for([plain]), json_schema=False)

    with_json_mode = await client.run("triage", TICKET, Triage, deterministic=RULES)
    without = await no_json_mode.run("triage", TICKET, Triage, deterministic=RULES)

    assert (with_json_mode.produced_by, without.produced_by) == ("llm", "llm")
    assert fake_openai.requests_for("primary")[0]["response_format"] == {"type": "json_object"}
    assert "response_format" not in fake_openai.requests_for("plain")[0]
    for request in fake_openai.requests:  # the prompt still describes the answer
        assert '"category"' in request["messages"][0]["content"]


async def test_a_model_setting_overrides_its_providers(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.respond("off", lambda _: answer(GOOD))
    fake_openai.respond("on", lambda _: answer(GOOD))
    off = make_client(config_for([{"name": "off", "json_schema": False}]))
    on = make_client(config_for([{"name": "on", "json_schema": True}]), json_schema=False)

    await off.run("triage", TICKET, Triage, deterministic=RULES)
    await on.run("triage", TICKET, Triage, deterministic=RULES)

    assert fake_openai.requests_for("off")[0]["response_format"] == {"type": "json_object"}
    assert fake_openai.requests_for("on")[0]["response_format"]["type"] == "json_schema"


async def test_a_refusal_keeps_the_deterministic_result_with_the_reason_and_no_repair(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue("primary", Reply(refusal="I can't help with that."), answer(GOOD))
    client = make_client(config_for([MODEL]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert (result.produced_by, result.reason, result.value) == (
        "deterministic",
        "malformed_output",
        RULES,
    )
    assert "refused: I can't help with that." in result.detail
    assert len(fake_openai.requests) == 1 and result.steps[0].requests == 1


async def test_a_schema_invalid_answer_in_strict_mode_is_repaired_then_given_up_as_before(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    wrong = answer({"category": "outage"})
    fake_openai.queue("primary", wrong, wrong)
    client = make_client(config_for([MODEL]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert (result.produced_by, result.reason, result.value) == (
        "deterministic",
        "malformed_output",
        RULES,
    )
    assert [r["response_format"]["type"] for r in fake_openai.requests] == ["json_schema"] * 2


async def test_the_cache_tells_a_strict_answer_from_a_json_mode_one() -> None:
    template = PromptLibrary.from_directory().get("triage.classify")
    model = ModelSpec(name="m")
    messages = template.render(TICKET)
    endpoint = ProviderEndpoint(name="p", base_url="http://127.0.0.1:9", api_key="k")
    strict_provider = Provider(endpoint)
    plain_provider = Provider(endpoint.model_copy(update={"json_schema": False}))
    strict = strict_provider.response_format(model, template.response_format)
    plain = plain_provider.response_format(model, template.response_format)
    await strict_provider.aclose()
    await plain_provider.aclose()
    assert strict == template.response_format and plain == {"type": "json_object"}
    assert (
        cache_key(template, "p", model, messages, strict).input_hash
        != cache_key(template, "p", model, messages, plain).input_hash
    )


def test_the_configuration_file_says_which_providers_and_models_support_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "llm.toml"
    path.write_text(
        '[providers.local]\nbase_url = "http://localhost:11434/v1"\njson_schema = false\n'
        '[[tasks.triage.models]]\nname = "llama3"\nprovider = "local"\n'
        '[[tasks.triage.models]]\nname = "gpt-4o-mini"\njson_schema = false\n'
    )
    settings = Settings(OPENAI_API_KEY="sk-test", llm_config_file=path)
    config = parse_config(path.read_text(), str(path))
    endpoints = provider_endpoints(config, settings)
    assert (endpoints["local"].json_schema, endpoints["openai"].json_schema) == (False, True)
    assert [m.json_schema for m in config.task("triage").models] == [None, False]
