"""Masking the variable parts of a log message before it is compared with known templates.

The same rules for every source, none for one system: a word (a run of characters between
whitespace and the punctuation that separates fields, such as ``:`` ``=`` ``,`` ``/`` and
brackets) that contains a digit is a variable. Numbers, ids, addresses, hex values, durations
and timestamps all contain digits; words without a digit are kept and left to the miner to
generalize when they vary. ``mask_message`` lists the few rules on top of that.
"""

from __future__ import annotations

import re
from functools import lru_cache

WILDCARD = "<*>"

# Separators that end a word; dots, dashes and underscores do not, so ``10.0.0.1``,
# ``blk_-42`` and ``3f2a-9c`` each stay one word.
_SEPARATORS = r"\s:=,;()\[\]{}<>/\\\"'|@#"
# Units of size and time that follow a number (``12 KB``, ``30 ms``) are part of the value.
_UNITS = r"[KMGTP]i?B|B|bytes?|[mun]s|µs|s|secs?|seconds?|mins?|minutes?|h|hours?"
# A word starts after a separator (the look-behind keeps the scan linear), holds a digit, and
# takes a unit that follows it.
_VARIABLE_WORD = re.compile(
    rf"(?<![^{_SEPARATORS}])[^{_SEPARATORS}\d]*\d[^{_SEPARATORS}]*(?:\s?(?:{_UNITS})\b)?"
)
_HAS_DIGIT = re.compile(r"\d")
_ONLY_PUNCTUATION = re.compile(r"^[^\w]*$")
# Two or more path segments, optionally after a scheme: /var/log/x, hdfs://host/a, C:\\x\\y.
_PATH = re.compile(r"^(?:[A-Za-z][\w+.-]*:)?(?:/{1,2}[^/\s]+){2,}/?$|^[A-Za-z]:\\")


def mask_message(message: str) -> tuple[str, ...]:
    """The message's whitespace-separated tokens with variables replaced by ``<*>``.

    Besides words with digits: a unit after a number belongs to it (``12 KB``); a token that is
    a path (``/a/b``) or variables in punctuation (``(<*>)``, ``<*>:<*>``) is one variable; and
    a run of variables separated only by whitespace (a list of ids, a number and its unit in
    brackets) collapses into one ``<*>``, so that such lists of any length share a template.
    """
    if _HAS_DIGIT.search(message) is not None:
        message = _VARIABLE_WORD.sub(WILDCARD, message)
    tokens: list[str] = []
    previous_is_variable = False
    for raw in message.split():
        is_variable = raw == WILDCARD or (("/" in raw or WILDCARD in raw) and _is_variable(raw))
        if not (is_variable and previous_is_variable):
            tokens.append(WILDCARD if is_variable else raw)
        previous_is_variable = is_variable
    return tuple(tokens)


def _is_variable(token: str) -> bool:
    if _PATH.match(token) is not None:
        return True
    return WILDCARD in token and _ONLY_PUNCTUATION.match(token.replace(WILDCARD, "")) is not None


@lru_cache(maxsize=1024)
def template_pattern(template: str) -> re.Pattern[str]:
    """A regex that matches the messages of a template and captures what each ``<*>`` stands for."""
    parts = []
    for token in template.split(" "):
        pieces = token.split(WILDCARD)
        parts.append("(.*?)".join(re.escape(piece) for piece in pieces))
    return re.compile(r"\s+".join(parts) + "$", re.DOTALL)
