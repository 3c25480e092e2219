"""Streaming log template mining: each message is matched to a template of its service, or starts
one; templates generalize as variants arrive.

The algorithm is Drain's idea (He et al., ICWS 2017) with two changes the benchmark showed to
matter: masked messages are grouped by token count and first token; a message takes the most
specific template of its group that it matches, or else its most similar template generalizes
(differing positions become wildcards), but only once the generalization covers ``variants``
distinct messages, so that a word seen with two values stays a constant.

Template ids are a hash of the service and the template text, so two workers (or one worker
after a restart) that saw the same lines give the same ids, whatever the order; a
generalization changes the id, and the change is reported so stored lines can be re-labelled.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from opsassist.streams.logs._masking import (
    ALL_RULES,
    WILDCARD,
    MaskingRules,
    mask_message,
    template_pattern,
)

STATE_VERSION = 1
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
# Two or more zeros: a regex replaces all runs in one pass, at less than half the cost of
# replacing b"00" until none is left (a search per pass, a pass per halving of the longest run).
_DIGIT_RUNS = re.compile(rb"00+")
# With the digit rule off, lines that differ in their digits mask apart: the shape keys then
# keep their digits (an identity table) and nothing is collapsed (a pattern that never matches).
_KEEP_DIGITS = bytes.maketrans(b"", b"")
_NO_RUNS = re.compile(rb"(?!)")


class MinerStateError(ValueError):
    """A persisted miner state that cannot be loaded (wrong version or malformed)."""


def template_id(service: str, template: str) -> str:
    """The stable id of a template: 16 hex digits of BLAKE2b over the service and the text."""
    digest = hashlib.blake2b(f"{service}\x1f{template}".encode(), digest_size=8)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class IdChange:
    """A template generalized: lines labelled ``old_id`` now belong to ``new_id``."""

    service: str
    old_id: str
    new_id: str
    new_template: str


class _Parameters:
    """A template's regex for its parameters, compiled on the first call and shared by the
    template and its matches. A separate object so that a match need not point back to its
    template, which points to its match: a reference cycle per template would be left to the
    cyclic garbage collector, and evicted templates would pile up until it ran."""

    __slots__ = ("_compiled", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._compiled: re.Pattern[str] | None = None

    def of(self, message: str) -> tuple[str, ...]:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = template_pattern(self.text)
        found = compiled.match(message.strip())
        return found.groups() if found is not None else ()


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    """The outcome of adding one message: its template, whether the template is new, and the
    generalizations it caused (ids that now stand for ``template_id``).

    A line that joins a template without changing anything (most lines) gets the one match
    object its template keeps for that, not a new one: building an object per line cost a
    tenth of the miner's time. So a match does not hold its message; ``parameters`` takes it."""

    template_id: str
    template: str
    is_new: bool
    changes: tuple[IdChange, ...]
    _parameters: _Parameters = field(repr=False, compare=False)

    def parameters(self, message: str) -> tuple[str, ...]:
        """What the template's wildcards stand for in ``message`` (the line given to ``add``),
        in order; computed on demand: a compiled pattern per template is the cost, and not every
        caller needs it."""
        return self._parameters.of(message)


class _Group(list[str]):
    """The ids of the templates with one token count and first token. ``version`` changes with
    every template added to or removed from it: what a cache learned about the group before
    (which template a line matches) is then stale, and the caches check it on every hit."""

    __slots__ = ("version",)

    def __init__(self) -> None:
        super().__init__()
        self.version = 0


@dataclass(slots=True)
class _Template:
    tokens: list[str]  # never changed: a generalization is a new template
    id: str
    size: int
    text: str
    group: _Group
    parameters: _Parameters
    # what add() returns for a line that joins this template and changes nothing
    match: TemplateMatch = field(init=False, repr=False)


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """A template as the miner holds it now."""

    template_id: str
    template: str
    size: int


class TemplateMiner:
    """The templates of one service, bounded to ``max_templates`` by least-recent use.

    ``similarity`` is the share of a template's constant tokens a message must repeat to join it;
    ``variants`` is how many distinct messages a generalization must cover before it is made;
    ``masking`` switches masking rules off (for the benchmark's ablation; all apply by default).
    Not thread-safe; use one miner per service and per worker (ids agree across workers anyway).
    """

    def __init__(
        self,
        service: str,
        *,
        similarity: float = 0.7,
        variants: int = 3,
        max_templates: int = 5000,
        masking: MaskingRules = ALL_RULES,
    ) -> None:
        if not 0.0 < similarity <= 1.0:
            raise ValueError(f"similarity must be in (0, 1], not {similarity}")
        if variants < 1:
            raise ValueError(f"variants must be at least 1, not {variants}")
        if max_templates < 1:
            raise ValueError(f"max_templates must be at least 1, not {max_templates}")
        self.service = service
        self.similarity = similarity
        self.variants = variants
        self.max_templates = max_templates
        self.masking = ALL_RULES if masking == ALL_RULES else masking
        self._zero_digits = _ZERO_DIGITS if masking.digits else _KEEP_DIGITS
        self._digit_runs = _DIGIT_RUNS if masking.digits else _NO_RUNS
        # id -> template, in least- to most-recently-used order (the LRU)
        self._templates: OrderedDict[str, _Template] = OrderedDict()
        # (token count, first token) -> ids of the templates in that group
        self._groups: dict[tuple[int, str], _Group] = {}
        # masked message -> id that it matched last; a cache, cleared when it outgrows its cap
        self._exact: dict[tuple[str, ...], tuple[_Template, int]] = {}
        # message with its digits zeroed, and with its runs of digits collapsed to one digit ->
        # id that it matched last; the same kind of cache
        self._shapes: dict[bytes, tuple[_Template, int]] = {}
        self._limit = self._cache_limit()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._templates)

    def add(self, message: str) -> TemplateMatch:
        """Match ``message`` (the content, without the header) and learn from it."""
        # Masking treats every digit alike, so lines that differ only in their digits (most
        # lines of a template) mask alike: the line with its digits zeroed is a cache key that
        # skips the masking, at a tenth of its cost.
        try:
            shape = message.encode().translate(self._zero_digits)
        except UnicodeEncodeError:  # a lone surrogate; rare enough to take the slow path
            shape = message.encode("utf-8", "surrogatepass").translate(self._zero_digits)
        cached = self._shapes.get(shape)
        if cached is not None:
            seen, version = cached
            if seen.group.version == version:  # else the group changed since (see _Group)
                seen.size += 1
                self._templates.move_to_end(seen.id)
                return seen.match
        # Lines of a template also differ in how many digits a number has. Masking does not
        # look at that either, so the shape with each run of digits collapsed to one digit is a
        # second key, looked up only when the first missed (collapsing costs more than a hit).
        collapsed = self._digit_runs.sub(b"0", shape)  # the same object when nothing collapsed
        if collapsed is not shape:
            cached = self._shapes.get(collapsed)
            # The hit block above, written out again: folding the two into one cost 1.3-2.0% of
            # the miner's time (A/B runs on the Loghub 2k files), on its hottest path.
            if cached is not None:
                seen, version = cached
                if seen.group.version == version:
                    seen.size += 1
                    self._templates.move_to_end(seen.id)
                    self._cache_shape(shape, cached)
                    return seen.match
        # (Whether the line has a digit: the shape tells, cheaper than a search, for ASCII.)
        # (With a rule off, the digit hint is ignored: the ablation's path looks for itself.)
        tokens = mask_message(message, b"0" in shape if message.isascii() else None, self.masking)
        known = self._exact.get(tokens)
        if known is not None and known[0].group.version == known[1]:
            return self._matched(known[0], tokens, shape, collapsed, is_new=False, changes=())
        group = self._group((len(tokens), _group_token(tokens)))
        covering = self._covering(group, tokens)
        if covering is not None:
            return self._matched(covering, tokens, shape, collapsed, is_new=False, changes=())
        # A new template may be more general than templates already held (a word with digits
        # where they had a word without); it absorbs them, as a generalization does.
        generalized = self._generalization(group, tokens) or list(tokens)
        merged, is_new, changes = self._merge(group, generalized)
        return self._matched(merged, tokens, shape, collapsed, is_new=is_new, changes=changes)

    def templates(self) -> list[TemplateInfo]:
        """The templates held now, most recently used last."""
        return [TemplateInfo(t.id, t.text, t.size) for t in self._templates.values()]

    def recently_used(self, count: int) -> list[TemplateInfo]:
        """The ``count`` most recently used templates, most recent last: after a batch, the
        templates it touched are these (the pipeline persists them in this order)."""
        found: list[TemplateInfo] = []
        for template in reversed(self._templates.values()):
            if len(found) >= count:
                break
            found.append(TemplateInfo(template.id, template.text, template.size))
        found.reverse()
        return found

    def match(self, message: str) -> TemplateInfo | None:
        """The template ``message`` would join, without learning from it."""
        tokens = mask_message(message, rules=self.masking)
        group = self._groups.get((len(tokens), _group_token(tokens)))
        found = self._covering(group, tokens) if group is not None else None
        return None if found is None else TemplateInfo(found.id, found.text, found.size)

    # -- state, for persistence between restarts

    def to_state(self) -> dict[str, Any]:
        """A JSON-serializable snapshot: settings and templates in LRU order."""
        return {
            "version": STATE_VERSION,
            "service": self.service,
            "similarity": self.similarity,
            "variants": self.variants,
            "max_templates": self.max_templates,
            "masking_off": list(self.masking.switched_off()),
            "templates": [
                {"tokens": list(t.tokens), "size": t.size} for t in self._templates.values()
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemplateMiner:
        """Rebuild a miner from ``to_state()``; ids are recomputed, so they are the same."""
        try:
            if state["version"] != STATE_VERSION:
                raise MinerStateError(f"miner state version {state['version']} is not supported")
            miner = cls(
                str(state["service"]),
                similarity=float(state["similarity"]),
                variants=int(state["variants"]),
                max_templates=int(state["max_templates"]),
                # absent from states written before the rules could be switched off
                masking=MaskingRules(**dict.fromkeys(state.get("masking_off", []), False)),
            )
            for entry in state["templates"]:
                tokens = [str(token) for token in entry["tokens"]]
                group = miner._group((len(tokens), _group_token(tokens)))
                restored, _, _ = miner._merge(group, tokens)
                restored.size = int(entry["size"])
        except MinerStateError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise MinerStateError(f"malformed miner state: {exc!r}") from exc
        return miner

    # -- internals

    def _matched(
        self,
        template: _Template,
        tokens: tuple[str, ...],
        shape: bytes,
        collapsed: bytes,
        *,
        is_new: bool,
        changes: tuple[IdChange, ...],
    ) -> TemplateMatch:
        template.size += 1
        self._templates.move_to_end(template.id)
        entry = (template, template.group.version)
        if len(self._exact) >= self._limit:
            self._exact.clear()
        self._exact[tokens] = entry
        shapes = self._shapes
        if len(shapes) >= self._limit - 1:
            shapes.clear()
        shapes[shape] = entry
        shapes[collapsed] = entry  # the same key again when nothing collapsed
        if is_new or changes:
            return TemplateMatch(template.id, template.text, is_new, changes, template.parameters)
        return template.match

    def _cache_shape(self, shape: bytes, entry: tuple[_Template, int]) -> None:
        if len(self._shapes) >= self._limit:
            self._shapes.clear()
        self._shapes[shape] = entry

    def _covering(self, group: list[str], tokens: tuple[str, ...]) -> _Template | None:
        """The most specific template whose constant tokens all appear in ``tokens``."""
        best: _Template | None = None
        best_constants = -1
        for candidate_id in group:
            candidate = self._templates[candidate_id]
            constants = 0
            for mine, theirs in zip(candidate.tokens, tokens, strict=True):
                if mine == WILDCARD:
                    continue
                if mine != theirs:
                    break
                constants += 1
            else:
                if constants == 0 and tuple(candidate.tokens) != tokens:
                    continue  # wildcards alone say nothing about a message
                # Ties go to the smaller id, so the choice depends on content, not on order.
                if constants > best_constants or (
                    constants == best_constants and best is not None and candidate.id < best.id
                ):
                    best, best_constants = candidate, constants
        return best

    def _generalization(self, group: list[str], tokens: tuple[str, ...]) -> list[str] | None:
        """The template that ``tokens`` and its most similar template would share, if that
        generalization is warranted: similar enough, and by then covering ``variants`` distinct
        templates (a position that took only two values is more likely a constant that
        distinguishes two messages, such as true/false or begin/end, than a variable)."""
        best: _Template | None = None
        best_score = -1.0
        for candidate_id in group:
            candidate = self._templates[candidate_id]
            constants = 0
            agreeing = 0
            for mine, theirs in zip(candidate.tokens, tokens, strict=True):
                if mine == WILDCARD:
                    continue
                constants += 1
                if mine == theirs:
                    agreeing += 1
            score = agreeing / constants if constants else 0.0
            if score > best_score or (
                score == best_score and best is not None and candidate.id < best.id
            ):
                best, best_score = candidate, score
        if best is None or best_score < self.similarity:
            return None
        generalized = [
            mine if mine == theirs else WILDCARD
            for mine, theirs in zip(best.tokens, tokens, strict=True)
        ]
        covered = 1 + sum(
            1 for other in group if _covers(generalized, self._templates[other].tokens)
        )
        return generalized if covered >= self.variants else None

    def _merge(
        self, group: _Group, generalized: list[str]
    ) -> tuple[_Template, bool, tuple[IdChange, ...]]:
        """Add ``generalized`` to ``group`` unless held, and replace the templates it covers by
        it; also say whether it is new."""
        text = " ".join(generalized)
        # What the caches remember about this group predates the change; a message could now
        # match differently, and a miner restored from its state must decide as this one does.
        group.version += 1
        new_id = template_id(self.service, text)
        templates = self._templates
        covered = [
            other
            for other in group
            if other != new_id and _covers(generalized, templates[other].tokens)
        ]
        merged = templates.get(new_id)
        is_new = merged is None and not covered
        if merged is None:
            parameters = _Parameters(text)
            merged = _Template(list(generalized), new_id, 0, text, group, parameters)
            merged.match = TemplateMatch(new_id, text, False, (), parameters)
            templates[new_id] = merged
            group.append(new_id)
        changes: list[IdChange] = []
        for other_id in covered:
            merged.size += templates.pop(other_id).size
            group.remove(other_id)
            changes.append(IdChange(self.service, other_id, new_id, text))
        if len(self._templates) > self.max_templates:
            self._evict()
        self._limit = self._cache_limit()
        return merged, is_new, tuple(changes)

    def _evict(self) -> None:
        evicted_id, evicted = self._templates.popitem(last=False)
        evicted.group.version += 1
        key = (len(evicted.tokens), _group_token(evicted.tokens))
        group = self._groups[key]
        group.remove(evicted_id)
        if not group:
            del self._groups[key]
        self.evicted += 1

    def _cache_limit(self) -> int:
        """Entries a cache may hold before it is cleared: sixteen per template held, at least
        4,096 and at most four per ``max_templates``, so that memory follows the templates a
        service has rather than the cap (a worker holds a miner per service, most with far
        fewer templates than ``max_templates``). Kept in ``_limit``, renewed when the templates
        change (in ``_merge``, which every new template and eviction goes through)."""
        return min(4 * self.max_templates, max(16 * len(self._templates), 4096))

    def _group(self, key: tuple[int, str]) -> _Group:
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group()
        return group


def _covers(general: list[str], specific: list[str]) -> bool:
    """Whether ``general`` matches everything ``specific`` does. A template of wildcards alone
    says nothing about a message, so it covers only itself."""
    for mine, theirs in zip(general, specific, strict=True):
        if mine not in (theirs, WILDCARD):
            return False
    return general == specific or any(token != WILDCARD for token in general)


def _group_token(tokens: tuple[str, ...] | list[str]) -> str:
    """The first token keys the group, unless it is (or holds) a variable."""
    if not tokens:
        return ""
    first = tokens[0]
    return WILDCARD if WILDCARD in first else first
