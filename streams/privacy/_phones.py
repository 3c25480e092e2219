"""Phone numbers: a digit group is a phone number when its shape is one people write phone
numbers in, libphonenumber says some configured region could dial that many digits, and,
for shapes that are also common for ids (a bare run of digits, or more than twelve digits
without an international prefix), a phone-ish word stands nearby.

libphonenumber is only asked about candidates that pass the cheap shape rules, because one
``parse`` costs about 20 µs, the budget of a whole log line.
"""

from __future__ import annotations

import re

import phonenumbers

_CONTEXT_WORDS = (
    "phone", "tel", "telephone", "mobile", "mob", "cell", "cellphone", "fax", "call", "calls",
    "called", "sms", "text", "whatsapp", "signal", "dial", "desk", "office", "home", "landline",
    "contact", "reach", "ph", "hotline",
)  # fmt: skip
# A plain alternation, longest first, searched in the lower-cased window (the engine skips
# ahead on it, which it cannot on a pattern that starts with \b); word edges are checked after.
_CONTEXT = re.compile("|".join(sorted(_CONTEXT_WORDS, key=len, reverse=True)))
_GROUP = re.compile(r"\d+")
# "Suite 541 6343 ...", "Apt. 117": numbers of a unit, a box or a room, in an address.
_AFTER_UNIT_WORD = re.compile(
    r"\b(?:suite|ste|apt|apartment|unit|flat|box|room|rm|no)\.?[ \t]*#?[ \t]*$", re.IGNORECASE
)
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*\d{1,6}$", re.IGNORECASE)
_CONTEXT_WINDOW = 40
_MAX_DIGITS_WITHOUT_PREFIX = 12


class PhoneRules:
    """Decides whether one candidate (a run of digits and separators) is a phone number."""

    def __init__(self, regions: tuple[str, ...]) -> None:
        self._regions = regions
        # The last text seen and whether it has a phone word anywhere: a text without one (most
        # log lines) rules out every bare run of digits in it at the cost of one scan. One
        # tuple, assigned at once, so that threads sharing the rules never pair a text with
        # another text's answer.
        self._last_text: tuple[str, bool] = ("", False)

    def is_bare_phone(self, text: str, start: int, end: int) -> bool:
        """``is_phone`` for a run of digits alone, the most frequent candidate: the context
        word, the cheapest and most selective test, first."""
        last = self._last_text
        if last[0] is not text:
            last = (text, _has_context_word(text.lower()))
            self._last_text = last
        return (
            last[1]
            and self._has_context(text, start, end)
            and not _after_unit_word(text, start)
            and self._possible(text[start:end], False)
        )

    def is_phone(self, text: str, start: int, end: int) -> bool:
        # The cheap rules on the candidate alone first; the unit word before it (a regex over
        # the text) only for the candidates that pass them, right before libphonenumber.
        candidate = text[start:end]
        body = _EXTENSION.sub("", candidate) if "x" in candidate or "X" in candidate else candidate
        international = body.startswith("+") or body.startswith("00")
        groups = _GROUP.findall(body)
        digits = "".join(groups)
        if not 7 <= len(digits) <= 15:
            return False
        separators = {char for char in " .-" if char in body}
        has_parens = "(" in body
        if not separators and not has_parens and not international:
            return (
                not _after_unit_word(text, start)
                and self._has_context(text, start, end)
                and self._possible(digits, False)
            )
        if not international and not self._shape_plausible(body, groups, separators, has_parens):
            return False
        if (
            len(digits) > _MAX_DIGITS_WITHOUT_PREFIX
            and not international
            and not self._has_context(text, start, end)
        ):
            return False
        return not _after_unit_word(text, start) and self._possible(body, international)

    @staticmethod
    def _shape_plausible(  # noqa: PLR0911 (one return per rule reads best)
        body: str, groups: list[str], separators: set[str], has_parens: bool
    ) -> bool:
        # Dotted groups are also versions and IPs: phone numbers written with dots use
        # only dots, in groups of two to four digits.
        if "." in separators:
            if len(separators) > 1 or len(groups) < 3:
                return False
            return all(2 <= len(group) <= 4 for group in groups)
        # Written phone numbers lead with a country, trunk or area code of at most five digits
        # (UK "01632 960983"); a longer first group is a column of numbers.
        if separators == {" "} and not has_parens and len(groups[0]) > 5:
            return False
        # An area code and a subscriber number: the subscriber part is the longer one
        # ("555-1234", "01632 960983"); a shorter tail is a postcode ("3610-114", "75534-030")
        # or a house number after a building number.
        if len(groups) == 2 and not has_parens and len(groups[1]) < len(groups[0]):
            return False
        first_is_area = has_parens and body.lstrip().startswith("(")
        for index, group in enumerate(groups):
            if len(group) == 1 and not (first_is_area and index <= 1):
                return False
            if len(group) > 8:
                return False
        return True

    @staticmethod
    def _has_context(text: str, start: int, end: int) -> bool:
        window = (
            text[max(0, start - _CONTEXT_WINDOW) : start] + " " + text[end : end + 20]
        ).lower()
        for match in _CONTEXT.finditer(window):
            before, after = match.start() - 1, match.end()
            if (before < 0 or not window[before].isalnum()) and (
                after >= len(window) or not window[after].isalnum()
            ):
                return True
        return False

    def _possible(self, number: str, international: bool) -> bool:
        if international:
            number = "+" + number[2:] if number.startswith("00") else number
            return self._parses_possible(number, None)
        return any(self._parses_possible(number, region) for region in self._regions)

    @staticmethod
    def _parses_possible(number: str, region: str | None) -> bool:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            return False
        return bool(phonenumbers.is_possible_number(parsed))


def _after_unit_word(text: str, start: int) -> bool:
    """Whether the candidate at ``start`` follows a unit, box or room word ("Suite 541 6343")."""
    return _AFTER_UNIT_WORD.search(text, max(0, start - 16), start) is not None


def _has_context_word(lowered: str) -> bool:
    """Whether a phone word stands in ``lowered`` as a whole word."""
    for match in _CONTEXT.finditer(lowered):
        before, after = match.start() - 1, match.end()
        if (before < 0 or not lowered[before].isalnum()) and (
            after >= len(lowered) or not lowered[after].isalnum()
        ):
            return True
    return False
