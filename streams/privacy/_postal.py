"""Postal addresses written the English way: a house number (and maybe a building number), a
street name of capitalised words, and a street type ("42 Baker Street", "370 3911 Fourth Avenue
Suite 697"), or a post-office box ("P.O. Box 287", "PSC 2581, Box 0041"). Addresses in other
languages' orders need an NER model; this catches the form tickets and invoices use most."""

from __future__ import annotations

import re
from collections.abc import Iterator

from opsassist.streams.privacy._spans import PiiType, Span
from opsassist.streams.privacy._tries import word_trie

_STREET_TYPE_WORDS = (
    "street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr", "boulevard",
    "blvd", "court", "ct", "place", "pl", "square", "sq", "close", "way", "terrace", "ter",
    "parkway", "pkwy", "highway", "hwy", "circle", "cir", "crescent", "cres", "grove",
    "gardens", "row", "walk", "alley", "trail", "plaza", "route", "rue",
)  # fmt: skip
_PREFIX_TYPE_WORDS = ("rue", "avenue", "av", "calle", "via", "rua", "viale", "corso")
_STREET_TYPES = "|".join(_STREET_TYPE_WORDS)
# Every address names a street type; most lines name none, and one trie scan of the lower-cased
# line for one (as a whole word) is far cheaper than the address pattern.
_ANY_TYPE_WORD = re.compile(word_trie(sorted(set(_STREET_TYPE_WORDS + _PREFIX_TYPE_WORDS))))
_WORD = r"[A-Z][\w'\u2019\-]*\.?"
_ADDRESS = re.compile(
    # A plain digit first lets the regex engine skip ahead fast; the lookbehind after it then
    # says what may not come before the number.
    r"\d(?<![\w.\-]\d)\d{0,5}[A-Za-z]?(?:[ ]\d{1,6})?[ ]"
    # One to four capitalised words of the street's name (lower-case ones would match prose:
    # "5 seconds for the route"), then the street type ("42 Baker Street"); or the type first,
    # as French, Spanish, Italian and Portuguese write it ("12 Rue de la Paix"). Unit numbers
    # may follow.
    rf"(?:(?:{_WORD}[ ]){{1,4}}(?i:{_STREET_TYPES})\b\.?"
    rf"|(?:Rue|Avenue|Av\.|Calle|Via|Rua|Viale|Corso)[ ](?:(?:de|du|des|del|della|da|do|la|le|"
    rf"l')[ ]?)*{_WORD}(?:[ ]{_WORD}){{0,2}})"
    r"(?:,?[ ](?i:suite|ste|apt|apartment|unit|flat|floor|fl)\.?[ ]?#?\w{1,6})*",
)
_PO_BOX = re.compile(
    r"\b(?:P\.?[ ]?O\.?[ ]?Box|PO[ ]Box|(?:PSC|Unit)[ ]\d{1,5},?[ ]Box)[ ]\d{1,6}\b", re.IGNORECASE
)
_MARKERS = ("box", "Box", "BOX")
_NUMBER_SPACE_CAPITAL = re.compile(r"\d[A-Za-z]?[ ][A-Z\d]")


class AddressDetector:
    """ADDRESS spans: street addresses and post-office boxes."""

    def find(self, text: str) -> Iterator[Span]:
        # Every street address has a number, a space and a capital; most lines have none, and
        # this plain pattern is several times cheaper to scan for than the address itself.
        if _NUMBER_SPACE_CAPITAL.search(text) is not None and _names_a_street_type(text):
            for match in _ADDRESS.finditer(text):
                yield Span(PiiType.ADDRESS, match.start(), match.end())
        if any(marker in text for marker in _MARKERS):
            for match in _PO_BOX.finditer(text):
                yield Span(PiiType.ADDRESS, match.start(), match.end())


def _names_a_street_type(text: str) -> bool:
    lowered = text.lower()
    for match in _ANY_TYPE_WORD.finditer(lowered):
        before, after = match.start() - 1, match.end()
        if (before < 0 or not lowered[before].isalnum()) and (
            after >= len(lowered) or not lowered[after].isalnum()
        ):
            return True
    return False
