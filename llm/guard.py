"""The last check before text leaves the process: if it still contains personal data, nothing is
sent. Any ``(text) -> list of kinds found`` plugs in (the redaction engine of ``streams/privacy``
when it exists); the built-in check is deliberately conservative: it refuses on anything that
looks like an e-mail address, a phone number, an IP address or a payment card number.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Protocol


class PersonalDataCheck(Protocol):
    def __call__(self, text: str) -> Sequence[str]:
        """The kinds of personal data found in ``text`` (empty when none)."""
        ...


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# International (+CC ...) or the common grouped forms (0xx xxx xxxx, (xxx) xxx-xxxx); bare digit
# runs are left out on purpose: logs are full of timestamps, ids and counters.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}"
    r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}"
    r"|\b0\d{2,4}[\s/-]\d{3,4}[\s-]?\d{3,4}"
    r"|\b\d{3}[.-]\d{3}[.-]\d{4})\b"
)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _has_ip(text: str) -> bool:
    for match in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(match.group())
            return True
        except ValueError:
            continue
    for match in _IPV6.finditer(text):
        try:
            ipaddress.IPv6Address(match.group())
            return True
        except ValueError:
            continue
    return False


def _has_card(text: str) -> bool:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn_valid(digits):
            return True
    return False


def find_personal_data(text: str) -> list[str]:
    """The built-in check: the kinds found, in a fixed order."""
    found: list[str] = []
    if _EMAIL.search(text):
        found.append("email")
    if _PHONE.search(text):
        found.append("phone")
    if _has_ip(text):
        found.append("ip_address")
    if _has_card(text):
        found.append("card_number")
    return found
