"""IBANs: two letters, two check digits and up to thirty letters or digits, often in groups of
four. The country's registered length says where the number ends, and MOD 97-10 whether it is
one, so the regex only has to find where one could start."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsassist.streams.privacy._checksums import IBAN_LENGTHS, iban_valid
from opsassist.streams.privacy._spans import PiiType, Span

# The check digits after two letters, then at least eleven more characters (the shortest IBAN
# has 15). Matching from the first digit lets the regex engine skip ahead to digits, which are
# far rarer than letters; the match starts two characters early. The rest (a boundary before,
# one case for both letters, a known country) is checked in Python.
_START = re.compile(r"\d(?<=[A-Za-z]{2}\d)\d(?=(?:[ ]?[A-Za-z0-9]){11})")


class IbanDetector:
    """IBAN_CODE spans: compact (DE89370400440532013000) or grouped (DE89 3704 0044 ...)."""

    def find(self, text: str) -> Iterator[Span]:
        for match in _START.finditer(text):
            start = match.start() - 2
            if start > 0 and text[start - 1].isascii() and text[start - 1].isalnum():
                continue
            # Upper case as written on paper, lower case as people type it into tickets.
            country = text[start : start + 2]
            if not (country.isupper() or country.islower()):
                continue
            expected = IBAN_LENGTHS.get(country.upper())
            if expected is None:
                continue
            end = _end_of(text, start, expected)
            if end is None:
                continue
            compact = text[start:end].replace(" ", "").upper()
            if iban_valid(compact):
                yield Span(PiiType.IBAN, start, end)


def _end_of(text: str, start: int, length: int) -> int | None:
    """Where an IBAN of ``length`` characters (single spaces between them allowed) starting at
    ``start`` ends, or None if the text does not hold that many or the next one glues on."""
    taken = 0
    index = start
    limit = len(text)
    while index < limit and taken < length:
        char = text[index]
        if char.isascii() and char.isalnum():
            taken += 1
        elif char != " " or index + 1 >= limit or text[index + 1] == " ":
            break
        index += 1
    if taken < length:
        return None
    if index < limit and text[index].isascii() and text[index].isalnum():
        return None
    return index
