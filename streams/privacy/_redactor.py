"""The redaction stage: free text through the detectors, structured fields through the policy's
allow-list, each detected value replaced as the policy says, and a record of what was redacted
(types and counts, never values).

One ``Redactor`` is built per process from the settings and shared: it holds compiled detectors
and the pseudonym key, and no state between calls but the detectors' cache of recent texts
(see ``opsassist.streams.privacy._detection``), so it is safe to call from any task.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from opsassist.streams.privacy._detection import DEFAULT_CACHE_ENTRIES, SpanFinder
from opsassist.streams.privacy._metrics import PII_REDACTIONS
from opsassist.streams.privacy._policy import Action, RedactionPolicy, default_policy, load_policy
from opsassist.streams.privacy._spans import PiiType, Span

if TYPE_CHECKING:
    from opsassist.settings import Settings

# The record's key for a structured field the allow-list does not name.
UNLISTED_FIELD = "UNLISTED_FIELD"
_REDACTED_FIELD = "<REDACTED>"
# Enough for every field name a deployment uses; a flood of distinct names is classified anew.
_MAX_CACHED_RULES = 10_000
FieldRule = Literal["trusted", "allow", "unlisted"] | PiiType


# Not frozen: one is made per event (or per finding), and a frozen dataclass's __init__ costs
# two to three times as much; treat it as read-only.
@dataclass(slots=True)
class RedactionRecord:
    """What one event lost: type -> number of values redacted. Never a value."""

    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, int]:
        """Sorted by type, for a JSON column or a log field."""
        return dict(sorted(self.counts.items()))


# Not frozen: one is made per event (or per finding), and a frozen dataclass's __init__ costs
# two to three times as much; treat it as read-only.
@dataclass(slots=True)
class RedactedText:
    """``text`` with every span replaced; ``spans`` are positions in the input text."""

    text: str
    spans: tuple[Span, ...]
    record: RedactionRecord


# Not frozen: one is made per event (or per finding), and a frozen dataclass's __init__ costs
# two to three times as much; treat it as read-only.
@dataclass(slots=True)
class RedactedPayload:
    """A redacted copy of a payload and what was redacted from it."""

    payload: dict[str, Any]
    record: RedactionRecord


class Redactor:
    """Applies one ``RedactionPolicy``. ``pseudonym_key`` keys the HMAC of the ``pseudonymize``
    action; without a key that action falls back to ``mask`` (nothing guessable is written)."""

    def __init__(
        self,
        policy: RedactionPolicy | None = None,
        pseudonym_key: bytes = b"",
        *,
        cache_entries: int = DEFAULT_CACHE_ENTRIES,
    ) -> None:
        self.policy = policy or default_policy()
        self._finder = SpanFinder(self.policy, cache_entries)
        self._key = pseudonym_key
        self._actions = {t: self._effective(self.policy.action_for(t)) for t in PiiType}
        self._masks = {t: f"<{t.value}>" for t in PiiType}
        # Field name -> rule; field names repeat across events, glob matching is not free.
        self._rules: dict[str, FieldRule] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """The policy file and key the settings name (the packaged policy when none is set)."""
        policy = load_policy(settings.privacy_policy) if settings.privacy_policy else None
        key = settings.privacy_pseudonym_key.get_secret_value().encode()
        return cls(policy, key, cache_entries=settings.privacy_span_cache_entries)

    def _effective(self, action: Action) -> Action:
        return Action.MASK if action is Action.PSEUDONYMIZE and not self._key else action

    @property
    def span_cache(self) -> tuple[int, int]:
        """Hits and misses of the detectors' cache of recent texts so far."""
        return self._finder.cache_hits, self._finder.cache_misses

    def find(self, text: str) -> Sequence[Span]:
        """The spans the policy redacts in ``text`` (kept types are not searched)."""
        return self._finder.find(text)

    def redact_text(self, text: str) -> RedactedText:
        """``text`` with each detected value replaced by its type's action."""
        spans = self._finder.find(text)
        if not spans:
            return RedactedText(text, (), RedactionRecord({}))
        counts: defaultdict[str, int] = defaultdict(int)
        return RedactedText(self._apply(text, spans, counts), tuple(spans), RedactionRecord(counts))

    def redact_payload(self, payload: Mapping[str, Any]) -> RedactedPayload:
        """A redacted copy of a decoded event payload (log, ticket, commit, or any mapping):
        every field by the allow-list, free-text fields through the detectors."""
        # A defaultdict, not a Counter: a Counter's constructor alone costs a microsecond, and
        # this runs once per event.
        counts: defaultdict[str, int] = defaultdict(int)
        redacted = self._redact_mapping(payload, "", counts)
        return RedactedPayload(redacted, RedactionRecord(counts))

    def redact_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[RedactedPayload]:
        """``redact_payload`` over a batch, counting the batch into
        ``opsassist_pii_redactions_total`` once per type."""
        results = [self.redact_payload(payload) for payload in payloads]
        count_redactions(result.record for result in results)
        return results

    # -- structured fields

    def _redact_mapping(
        self, mapping: Mapping[str, Any], prefix: str, counts: defaultdict[str, int]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in mapping.items():
            path = f"{prefix}{key}" if prefix else key
            rule = self._rules.get(path)
            if rule is None:
                rule = self._classify(path, key, bool(prefix))
            if rule == "trusted":
                out[key] = value
            elif rule == "allow" and type(value) is str:
                # The commonest case, inline: free text such as a log message.
                spans = self._finder.find(value)
                out[key] = self._apply(value, spans, counts) if spans else value
            # Decoded JSON: nested objects are dicts (a dict test is much cheaper than Mapping's).
            elif isinstance(value, dict):
                out[key] = self._redact_mapping(value, f"{path}.", counts)
            elif rule == "allow":
                out[key] = self._scan_value(value, counts)
            elif isinstance(rule, PiiType):
                kept, new_value = self._whole_value(rule, value, counts)
                if kept:
                    out[key] = new_value
            else:
                counts[UNLISTED_FIELD] += 1
                if self.policy.fields.unlisted == "redact":
                    out[key] = _REDACTED_FIELD
        return out

    def _classify(self, path: str, key: str, nested: bool) -> FieldRule:
        rules = self.policy.fields
        rule = rules.classify(path)
        if rule == "unlisted" and nested:
            rule = rules.classify(key)
        if len(self._rules) < _MAX_CACHED_RULES:
            self._rules[path] = rule
        return rule

    def _scan_value(self, value: Any, counts: defaultdict[str, int]) -> Any:
        if isinstance(value, str):
            spans = self._finder.find(value)
            return self._apply(value, spans, counts) if spans else value
        if isinstance(value, list):
            return [self._scan_value(item, counts) for item in value]
        return value

    def _whole_value(
        self, pii_type: PiiType, value: Any, counts: defaultdict[str, int]
    ) -> tuple[bool, Any]:
        """A field that holds one value of a known type: the type's action on all of it."""
        if value is None or value == "":
            return True, value
        if isinstance(value, list):
            items = [self._whole_value(pii_type, item, counts) for item in value]
            return True, [item for kept, item in items if kept]
        action = self._actions[pii_type]
        if action is Action.KEEP:
            return True, value
        counts[pii_type.value] += 1
        if action is Action.DROP:
            return False, None
        return True, self._replacement(pii_type, str(value))

    # -- free text

    def _apply(self, text: str, spans: Sequence[Span], counts: defaultdict[str, int]) -> str:
        parts: list[str] = []
        position = 0
        for span in spans:
            parts.append(text[position : span.start])
            parts.append(self._replacement(span.type, text[span.start : span.end]))
            counts[span.type.value] += 1
            position = span.end
        parts.append(text[position:])
        return "".join(parts)

    def _replacement(self, pii_type: PiiType, value: str) -> str:
        action = self._actions[pii_type]
        if action is Action.DROP:
            return ""
        if action is Action.PSEUDONYMIZE:
            return f"<{pii_type.value}:{self.pseudonym(pii_type, value)}>"
        if action is Action.KEEP:
            return value
        return self._masks[pii_type]

    def pseudonym(self, pii_type: PiiType, value: str) -> str:
        """The keyed token of ``value``: equal values (case-insensitively for e-mail addresses
        and user names) get equal tokens under one key, and nobody without it can invert one."""
        normal = value.lower() if pii_type in (PiiType.EMAIL, PiiType.USERNAME) else value
        digest = hmac.new(self._key, f"{pii_type.value}\0{normal}".encode(), hashlib.sha256)
        return digest.hexdigest()[: self.policy.pseudonym_length]


def count_redactions(records: Iterable[RedactionRecord]) -> None:
    """Add records to ``opsassist_pii_redactions_total{type}``, one increment per type."""
    totals: Counter[str] = Counter()
    for record in records:
        if record.counts:  # most events lose nothing
            totals.update(record.counts)
    for pii_type, count in totals.items():
        PII_REDACTIONS.labels(type=pii_type).inc(count)
