"""People's names and user names where the context says so: an e-mail display name
("Jane Doe <jane@x.org>"), an honorific ("Dr. Jane Doe"), a greeting ("Hi Jane,"), a sign-off
("Thanks,\\nJane"), a role ("reported by Jane Doe", "name: Jane"), and user names
("user jdoe", "user=jdoe", "password for jdoe", "Invalid user jdoe").

Names without such context would need an NER model, which is not part of this stage: a rule
cannot know that "Paris" is a person in one sentence and a city in the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from opsassist.streams.privacy._spans import PiiType, Span
from opsassist.streams.privacy._tries import word_trie

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
    # Lower-case words at which ``regex`` starts: one scan of the text for all rules'
    # triggers, then each rule's regex only where its trigger stands.
    triggers: tuple[str, ...]
    regex: re.Pattern[str]
    type: PiiType
    # Whether common words after the trigger are taken for prose ("user management") rather
    # than a name; a context as strong as "Invalid user X" takes any word.
    stop_words: bool = True


# "Jane Doe <jane@example.com>": the name comes before its anchor, so this one is searched.
_DISPLAY_NAME = re.compile(
    rf"(?:\"(?P<q>[^\"\n<>@]{{2,80}})\"|(?P<name>{_NAME}))[ \t]*<[^<>@\s]+@[^<>\s]+>"
)
_RULES = (
    _Rule(
        ("mr", "mrs", "ms", "miss", "mx", "dr", "prof"),
        re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+(?P<name>{_NAME})"),
        PiiType.PERSON,
    ),
    _Rule(
        ("dear", "hi", "hello", "hey", "good morning", "good afternoon", "good evening"),
        re.compile(
            rf"(?:^|(?<=[\s>]))(?i:dear|hi|hello|hey|good (?:morning|afternoon|evening))"
            rf"[ \t]+(?P<name>{_NAME})[ \t]*(?:[,!:\n]|$)",
            re.MULTILINE,
        ),
        PiiType.PERSON,
    ),
    _Rule(
        (
            "thanks",
            "thank you",
            "many thanks",
            "regards",
            "cheers",
            "sincerely",
            "best",
            "thx",
            "yours",
        ),
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
        (
            "reported",
            "requested",
            "approved",
            "created",
            "assigned",
            "submitted",
            "opened",
            "closed",
            "raised",
            "authored",
            "signed",
            "reviewed",
            "filed",
            "my name is",
            "full name",
            "name",
            "assignee",
            "reporter",
            "owner",
            "contact",
        ),
        re.compile(
            # "assigned to Jane", "my name is Jane": a verb phrase, then the name.
            r"(?:(?<!\w)(?i:(?:reported|requested|approved|created|assigned|submitted|opened|"
            r"closed|raised|authored|signed|reviewed|filed)[ \t]+(?:by|to)|my name is)[ \t]+"
            # "Reporter: Jane Doe": a role label and a colon, as ticket forms write it. "name=X"
            # is left: in logs it names objects far more often than people.
            r"|(?<![\w.\-])(?i:full name|name|assignee|reporter|owner|contact(?: person)?)"
            r"[ \t]*:[ \t]*)"
            rf"(?P<name>{_NAME})"
        ),
        PiiType.PERSON,
    ),
    _Rule(
        ("ruser", "user", "account", "principal", "login", "logname"),
        re.compile(
            # "user=x", "user: x" and "user x" ("login" only with = or :, as "login failed" is
            # prose), but not "ruser= rhost=..." (an empty value, then the next key), a value
            # that is itself a key, or a function call.
            r"(?<![\w\-])(?:(?i:r?user(?:[_\-]?name)?|account|principal)"
            r"(?:=[\"']?|[ \t]*:[ \t]*[\"']?|[ \t]+)"
            r"|(?i:login|logname)(?:=[\"']?|[ \t]*:[ \t]*[\"']?))"
            r"(?P<name>[A-Za-z_][\w.\-]{0,63}(?<![.\-]))(?![\w.\-]*[=(])"
        ),
        PiiType.USERNAME,
    ),
    _Rule(
        ("password", "publickey", "keyboard-interactive", "none"),
        re.compile(
            r"(?i:password|publickey|keyboard-interactive(?:/pam)?|none)"
            r" for (?:invalid user )?(?P<name>[A-Za-z_][\w.\-]{0,63})"
        ),
        PiiType.USERNAME,
    ),
    _Rule(
        ("invalid user", "illegal user", "unknown user"),
        re.compile(
            r"(?i:invalid|illegal|unknown) user[ \t]+(?P<name>[A-Za-z_][\w.\-]{0,63}(?<![.\-]))"
        ),
        PiiType.USERNAME,
        stop_words=False,
    ),
)


# Plain words only (no lookarounds first), so the engine can skip to their first letters.
_TRIGGER_RULE = {word: rule for rule in _RULES for word in rule.triggers}
_TRIGGERS = re.compile(word_trie(list(_TRIGGER_RULE)))


class NameDetector:
    """PERSON and USERNAME spans from the contexts above."""

    def __init__(self, system_accounts: tuple[str, ...], types: frozenset[PiiType]) -> None:
        self._system_accounts = frozenset(account.lower() for account in system_accounts)
        self._types = types
        self._display_names = PiiType.PERSON in types

    def find(self, text: str) -> Iterator[Span]:
        if self._display_names and "@" in text and "<" in text:
            for match in _DISPLAY_NAME.finditer(text):
                group = "q" if match.group("q") else "name"
                yield from self._person(text, *match.span(group))
        # Lower-casing keeps positions only where it keeps lengths (ASCII): otherwise every
        # rule is searched on its own.
        if text.isascii():
            for trigger in _TRIGGERS.finditer(text.lower()):
                rule = _TRIGGER_RULE[trigger.group()]
                if rule.type in self._types:
                    anchored = rule.regex.match(text, trigger.start())
                    if anchored is not None:
                        yield from self._span(rule, text, anchored)
        else:
            for rule in _RULES:
                if rule.type in self._types:
                    for match in rule.regex.finditer(text):
                        yield from self._span(rule, text, match)

    def _span(self, rule: _Rule, text: str, match: re.Match[str]) -> Iterator[Span]:
        start, end = match.span("name")
        if rule.type is PiiType.USERNAME:
            if self._is_username(text[start:end], rule.stop_words):
                yield Span(PiiType.USERNAME, start, end)
        else:
            yield from self._person(text, start, end)

    @staticmethod
    def _person(text: str, start: int, end: int) -> Iterator[Span]:
        trimmed = _trim_name(text[start:end])
        if trimmed:
            yield Span(PiiType.PERSON, start, start + len(trimmed))

    def _is_username(self, value: str, stop_words: bool = True) -> bool:
        lowered = value.lower()
        if stop_words and lowered in _NOT_USERNAMES:
            return False
        return lowered not in self._system_accounts


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


# An inner capital after a lower-case letter marks an identifier (SurfaceView), except in the
# patronymic prefixes of real surnames (McDonald, MacArthur).
_IDENTIFIER_CASE = re.compile(r"(?<!^Mc)(?<!^Mac)[a-z][A-Z]")


def _looks_like_a_name(token: str) -> bool:
    """Capitalised, not a common word, not an all-caps constant (RUNNING) nor CamelCase."""
    if not token[0].isupper() or token.lower() in _NOT_NAMES:
        return False
    if len(token) > 1 and token.isupper():
        return False
    return _IDENTIFIER_CASE.search(token) is None
