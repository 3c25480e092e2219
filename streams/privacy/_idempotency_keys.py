"""Idempotency keys as stored: an HMAC of the key, never the key. Callers choose their keys, and
some choose an e-mail address or an order number; the stored form only has to be equal for equal
keys, which a keyed hash is, and nobody without the key can test a guess against it."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsassist.settings import Settings

# Keeps the derived key apart from the pseudonyms made with the same secret.
_DERIVATION_LABEL = b"opsassist idempotency keys v1"


class IdempotencyKeyDigest:
    """``digest(scope, key)``: 64 hex characters, equal for equal ``(scope, key)``."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def from_settings(cls, settings: Settings) -> IdempotencyKeyDigest:
        """``privacy_idempotency_key_secret``, else a key derived from the pseudonym key, else
        no key at all (an unkeyed SHA-256: still not the key, but guessable)."""
        own = settings.privacy_idempotency_key_secret.get_secret_value()
        if own:
            return cls(own.encode())
        pseudonym_key = settings.privacy_pseudonym_key.get_secret_value()
        if pseudonym_key:
            return cls(hmac.new(pseudonym_key.encode(), _DERIVATION_LABEL, hashlib.sha256).digest())
        return cls(b"")

    @property
    def keyed(self) -> bool:
        return bool(self._secret)

    def digest(self, scope: str, key: str) -> str:
        # The scope's length first, so that ("a:b", "c") and ("a", "b:c") differ.
        message = f"{len(scope)}:{scope}:{key}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
