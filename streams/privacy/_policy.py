"""The redaction policy: what to do with each kind of personal data, and which structured fields
may pass. One policy serves the pipeline, the LLM calls and the API, so it lives in a file that
all three load; a default ships with the package.
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from fnmatch import translate
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsassist.streams.privacy._errors import PolicyError
from opsassist.streams.privacy._spans import PiiType


class Action(StrEnum):
    """What happens to a detected value.

    ``mask`` writes ``<TYPE>``; ``pseudonymize`` writes ``<TYPE:hmac8>``, the same for the same
    value under the same key, so events still correlate; ``drop`` removes the value; ``keep``
    leaves it and turns the detector off.
    """

    MASK = "mask"
    PSEUDONYMIZE = "pseudonymize"
    DROP = "drop"
    KEEP = "keep"


class FieldRules(BaseModel):
    """The allow-list for structured fields (event attributes, parsed log fields).

    Names are matched case-insensitively and may be shell globs (``http.*``). ``trusted`` fields
    pass untouched (levels, timestamps: nothing personal, and scanning them costs time);
    ``allow`` fields pass with their text scanned by the detectors; ``personal`` fields hold one
    value of a known type and get that type's action whole; any other field is ``unlisted``:
    dropped, or its value replaced by ``<REDACTED>``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    personal: dict[str, PiiType] = Field(default_factory=dict)
    unlisted: Literal["drop", "redact"] = "redact"

    @cached_property
    def _trusted(self) -> re.Pattern[str]:
        return _glob_union(self.trusted)

    @cached_property
    def _allowed(self) -> re.Pattern[str]:
        return _glob_union(self.allow)

    @cached_property
    def _personal(self) -> dict[str, PiiType]:
        return {name.lower(): pii_type for name, pii_type in self.personal.items()}

    def classify(self, name: str) -> Literal["trusted", "allow", "unlisted"] | PiiType:
        """The rule for one field name; personal beats trusted beats allowed."""
        lowered = name.lower()
        personal = self._personal.get(lowered)
        if personal is not None:
            return personal
        if self._trusted.fullmatch(lowered):
            return "trusted"
        if self._allowed.fullmatch(lowered):
            return "allow"
        return "unlisted"


def _glob_union(patterns: tuple[str, ...]) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{translate(p.lower())})" for p in patterns))


class DetectorOptions(BaseModel):
    """The few knobs detectors need."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Regions whose numbering plans decide whether a national-format digit group can be a phone.
    phone_regions: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "BR", "AU", "CA")
    # Accounts that identify no person; "user root" is not redacted.
    system_accounts: tuple[str, ...] = ()


class RedactionPolicy(BaseModel):
    """Per-type actions plus the field allow-list and the few knobs detectors need."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_action: Action = Action.MASK
    actions: dict[PiiType, Action] = Field(default_factory=dict)
    pseudonym_length: int = Field(default=12, ge=4, le=64)
    detectors: DetectorOptions = Field(default_factory=DetectorOptions)
    fields: FieldRules = Field(default_factory=FieldRules)

    @property
    def phone_regions(self) -> tuple[str, ...]:
        return self.detectors.phone_regions

    @property
    def system_accounts(self) -> tuple[str, ...]:
        return self.detectors.system_accounts

    def action_for(self, pii_type: PiiType) -> Action:
        return self.actions.get(pii_type, self.default_action)

    @property
    def active_types(self) -> frozenset[PiiType]:
        """Types whose detectors run: all but those the policy keeps."""
        return frozenset(t for t in PiiType if self.action_for(t) is not Action.KEEP)


def parse_policy(data: dict[str, Any], origin: str = "<policy>") -> RedactionPolicy:
    """Validate a policy from its mapping form (as read from TOML)."""
    try:
        return RedactionPolicy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{origin}: invalid redaction policy: {exc}") from None


def load_policy(path: Path) -> RedactionPolicy:
    """Read a policy from a TOML file, in the shape of the packaged ``default_policy.toml``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: {exc}") from None
    return parse_policy(data, str(path))


@lru_cache(maxsize=1)
def default_policy() -> RedactionPolicy:
    """The policy shipped with the package (``default_policy.toml``)."""
    text = (
        resources.files("opsassist.streams.privacy")
        .joinpath("default_policy.toml")
        .read_text("utf-8")
    )
    return parse_policy(tomllib.loads(text), "default_policy.toml")
