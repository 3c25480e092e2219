"""The documented heuristic that gives a non-conventional commit a type (it stays flagged).

Order, first hit wins:

1. a leading gitmoji (``✨`` or ``:sparkles:``) names the type, as the gitmoji convention says;
2. ticket prefixes (``ABC-123:``, ``[ABC-123]``, ``[tag]``) are ignored;
3. a first word ``Revert`` → revert;
4. a word naming the area touched, because the convention's docs/test/ci/build types name an
   area whatever the verb (``README``/``docs``/``typo`` → docs, ``test``/``tests`` → test,
   ``CI``/``workflow`` → ci, ``dependencies`` → build);
5. the first word, if it is a verb with one clear meaning (``Fix``/``Fixed`` → fix,
   ``Add``/``Implement``/``Support`` → feat, ``Refactor``/``Rename``/``Remove`` → refactor,
   ``Optimize`` → perf, ``Bump``/``Release`` → chore, ...);
6. a word naming a symptom (``crash``/``bug``/``error`` → fix, ``faster`` → perf);
7. otherwise ``other``: the commit is listed under the default group, never dropped.
"""

from __future__ import annotations

import re

_GITMOJI = {
    "✨": "feat", ":sparkles:": "feat", "🐛": "fix", ":bug:": "fix", "🚑": "fix",
    ":ambulance:": "fix", "📝": "docs", ":memo:": "docs", "♻": "refactor",
    ":recycle:": "refactor", "⚡": "perf", ":zap:": "perf", "✅": "test",
    ":white_check_mark:": "test", "💄": "style", ":lipstick:": "style", "🎨": "style",
    ":art:": "style", "🔥": "refactor", ":fire:": "refactor", "👷": "ci",
    ":construction_worker:": "ci", "⬆": "build", ":arrow_up:": "build", "🔒": "fix",
    ":lock:": "fix", "⏪": "revert", ":rewind:": "revert", "🔖": "chore", ":bookmark:": "chore",
}  # fmt: skip
_FIRST_WORD = {
    **dict.fromkeys(
        ("fix", "fixes", "fixed", "fixing", "bugfix", "hotfix", "resolve", "resolves",
         "resolved", "correct", "corrects", "corrected", "repair", "prevent", "prevents"),
        "fix",
    ),
    **dict.fromkeys(
        ("add", "adds", "added", "adding", "implement", "implements", "implemented",
         "introduce", "introduces", "introduced", "support", "supports", "allow", "allows",
         "enable", "enables", "expose", "exposes", "provide", "provides", "feature", "new"),
        "feat",
    ),
    **dict.fromkeys(
        ("refactor", "refactors", "refactored", "rename", "renames", "renamed", "move", "moves",
         "moved", "extract", "extracts", "simplify", "simplifies", "cleanup", "clean",
         "restructure", "reorganize", "rewrite", "remove", "removes", "removed", "delete",
         "deletes", "deleted", "drop", "drops", "dropped", "replace", "replaces", "replaced"),
        "refactor",
    ),
    **dict.fromkeys(("optimize", "optimise", "optimized", "speed", "speedup"), "perf"),
    **dict.fromkeys(("document", "documents", "documented", "docs", "doc"), "docs"),
    **dict.fromkeys(("test", "tests", "tested", "testing"), "test"),
    **dict.fromkeys(("format", "formatted", "reformat", "lint", "style"), "style"),
    **dict.fromkeys(("bump", "bumps", "bumped", "release", "released", "version"), "chore"),
    "revert": "revert",
    "reverts": "revert",
}  # fmt: skip
# The Conventional Commits types docs/test/ci/build name the *area* a change touches, whatever
# its verb ("Fix typo in README" is docs), so an area word outranks the first verb.
_AREA = (
    (re.compile(r"\b(readme|docs?|documentation|typos?|docstrings?)\b"), "docs"),
    (re.compile(r"\b(tests?|specs?|coverage|fixtures?)\b"), "test"),
    (re.compile(r"\b(ci|workflows?|pipelines?|github actions)\b"), "ci"),
    (re.compile(r"\b(dependenc(y|ies)|deps|lockfile|requirements)\b"), "build"),
)
_SYMPTOM = (
    (re.compile(r"\b(bugs?|crash(es)?|errors?|regression)\b"), "fix"),
    (re.compile(r"\b(performance|faster|slow)\b"), "perf"),
)
_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*|[A-Z][A-Z0-9]+-\d+:?\s+)+")
_WORD = re.compile(r"[a-z]+")


def guess_type(header: str) -> str:
    """The heuristic type of a header that is not a Conventional Commits header."""
    text = header.strip()
    for emoji, type_ in _GITMOJI.items():
        if text.startswith(emoji):
            return type_
    text = _PREFIX.sub("", text).lower()
    first = _WORD.match(text)
    verb = _FIRST_WORD.get(first[0]) if first else None
    if verb == "revert":
        return verb
    for pattern, type_ in _AREA:
        if pattern.search(text):
            return type_
    if verb:
        return verb
    for pattern, type_ in _SYMPTOM:
        if pattern.search(text):
            return type_
    return "other"
