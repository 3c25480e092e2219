"""One scan over the digit groups of a text finds IPv4 addresses, payment cards, US SSNs and
phone numbers: they are all digits with separators, and telling them apart by shape and check
digits is much cheaper than running four regexes.
"""

from __future__ import annotations

import re

from opsassist.streams.privacy._checksums import card_issuer_plausible, luhn_valid, us_ssn_plausible
from opsassist.streams.privacy._phones import PhoneRules
from opsassist.streams.privacy._spans import PiiType, Span

# A digit run: optional "+cc", optional "(area)", digits joined by single separators, optional
# extension. Not preceded by a word character, dot or dash (so ids like blk_-123 and the tail
# of versions are never a start) and not followed by one.
_RUN = re.compile(
    r"(?<![\w.\-+])"
    r"(?:\+\d{1,3}[ .\-]?|00\d{1,3}[ .\-])?"
    r"(?:\(\d{1,5}\)[ .\-]?)?"
    r"\d(?:[ .\-]?\d)*"
    r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?"
    r"(?![\w@])"
)
# Stretches of at least seven characters a run can be made of. The regex engine skips to a
# pattern's first character only when that is a plain character class, which _RUN's cannot
# be; this one's is, so it finds the few places worth running _RUN at in a fraction of the time.
_STRETCH = re.compile(r"[\d+(][\d .\-()+xet]{6,}")
_RUN_START = re.compile(r"[ ()][\d+(]")
_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
# The pieces of a run long enough to be a value on their own (nothing shorter is classified).
_PIECE = re.compile(r"[^ ]{7,}")
# A dotted quad between anything but digits and dots; the plain digit first lets the regex
# engine skip ahead, the lookbehind after it checks the character before.
_IPV4_ANYWHERE = re.compile(
    r"(\d(?<![\d.]\d)\d{0,2})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)"
)
_SSN = re.compile(r"(\d{3})-(\d{2})-(\d{4})")
_SSN_SPACED = re.compile(r"(\d{3})[ .](\d{2})[ .](\d{4})")
_SSN_CONTEXT = re.compile(r"\b(?:ssn|social security|ss#|ssa)\b", re.IGNORECASE)
_CARD_BODY = re.compile(r"\d+(?:([ \-])\d+)*")
_CARD_CONTEXT = re.compile(r"\b(?:card|cc|credit|debit|visa|mastercard|amex|pan)\b", re.IGNORECASE)
_DATE_START = re.compile(r"(?:19|20)\d\d[./\-](?:0?[1-9]|1[0-2])(?:[./\-]|$)")
_VERSION_BEFORE = re.compile(r"(?:\bv|version|ver\.?|build|release)\s*$", re.IGNORECASE)


class NumberDetector:
    """IPv4, CREDIT_CARD, US_SSN and PHONE from digit runs."""

    def __init__(self, phone_regions: tuple[str, ...], types: frozenset[PiiType]) -> None:
        self._phones = PhoneRules(phone_regions)
        self._want_ip = PiiType.IP_ADDRESS in types
        self._want_card = PiiType.CREDIT_CARD in types
        self._want_ssn = PiiType.US_SSN in types
        self._want_phone = PiiType.PHONE in types

    def find(self, text: str) -> list[Span]:
        # Lists, not generators: this runs on every text, and most find nothing, so the frames
        # of nested generators were a good part of its cost.
        spans: list[Span] = []
        if self._want_ip and text.count(".") >= 3:  # a dotted quad has three dots
            # Addresses have their own scan: they also hide inside ids and paths
            # ("BP-1347-10.190.173.170-1444", "host/10.1.2.3:80"), where a digit run may not
            # start.
            for address in _IPV4_ANYWHERE.finditer(text):
                start = address.start()
                if _ipv4_personal(address, text, start):
                    spans.append(Span(PiiType.IP_ADDRESS, start, address.end()))
        length = len(text)
        for stretch in _STRETCH.finditer(text):
            first, last = stretch.span()
            # One character past the stretch, so that _RUN's lookahead sees what follows.
            stop = last + 1 if last < length else length
            # A run may start where the stretch does, or after a space or a parenthesis inside
            # it (_RUN may not follow a word character, dot, dash or plus); trying only these,
            # not every digit of a long id, is what makes the scan cheap.
            run = _RUN.match(text, first, stop)
            done = first
            if run is not None:
                done = run.end()
                self._run(text, run, spans)
            for boundary in _RUN_START.finditer(text, first, last):
                candidate = boundary.start() + 1
                if candidate < done:
                    continue
                run = _RUN.match(text, candidate, stop)
                if run is not None:
                    done = run.end()
                    self._run(text, run, spans)
        return spans

    def _run(self, text: str, match: re.Match[str], spans: list[Span]) -> None:
        start, end = match.span()
        if end - start < 7:
            return
        run = match.group()
        if _IPV4.fullmatch(run):
            return  # found by the address scan
        # A run that continues into ":12" or "12:" is a time.
        if text[end : end + 1] == ":" and text[end + 1 : end + 2].isdigit():
            return
        if start > 0 and text[start - 1] == ":" and text[start - 2 : start - 1].isdigit():
            return
        pii_type = self._classify(text, start, end, run)
        if pii_type is not None:
            spans.append(Span(pii_type, start, end))
        elif " " in run:
            self._pieces_inside(text, start, run, spans)

    def _pieces_inside(self, text: str, start: int, run: str, spans: list[Span]) -> None:
        """Values that share a run with other numbers: "id 7 555-123-4567"."""
        for piece in _PIECE.finditer(run):
            value = piece.group()
            if _IPV4.fullmatch(value):
                continue
            piece_start = start + piece.start()
            pii_type = self._classify(text, piece_start, piece_start + len(value), value)
            if pii_type is not None:
                spans.append(Span(pii_type, piece_start, piece_start + len(value)))

    def _classify(  # noqa: PLR0911 (one return per type reads best)
        self, text: str, start: int, end: int, run: str
    ) -> PiiType | None:
        if run.isdigit():
            # The commonest run in logs (ids, counters, epoch times): only a card (by its
            # length first) or a phone number that a phone word announces.
            length = len(run)
            if (
                self._want_card
                and 12 <= length <= 19
                and _is_card(run, text[max(0, start - 40) : start])
            ):
                return PiiType.CREDIT_CARD
            if self._want_phone and length <= 15 and self._phones.is_bare_phone(text, start, end):
                return PiiType.PHONE
            return None
        if _DATE_START.match(run):
            return None
        # An SSN is written in 11 characters ("078-05-1120") and a card has 12 digits or more:
        # the length rules both out for most runs (an id and a status code, "12345 200") before
        # any regex runs.
        length = len(run)
        if self._want_ssn and length == 11 and self._is_ssn(text, start, run):
            return PiiType.US_SSN
        if self._want_card and length >= 12 and _is_card(run, text[max(0, start - 40) : start]):
            return PiiType.CREDIT_CARD
        if self._want_phone and self._phones.is_phone(text, start, end):
            return PiiType.PHONE
        return None

    @staticmethod
    def _is_ssn(text: str, start: int, run: str) -> bool:
        match = _SSN.fullmatch(run)
        if match is None:
            match = _SSN_SPACED.fullmatch(run)
            if match is None or not _SSN_CONTEXT.search(text[max(0, start - 40) : start]):
                return False
        return us_ssn_plausible(*match.groups())


def _is_card(run: str, before: str) -> bool:
    """Luhn-valid, and either a known scheme's prefix and length, or 13-19 digits that a card
    word just before announces (issuers outside the table, private-label cards)."""
    body = _CARD_BODY.fullmatch(run)
    if body is None:
        return False
    separators = {char for char in run if not char.isdigit()}
    if len(separators) > 1:
        return False
    digits = run.replace(" ", "").replace("-", "")
    if not 12 <= len(digits) <= 19:
        return False
    # The prefix table and the context word are cheaper than Luhn and reject most ids first.
    if not card_issuer_plausible(digits) and (
        len(digits) < 13 or _CARD_CONTEXT.search(before) is None
    ):
        return False
    return luhn_valid(digits)


def _ipv4_personal(match: re.Match[str], text: str, start: int) -> bool:
    """A dotted quad that is a host address: octets in range, not 0.x (this network, and
    what versions like 0.0.0.6 look like), not loopback, and not written as a version."""
    first, second, third, fourth = match.groups()
    # Digit strings of one length compare like their numbers: no int() needed.
    if any(len(octet) == 3 and octet > "255" for octet in (first, second, third, fourth)):
        return False
    if first.lstrip("0") in ("", "127"):
        return False
    # A version is written "v1.2.3.4", "ver. 1.2.3.4" or "version 1.2.3.4": only a letter v,
    # a dot or a space can stand right before one, and the regex runs only then.
    if start == 0 or text[start - 1] not in "vV. \t":
        return True
    return _VERSION_BEFORE.search(text[max(0, start - 12) : start]) is None
