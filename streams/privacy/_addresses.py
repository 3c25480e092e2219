"""E-mail addresses and IPv6 addresses: both anchored on a character ('@', ':') that a cheap
substring test rules out for most log lines before any regex runs."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from opsassist.streams.privacy._spans import PiiType, Span

# An RFC 5322 dot-atom local part without the characters that in logs glue it to what comes
# before ("key=", "path/", a quote), and a DNS name with an alphabetic TLD.
_LOCAL_CHAR = r"[A-Za-z0-9!#$%&'*+?^_~\-]"
_EMAIL = re.compile(
    rf"(?<![\w.%+\-])[A-Za-z0-9_]{_LOCAL_CHAR}*(?:\.{_LOCAL_CHAR}+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w\-])"
)
# Hex groups with colons, optionally ending in an embedded IPv4; validated by ipaddress.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?:%[\w.]+)?(?![\w:])"
)


class EmailDetector:
    """RFC 5322-ish addresses with a real-looking domain."""

    def find(self, text: str) -> Iterator[Span]:
        if "@" not in text:
            return
        for match in _EMAIL.finditer(text):
            yield Span(PiiType.EMAIL, match.start(), match.end())


class Ipv6Detector:
    """IPv6 host addresses (not the unspecified, loopback or link-local ones)."""

    def find(self, text: str) -> Iterator[Span]:
        if "::" not in text and text.count(":") < 7:
            return
        for match in _IPV6.finditer(text):
            candidate = match.group()
            if "::" not in candidate and candidate.count(":") < 7:
                continue
            try:
                address = ipaddress.IPv6Address(candidate.split("%", 1)[0])
            except ValueError:
                continue
            if address.is_unspecified or address.is_loopback or address.is_link_local:
                continue
            yield Span(PiiType.IP_ADDRESS, match.start(), match.end())
