"""Idempotency keys are stored as a keyed hash: equal for equal keys, never the key."""

from __future__ import annotations

from pydantic import SecretStr

from opsassist.settings import Settings
from opsassist.streams.privacy import IdempotencyKeyDigest


def test_equal_keys_give_equal_digests_that_do_not_hold_the_key() -> None:
    keys = IdempotencyKeyDigest(b"secret")
    digest = keys.digest("k1:tickets:jira", "jane@example.org")
    assert digest == keys.digest("k1:tickets:jira", "jane@example.org")
    assert len(digest) == 64 and "jane" not in digest
    assert digest != keys.digest("k2:tickets:jira", "jane@example.org")  # per scope
    assert digest != keys.digest("k1:tickets:jira", "Jane@example.org")
    # the scope and the key cannot trade characters
    assert keys.digest("a:b", "c") != keys.digest("a", "b:c")


def test_the_secret_comes_from_its_setting_else_from_the_pseudonym_key() -> None:
    own = Settings(privacy_idempotency_key_secret=SecretStr("own"))
    derived = Settings(privacy_pseudonym_key=SecretStr("pseudonyms"))
    none = Settings()
    digests = {
        name: IdempotencyKeyDigest.from_settings(settings).digest("s", "key")
        for name, settings in (("own", own), ("derived", derived), ("none", none))
    }
    assert digests["own"] == IdempotencyKeyDigest(b"own").digest("s", "key")
    # derived, not the pseudonym key itself: a pseudonym and a key digest never coincide
    assert digests["derived"] != IdempotencyKeyDigest(b"pseudonyms").digest("s", "key")
    assert len(set(digests.values())) == 3
    assert IdempotencyKeyDigest.from_settings(derived).keyed
    assert not IdempotencyKeyDigest.from_settings(none).keyed
