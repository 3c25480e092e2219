"""Secrets: tokens whose format announces them (JWTs, AWS key ids, GitHub and Slack tokens,
private keys, bearer tokens), credentials in URLs, values of password-like keys, and
high-entropy values of other secret-like keys.

Each search starts from something cheap to scan for (a token's literal marker, a secret-like
word), and the full patterns run only from there, which keeps the cost low on the usual line.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

from opsassist.streams.privacy._spans import PiiType, Span

# Literal markers of the formats below: an alternation of plain strings is scanned fast, the
# full pattern (lookbehinds first) is not, so it only runs on text that has one.
_TOKEN_MARKER = re.compile(r"eyJ|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox|-----BEGIN|earer ")
_TOKENS = re.compile(
    r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"  # JWT (JWS compact)
    r"|(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"  # AWS key id
    r"|(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9])"  # GitHub tokens
    r"|(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,255}"
    r"|(?<![A-Za-z0-9])xox[abposre]-[A-Za-z0-9\-]{10,}"  # Slack tokens
    r"|-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY-----|$)"
    r"|(?<=[Bb]earer )[A-Za-z0-9._~+/\-]{16,}=*"
)
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^\s:/?#@]+:[^\s/?#@]+)@")
# key = value, key: value, "key": "value". The search looks for the secret-like word (a plain
# alternation, fast to scan for); the key around it and the value are matched from there.
# Grouped by first letter, so the engine tries one branch per position, not every word.
_KEYWORD = (
    r"a(?:pi[_\-]?key|ccess[_\-]?key|uth)|c(?:redentials?|ookie)|"
    r"p(?:ass(?:word|wd|phrase)?|wd|rivate[_\-]?key)|s(?:ecret|ession[_\-]?id|ignature|ig)|token"
)
_KEYWORD_LOWER = re.compile(_KEYWORD)
_KEYWORD_ANY_CASE = re.compile(_KEYWORD, re.IGNORECASE)
_AFTER_KEYWORD = re.compile(
    r"(?:[_.\-A-Z][A-Za-z0-9_.\-]*)?[\"']?[ \t]*[=:][ \t]*[\"']?(?P<value>[^\s\"',;&}\])]+)"
)
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_ALWAYS_SECRET_KEY = re.compile(r"pass|pwd|secret|private", re.IGNORECASE)
_PLACEHOLDERS = frozenset({"", "*", "***", "****", "<redacted>", "redacted", "null", "none",
                           "true", "false", "xxx", "<secret>", "changeme?"})  # fmt: skip
_HEX_DIGITS = re.compile(r"[0-9A-Fa-f]+")
_MIN_ENTROPY_BITS = 3.0
_MIN_SECRET_LENGTH = 12


def shannon_entropy(value: str) -> float:
    """Bits per character; random tokens score above 3.5, words and counters below 3."""
    counts = Counter(value)
    length = len(value)
    return -sum(n / length * math.log2(n / length) for n in counts.values())


def _looks_random(value: str) -> bool:
    # A 0x-prefixed hex number is an id or an address that a program prints, not a token.
    if value[:2] in ("0x", "0X") and _HEX_DIGITS.fullmatch(value, 2):
        return False
    if len(value) < _MIN_SECRET_LENGTH or shannon_entropy(value) < _MIN_ENTROPY_BITS:
        return False
    classes = (
        any(c.islower() for c in value),
        any(c.isupper() for c in value),
        any(c.isdigit() for c in value),
    )
    return sum(classes) >= 2


class SecretDetector:
    """All SECRET spans."""

    def find(self, text: str) -> Iterator[Span]:
        if _TOKEN_MARKER.search(text):
            for match in _TOKENS.finditer(text):
                yield Span(PiiType.SECRET, match.start(), match.end())
        if "://" in text and "@" in text:
            for match in _URL_CREDENTIALS.finditer(text):
                yield Span(PiiType.SECRET, match.start(1), match.end(1))
        if "=" in text or ":" in text:
            yield from self._key_values(text, text.lower())

    @staticmethod
    def _key_values(text: str, lowered: str) -> Iterator[Span]:
        # Searching the lower-cased text keeps positions only where lowering keeps lengths.
        if text.isascii():
            matches = _KEYWORD_LOWER.finditer(lowered)
        else:
            matches = _KEYWORD_ANY_CASE.finditer(text)
        for match in matches:
            start, end = match.span()
            # The word may be a part of a key ("db_password_file", "clientSecret",
            # "secretKey") but not of a word ("bypass", "passenger", "tokens"): only [_.-] or
            # a capital letter may join it to the key's other parts.
            if start > 0 and text[start - 1].isalnum() and not text[start].isupper():
                continue
            following = text[end : end + 1]
            if following.isalnum() and not following.isupper():
                continue
            after = _AFTER_KEYWORD.match(text, end)
            if after is None:
                continue
            key_start = start
            while key_start > 0 and text[key_start - 1] in _KEY_CHARS:
                key_start -= 1
            value = after.group("value")
            if value.lower() in _PLACEHOLDERS:
                continue
            key = text[key_start : after.start("value")]
            if _ALWAYS_SECRET_KEY.search(key) or _looks_random(value):
                yield Span(PiiType.SECRET, after.start("value"), after.end("value"))
