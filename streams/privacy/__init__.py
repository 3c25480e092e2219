"""Redaction of personal data and secrets: one policy for the pipeline, the LLM calls and the API.

Build one ``Redactor`` per process (``Redactor.from_settings(settings)``) and call
``redact_batch`` on decoded payloads, ``redact_text`` on free text, or ``find`` for the spans.
"""

from opsassist.streams.privacy._errors import PolicyError, PrivacyError
from opsassist.streams.privacy._idempotency_keys import IdempotencyKeyDigest
from opsassist.streams.privacy._policy import Action, RedactionPolicy, default_policy, load_policy
from opsassist.streams.privacy._redactor import (
    UNLISTED_FIELD,
    RedactedPayload,
    RedactedText,
    RedactionRecord,
    Redactor,
    count_redactions,
)
from opsassist.streams.privacy._spans import PiiType, Span

__all__ = [
    "UNLISTED_FIELD",
    "Action",
    "IdempotencyKeyDigest",
    "PiiType",
    "PolicyError",
    "PrivacyError",
    "RedactedPayload",
    "RedactedText",
    "RedactionPolicy",
    "RedactionRecord",
    "Redactor",
    "Span",
    "count_redactions",
    "default_policy",
    "load_policy",
]
