"""What a detector reports: a typed character span. Values are never stored, only positions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PiiType(StrEnum):
    """Kinds of personal or secret data the redactor knows; the value is the mask's label."""

    SECRET = "SECRET"  # noqa: S105 (a type name, not a password)
    EMAIL = "EMAIL"
    IBAN = "IBAN"
    CREDIT_CARD = "CREDIT_CARD"
    US_SSN = "US_SSN"
    IP_ADDRESS = "IP_ADDRESS"
    ADDRESS = "ADDRESS"
    PHONE = "PHONE"
    PERSON = "PERSON"
    USERNAME = "USERNAME"


# When two detections overlap, the one listed first wins: a checksum-validated or
# syntax-anchored type is more certain than a phone shape or a name guessed from context.
PRIORITY: dict[PiiType, int] = {pii_type: rank for rank, pii_type in enumerate(PiiType)}


# Not frozen: one is made per event (or per finding), and a frozen dataclass's __init__ costs
# two to three times as much; treat it as read-only.
@dataclass(slots=True)
class Span:
    """``text[start:end]`` holds a value of ``type``."""

    type: PiiType
    start: int
    end: int

    def as_dict(self) -> dict[str, str | int]:
        return {"type": self.type.value, "start": self.start, "end": self.end}


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """A non-overlapping subset, preferring higher-priority then longer spans; by start."""
    if len(spans) < 2:
        return spans
    ranked = sorted(spans, key=lambda s: (PRIORITY[s.type], s.start - s.end, s.start))
    kept: list[Span] = []
    for span in ranked:
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    kept.sort(key=lambda s: s.start)
    return kept
