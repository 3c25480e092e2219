"""Masking the variable parts of a log message before it is compared with known templates.

The same rules for every source, none for one system: a word (a run of characters between
whitespace and the punctuation that separates fields, such as ``:`` ``=`` ``,`` ``/`` and
brackets) that contains a digit is a variable. Numbers, ids, addresses, hex values, durations
and timestamps all contain digits; words without a digit are kept and left to the miner to
generalize when they vary. ``mask_message`` lists the few rules on top of that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

WILDCARD = "<*>"

# Separators that end a word; dots, dashes and underscores do not, so ``10.0.0.1``,
# ``blk_-42`` and ``3f2a-9c`` each stay one word.
_SEPARATORS = r"\s:=,;()\[\]{}<>/\\\"'|@#"
# Units of size and time that follow a number (``12 KB``, ``30 ms``) are part of the value.
_UNITS = r"[KMGTP]i?B|B|bytes?|[mun]s|µs|s|secs?|seconds?|mins?|minutes?|h|hours?"
# A word starts after a separator (the look-behind keeps the scan linear), holds a digit, and
# takes a unit that follows it. The quantifiers are possessive (``*+``, Python 3.11): giving
# characters back could never make a match, and not trying saves a quarter of the masking time.
_VARIABLE_WORD = re.compile(
    rf"(?<![^{_SEPARATORS}])[^{_SEPARATORS}\d]*+\d[^{_SEPARATORS}]*+(?:\s?(?:{_UNITS})\b)?"
)
# The same word without the unit, for when that rule is switched off.
_VARIABLE_WORD_NO_UNIT = re.compile(
    rf"(?<![^{_SEPARATORS}])[^{_SEPARATORS}\d]*+\d[^{_SEPARATORS}]*+"
)
_HAS_DIGIT = re.compile(r"\d")
_ONLY_PUNCTUATION = re.compile(r"^[^\w]*$")
# Two or more path segments, optionally after a scheme: /var/log/x, hdfs://host/a, C:\\x\\y.
_PATH = re.compile(r"^(?:[A-Za-z][\w+.-]*:)?(?:/{1,2}[^/\s]+){2,}/?$|^[A-Za-z]:\\")


@dataclass(frozen=True, slots=True)
class MaskingRules:
    """Which masking rules apply; all of them by default (what the product ships). Each can be
    switched off so that a benchmark can ablate it: a rule that exists for one log system's
    quirks shows up as a drop on that system alone.

    ``digits``: a word that holds a digit is a variable. ``units``: a size or time unit after a
    number belongs to it. ``paths``: a path is one variable. ``punctuation``: a token of
    variables and punctuation only is one variable. ``runs``: a run of variables separated by
    spaces is one ``<*>``."""

    digits: bool = True
    units: bool = True
    paths: bool = True
    punctuation: bool = True
    runs: bool = True

    def switched_off(self) -> tuple[str, ...]:
        return tuple(name for name in self.__slots__ if not getattr(self, name))


ALL_RULES = MaskingRules()


def mask_message(
    message: str, has_digit: bool | None = None, rules: MaskingRules = ALL_RULES
) -> tuple[str, ...]:
    """The message's whitespace-separated tokens with variables replaced by ``<*>``.

    Besides words with digits: a unit after a number belongs to it (``12 KB``); a token that is
    a path (``/a/b``) or variables in punctuation (``(<*>)``, ``<*>:<*>``) is one variable; and
    a run of variables separated only by whitespace (a list of ids, a number and its unit in
    brackets) collapses into one ``<*>``, so that such lists of any length share a template.
    ``has_digit`` says whether the message holds a digit, where the caller knows; it is looked
    up otherwise. ``rules`` switches rules off (see ``MaskingRules``).
    """
    if rules is not ALL_RULES:
        return _mask_with(message, rules)
    if has_digit is None:
        has_digit = _HAS_DIGIT.search(message) is not None
    if has_digit:
        message = _VARIABLE_WORD.sub(WILDCARD, message)
    tokens: list[str] = []
    previous_is_variable = False
    for raw in message.split():
        # The tests in the order that is cheapest on real logs; ``<*>`` is punctuation itself,
        # so a token of variables in punctuation is a token of punctuation alone.
        if raw == WILDCARD:
            is_variable = True
        elif WILDCARD in raw:
            is_variable = _ONLY_PUNCTUATION.match(raw) is not None or _PATH.match(raw) is not None
        else:
            is_variable = "/" in raw and _PATH.match(raw) is not None
        if not (is_variable and previous_is_variable):
            tokens.append(WILDCARD if is_variable else raw)
        previous_is_variable = is_variable
    return tuple(tokens)


def _mask_with(message: str, rules: MaskingRules) -> tuple[str, ...]:
    """``mask_message`` with some rules off: a second copy of its loop, so that the shipped
    rules keep their hot path free of the switches (the benchmark's ablation is its only user)."""
    if rules.digits:
        word = _VARIABLE_WORD if rules.units else _VARIABLE_WORD_NO_UNIT
        message = word.sub(WILDCARD, message)
    tokens: list[str] = []
    previous_is_variable = False
    for raw in message.split():
        # As in mask_message: a path is looked for only in a token with a slash or a variable.
        is_variable = (
            raw == WILDCARD
            or (rules.punctuation and WILDCARD in raw and _ONLY_PUNCTUATION.match(raw) is not None)
            or (rules.paths and ("/" in raw or WILDCARD in raw) and _PATH.match(raw) is not None)
        )
        if not (rules.runs and is_variable and previous_is_variable):
            tokens.append(WILDCARD if is_variable else raw)
        previous_is_variable = is_variable
    return tuple(tokens)


@lru_cache(maxsize=1024)
def template_pattern(template: str) -> re.Pattern[str]:
    """A regex that matches the messages of a template and captures what each ``<*>`` stands for."""
    parts = []
    for token in template.split(" "):
        pieces = token.split(WILDCARD)
        parts.append("(.*?)".join(re.escape(piece) for piece in pieces))
    return re.compile(r"\s+".join(parts) + "$", re.DOTALL)
