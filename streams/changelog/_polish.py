"""Optional LLM polish, made safe: a rewording is used only if it keeps the changelog's facts.

The LLM layer supplies an async callable that proposes new texts for a release's entries. The
check accepts the proposal only when every commit maps to exactly one reworded entry (nothing
dropped, nothing merged, nothing invented: no unknown commit, no issue/PR number, commit hash or
URL that the commit did not carry); otherwise the deterministic text stands, whole.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

import orjson
import structlog

from opsassist.streams.changelog._model import ChangelogError, Entry, Release

log = structlog.get_logger(__name__)

_NUMBER_REF = re.compile(r"#(\d+)\b")
_HASH_REF = re.compile(r"\b[0-9a-f]{7,40}\b")
_URL = re.compile(r"https?://\S+")
_MAX_GROWTH = 3  # a rewording may be this many times longer than the original, plus 80 chars


@dataclass(frozen=True, slots=True)
class Rewording:
    """The proposed text for the entry of one commit."""

    commit: str
    text: str


@dataclass(frozen=True, slots=True)
class PolishVerdict:
    accepted: bool
    problems: tuple[str, ...] = ()


Proposer = Callable[[Sequence[Entry]], Awaitable[Sequence[Rewording]]]


class InvalidRewording(ChangelogError):
    """An LLM's answer is not the JSON shape ``polish_prompt`` asked for."""


_INSTRUCTIONS = (
    "Reword these changelog entries for the people who use the software: one short, clear, "
    "present-tense line each. Keep every entry and its commit hash; do not merge, split, add "
    "or drop entries; do not add issue numbers, links or facts that are not in the entry. "
    'Answer with JSON only: [{"commit": "<hash>", "text": "<new text>"}, ...].'
)


def polish_prompt(entries: Sequence[Entry]) -> str:
    """The request an LLM proposer may send (the caller redacts personal data first)."""
    items = [
        {"commit": e.commit, "type": e.type, "scope": e.scope, "breaking": e.breaking,
         "text": e.text}
        for e in entries
    ]  # fmt: skip
    return f"{_INSTRUCTIONS}\n\n{orjson.dumps(items).decode()}"


def parse_rewording(answer: str) -> list[Rewording]:
    """The LLM's JSON answer as rewordings; the shape only (``check_rewording`` judges them).

    A fenced code block around the JSON is accepted, since models add one unasked."""
    text = answer.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidRewording(f"not JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("entries")
    if not isinstance(data, list):
        raise InvalidRewording("expected a JSON list of {commit, text}")
    out: list[Rewording] = []
    for item in data:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("commit"), str)
            and isinstance(item.get("text"), str)
        ):
            raise InvalidRewording("every item needs a string commit and text")
        out.append(Rewording(item["commit"], item["text"]))
    return out


def _invented(entry: Entry, text: str) -> list[str]:
    known_numbers = {str(n) for n in entry.issues}
    known_numbers.update(_NUMBER_REF.findall(entry.text))
    if entry.pull_request is not None:
        known_numbers.add(str(entry.pull_request))
    problems = [
        f"{entry.commit[:12]}: invents reference #{n}"
        for n in _NUMBER_REF.findall(text)
        if n not in known_numbers
    ]
    problems += [
        f"{entry.commit[:12]}: invents hash {h}"
        for h in _HASH_REF.findall(text)
        if not entry.commit.startswith(h) and h not in entry.text
    ]
    problems += [
        f"{entry.commit[:12]}: invents URL {u}" for u in _URL.findall(text) if u not in entry.text
    ]
    return problems


def check_rewording(entries: Sequence[Entry], proposal: Sequence[Rewording]) -> PolishVerdict:
    """Accept only a one-to-one rewording of exactly these entries."""
    by_commit = {e.commit: e for e in entries}
    counts = Counter(r.commit for r in proposal)
    problems = [f"{c[:12]}: not a commit of these entries" for c in counts if c not in by_commit]
    problems += [f"{c[:12]}: {n} entries for one commit" for c, n in counts.items() if n > 1]
    problems += [f"{c[:12]}: dropped" for c in by_commit if c not in counts]
    for rewording in proposal:
        entry = by_commit.get(rewording.commit)
        if entry is None:
            continue
        text = rewording.text.strip()
        if not text or "\n" in text:
            problems.append(f"{entry.commit[:12]}: text must be one non-empty line")
        elif len(text) > _MAX_GROWTH * len(entry.text) + 80:
            problems.append(f"{entry.commit[:12]}: text grew beyond a rewording")
        problems += _invented(entry, text)
    return PolishVerdict(accepted=not problems, problems=tuple(problems))


def apply_rewording(
    release: Release, proposal: Sequence[Rewording]
) -> tuple[Release, PolishVerdict]:
    """The release with the reworded texts if the check accepts them, else unchanged."""
    verdict = check_rewording(release.entries, proposal)
    if not verdict.accepted:
        return release, verdict
    texts = {r.commit: r.text.strip() for r in proposal}
    groups = tuple(
        replace(group, entries=tuple(replace(e, text=texts[e.commit]) for e in group.entries))
        for group in release.groups
    )
    return replace(release, groups=groups), verdict


async def polish_release(
    release: Release, propose: Proposer | None = None
) -> tuple[Release, PolishVerdict]:
    """Ask ``propose`` for a rewording and keep it only if it passes the check. Without a
    proposer, or when it fails, the deterministic release is returned unchanged."""
    if propose is None or not release.entries:
        return release, PolishVerdict(accepted=False, problems=("no proposer",))
    try:
        proposal = await propose(release.entries)
    except Exception as exc:  # an LLM outage must never cost the changelog
        log.warning("changelog_polish_failed", release=release.tag, error=repr(exc))
        return release, PolishVerdict(accepted=False, problems=(f"proposer failed: {exc!r}",))
    polished, verdict = apply_rewording(release, proposal)
    if not verdict.accepted:
        log.info("changelog_polish_rejected", release=release.tag, problems=verdict.problems[:5])
    return polished, verdict
