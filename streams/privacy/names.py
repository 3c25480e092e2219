"""People's names and user names where the context says so: an e-mail display name
("Jane Doe <jane@x.org>"), an honorific ("Dr. Jane Doe"), a greeting ("Hi Jane,"), a sign-off
("Thanks,\\nJane"), a role ("reported by Jane Doe", "name: Jane"), and user names
("user jdoe", "user=jdoe", "password for jdoe").

Names without such context would need an NER model, which is not part of this stage: a rule
cannot know that "Paris" is a person in one sentence and a city in the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from streams.privacy.spans import PiiType, Span

# A word of letters, with inner apostrophes (ASCII or U+2019) or hyphens: O'Neil, Jean-Luc.
_WORD = r"[^\W\d_][^\W\d_]*(?:['\u2019\-][^\W\d_]+)*"
_INITIAL = r"[^\W\d_]\."
_NAME = rf"(?:{_WORD}|{_INITIAL})(?:[ \t]+(?:{_WORD}|{_INITIAL})){{0,3}}"
_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del",
                        "bin", "al", "ten", "ter"})  # fmt: skip
# Words that follow a greeting or a role but are not names.
_NOT_NAMES = frozenset({
    "team", "all", "everyone", "everybody", "there", "sir", "madam", "sirs", "folks", "guys",
    "support", "customer", "colleagues", "friends", "both", "again", "the", "a", "an", "and",
    "or", "to", "is", "was", "this", "that", "it", "we", "you", "i", "me", "my", "our", "your",
    "he", "she", "they", "on", "in", "at", "for", "from", "with", "by", "of", "as", "not",
    "no", "yes", "ok", "thanks", "thank", "regards", "hello", "hi", "dear", "best", "cheers",
    "admin", "administrator", "user", "users", "system", "service", "bot", "automation",
    "unknown", "none", "null", "n/a", "na", "mr", "mrs", "ms", "dr", "prof", "please", "hope",
    "re", "fwd", "fw", "subject", "morning", "afternoon", "evening", "world", "has", "have",
})  # fmt: skip
_NOT_USERNAMES = frozenset({
    "is", "was", "has", "had", "not", "name", "names", "id", "ids", "agent", "account",
    "accounts", "with", "from", "to", "for", "and", "or", "the", "a", "an", "in", "on", "of",
    "that", "which", "who", "can", "could", "should", "will", "would", "does", "did", "do",
    "logged", "login", "logout", "session", "sessions", "data", "info", "information",
    "request", "requests", "group", "groups", "list", "profile", "authentication", "auth",
    "interface", "input", "space", "mode", "level", "error", "errors", "details", "must",
    "may", "might", "already", "successfully", "password", "credentials", "directory",
    "home", "settings", "preferences", "permissions", "role", "roles", "by", "at", "as",
    "if", "when", "are", "were", "be", "been", "being", "it", "this", "these", "those",
    "cannot", "can't", "doesn't", "isn't", "wasn't", "without", "via", "into", "experience",
    "interaction", "management", "database", "table", "key", "keys", "token", "tokens",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Rule:
    markers: tuple[str, ...]  # any of these in the lowered text lets the regex run
    regex: re.Pattern[str]
    type: PiiType


_RULES = (
    _Rule(
        ("@",),
        re.compile(
            rf"(?:\"(?P<q>[^\"\n<>@]{{2,80}})\"|(?P<name>{_NAME}))"
            r"[ \t]*<[^<>@\s]+@[^<>\s]+>"
        ),
        PiiType.PERSON,
    ),
    _Rule(
        ("mr", "ms", "dr", "miss", "prof", "mx"),
        re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+(?P<name>{_NAME})"),
        PiiType.PERSON,
    ),
    _Rule(
        ("dear", "hi", "hello", "hey"),
        re.compile(
            rf"(?:^|(?<=[\s>]))(?i:dear|hi|hello|hey|good (?:morning|afternoon|evening))"
            rf"[ \t]+(?P<name>{_NAME})[ \t]*(?:[,!:\n]|$)",
            re.MULTILINE,
        ),
        PiiType.PERSON,
    ),
    _Rule(
        ("thank", "regards", "cheers", "sincerely", "best", "thx", "wishes", "yours"),
        re.compile(
            r"(?i:thanks(?: again| a lot| so much)?|thank you|many thanks|regards|"
            r"cheers|sincerely|best(?: wishes)?|thx|yours(?: truly)?)"
            r"[ \t]*[,!.]?[ \t]*(?:\r?\n[ \t]*)+"
            rf"(?:-+[ \t]*)?(?P<name>{_NAME})[ \t]*$",
            re.MULTILINE,
        ),
        PiiType.PERSON,
    ),
    _Rule(
        ("by", "name", "assign", "report", "owner", "contact"),
        re.compile(
            r"(?i:(?:reported|requested|approved|created|assigned|submitted|opened|"
            r"closed|raised|authored|signed|reviewed|filed)[ \t]+(?:by|to)|"
            r"my name is|"
            r"(?<![\w.\-])(?:full name|name|assignee|reporter|owner|contact(?: person)?))"
            rf"[ \t]*[:=]?[ \t]*(?P<name>{_NAME})"
        ),
        PiiType.PERSON,
    ),
    _Rule(
        ("user", "login", "logname", "account", "principal"),
        re.compile(
            r"(?<![\w\-])(?i:r?user(?:[_\-]?name)?|login|logname|account|principal)"
            # "user=x" and "user: x" and "user x", but not "ruser= rhost=..." (an empty value
            # followed by the next key) nor a value that is itself a key.
            r"(?:=[\"']?|[ \t]*:[ \t]*[\"']?|[ \t]+)"
            r"(?P<name>[A-Za-z_][\w.\-]{0,63}(?<![.\-]))(?![\w.\-]*=)"
        ),
        PiiType.USERNAME,
    ),
    _Rule(
        ("for",),
        re.compile(
            r"(?i:password|publickey|keyboard-interactive(?:/pam)?|none)"
            r" for (?:invalid user )?(?P<name>[A-Za-z_][\w.\-]{0,63})"
        ),
        PiiType.USERNAME,
    ),
)


class NameDetector:
    """PERSON and USERNAME spans from the contexts above."""

    def __init__(self, system_accounts: tuple[str, ...], types: frozenset[PiiType]) -> None:
        self._system_accounts = frozenset(account.lower() for account in system_accounts)
        self._rules = tuple(rule for rule in _RULES if rule.type in types)

    def find(self, text: str) -> Iterator[Span]:
        lowered = text.lower()
        for rule in self._rules:
            if not any(marker in lowered for marker in rule.markers):
                continue
            for match in rule.regex.finditer(text):
                group = "q" if match.groupdict().get("q") else "name"
                start, end = match.span(group)
                value = text[start:end]
                if rule.type is PiiType.USERNAME:
                    if self._is_username(value):
                        yield Span(PiiType.USERNAME, start, end)
                    continue
                trimmed = _trim_name(value)
                if trimmed:
                    yield Span(PiiType.PERSON, start, start + len(trimmed))

    def _is_username(self, value: str) -> bool:
        lowered = value.lower()
        return lowered not in _NOT_USERNAMES and lowered not in self._system_accounts


def _trim_name(value: str) -> str:
    """The leading run of capitalised tokens (particles allowed inside), or '' if none."""
    tokens = value.split()
    kept: list[str] = []
    for token in tokens:
        if (token[0].isupper() and token.lower() not in _NOT_NAMES) or (
            kept and token.lower() in _PARTICLES
        ):
            kept.append(token)
        else:
            break
    while kept and kept[-1].lower() in _PARTICLES:
        kept.pop()
    if not kept:
        return ""
    # Keep the original spacing: cut the value after the last kept token.
    end = 0
    for token in kept:
        end = value.index(token, end) + len(token)
    return value[:end]
