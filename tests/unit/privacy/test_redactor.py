"""Actions, the field allow-list, the redaction record and the metric."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from opsassist.settings import Settings
from opsassist.streams.privacy import (
    UNLISTED_FIELD,
    PiiType,
    PolicyError,
    RedactionPolicy,
    Redactor,
    default_policy,
    load_policy,
)

KEY = b"test-key"


def policy_with(**actions: str) -> RedactionPolicy:
    data = default_policy().model_dump()
    data["actions"] = {**data["actions"], **actions}
    return RedactionPolicy.model_validate(data)


def test_mask_writes_the_type_label() -> None:
    redactor = Redactor(policy_with(EMAIL="mask"), KEY)
    assert redactor.redact_text("mail jane@example.com now").text == "mail <EMAIL> now"


def test_pseudonyms_are_stable_per_value_and_differ_between_values_and_keys() -> None:
    redactor = Redactor(policy_with(EMAIL="pseudonymize"), KEY)
    first = redactor.redact_text("a jane@example.com b JANE@example.com c bob@example.com").text
    tokens = [word for word in first.split() if word.startswith("<EMAIL:")]
    assert len(tokens) == 3
    assert tokens[0] == tokens[1] != tokens[2]
    other_key = Redactor(policy_with(EMAIL="pseudonymize"), b"another-key")
    assert other_key.redact_text("a jane@example.com").text.split()[1] != tokens[0]
    assert "jane" not in first


def test_pseudonymize_without_a_key_falls_back_to_a_mask() -> None:
    redactor = Redactor(policy_with(EMAIL="pseudonymize"), b"")
    assert redactor.redact_text("jane@example.com").text == "<EMAIL>"


def test_drop_removes_the_value_and_keep_leaves_it_unsearched() -> None:
    redactor = Redactor(policy_with(PHONE="drop", EMAIL="keep"), KEY)
    result = redactor.redact_text("call 555-123-4567 or jane@example.com")
    assert result.text == "call  or jane@example.com"
    assert result.record.as_dict() == {"PHONE": 1}


def test_the_record_counts_types_and_holds_no_value() -> None:
    redactor = Redactor(default_policy(), KEY)
    result = redactor.redact_text("jane@example.com, bob@example.com, 10.1.2.3, SSN 123-45-6789")
    assert result.record.as_dict() == {"EMAIL": 2, "IP_ADDRESS": 1, "US_SSN": 1}
    assert result.record.total == 4
    assert "jane" not in repr(result.record)


def test_payload_fields_go_through_the_allow_list() -> None:
    redactor = Redactor(default_policy(), KEY)
    payload = {
        "timestamp": "2024-01-02T03:04:05Z",
        "service": "billing",
        "level": "ERROR",
        "host": "10.1.2.3",
        "message": "charge failed for jane@example.com",
        "attributes": {
            "user": "jane",
            "order_total": "19.99",
            "http": {"url": "/x?a=1"},
            "thread": "listener /10.9.8.7:3888",
        },
    }
    result = redactor.redact_payload(payload)
    out = result.payload
    assert out["timestamp"] == payload["timestamp"]
    assert out["service"] == "billing"
    assert out["host"].startswith("<IP_ADDRESS:")
    assert out["message"].startswith("charge failed for <EMAIL:")
    assert out["attributes"]["user"].startswith("<USERNAME:")
    assert out["attributes"]["order_total"] == "<REDACTED>"
    assert out["attributes"]["http"] == {"url": "/x?a=1"}
    assert out["attributes"]["thread"].startswith("listener /<IP_ADDRESS:")
    assert result.record.as_dict() == {
        "EMAIL": 1,
        "IP_ADDRESS": 2,
        UNLISTED_FIELD: 1,
        "USERNAME": 1,
    }
    assert payload["attributes"]["user"] == "jane", "the input is not changed"


def test_commit_and_ticket_people_fields_are_redacted_whole() -> None:
    redactor = Redactor(default_policy(), b"")
    commit = redactor.redact_payload(
        {"repo": "r", "sha": "abc1234", "author_name": "Jane Doe", "author_email": "j@x.org"}
    ).payload
    assert commit == {
        "repo": "r",
        "sha": "abc1234",
        "author_name": "<PERSON>",
        "author_email": "<EMAIL>",
    }
    ticket = redactor.redact_payload({"title": "VPN down", "reporter": "bob", "labels": ["net"]})
    assert ticket.payload == {"title": "VPN down", "reporter": "<PERSON>", "labels": ["net"]}


def test_unlisted_fields_are_dropped_when_the_policy_says_drop() -> None:
    data = default_policy().model_dump()
    data["fields"]["unlisted"] = "drop"
    redactor = Redactor(RedactionPolicy.model_validate(data), KEY)
    assert redactor.redact_payload({"message": "ok", "cart": "x"}).payload == {"message": "ok"}


def test_a_batch_counts_into_the_prometheus_counter() -> None:
    def sample() -> float:
        value = REGISTRY.get_sample_value("opsassist_pii_redactions_total", {"type": "EMAIL"})
        return value or 0.0

    before = sample()
    Redactor(default_policy(), KEY).redact_batch(
        [{"message": "a@example.com"}, {"message": "b@example.com c@example.com"}]
    )
    assert sample() - before == 3


def test_a_policy_file_from_the_settings_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('default_action = "mask"\n[actions]\nEMAIL = "keep"\n')
    settings = Settings(privacy_policy=path, privacy_pseudonym_key="k")
    redactor = Redactor.from_settings(settings)
    assert redactor.policy.action_for(PiiType.EMAIL).value == "keep"
    assert redactor.redact_text("jane@example.com 10.1.2.3").text == "jane@example.com <IP_ADDRESS>"


@pytest.mark.parametrize(
    "content",
    ['[actions]\nEMAIL = "shred"\n', '[actions]\nPOSTCODE = "mask"\n', "not = [toml", "x = 1\n"],
)
def test_an_invalid_policy_file_raises_a_policy_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(content)
    with pytest.raises(PolicyError):
        load_policy(path)


def test_a_missing_policy_file_raises_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        load_policy(tmp_path / "absent.toml")
