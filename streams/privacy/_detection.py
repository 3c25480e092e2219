"""All detectors behind one call: ``SpanFinder.find(text)`` returns the non-overlapping spans of
every type the policy does not keep, sorted by position.

What the detectors find depends on the text alone, and logs repeat themselves: the same line
(a health check, a retry, a periodic report) and above all the same field values (components,
threads, tags). ``SpanFinder`` therefore remembers the spans of the last texts it scanned, in a
bounded first-in-first-out cache of texts up to ``CACHED_TEXT_LENGTH`` characters. The cache is
process memory only (it holds what the process already holds); it is never written anywhere.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import Protocol

from opsassist.streams.privacy._addresses import EmailDetector, Ipv6Detector
from opsassist.streams.privacy._credentials import SecretDetector
from opsassist.streams.privacy._iban import IbanDetector
from opsassist.streams.privacy._names import NameDetector
from opsassist.streams.privacy._numbers import NumberDetector
from opsassist.streams.privacy._policy import RedactionPolicy
from opsassist.streams.privacy._postal import AddressDetector
from opsassist.streams.privacy._spans import PiiType, Span, resolve_overlaps


class Detector(Protocol):
    def find(self, text: str) -> Iterable[Span]: ...


# Longer texts rarely repeat, and would make the cache's memory depend on the traffic.
CACHED_TEXT_LENGTH = 1024
DEFAULT_CACHE_ENTRIES = 8192


class SpanFinder:
    """The detectors a policy needs, built once, and the spans of the last ``cache_entries``
    texts scanned (0 turns the cache off)."""

    def __init__(self, policy: RedactionPolicy, cache_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        if cache_entries < 0:
            raise ValueError(f"cache_entries must be 0 or more, not {cache_entries}")
        self._cache: OrderedDict[str, tuple[Span, ...]] = OrderedDict()
        self._cache_entries = cache_entries
        self.cache_hits = 0
        self.cache_misses = 0
        types = policy.active_types
        detectors: list[Detector] = []
        if PiiType.SECRET in types:
            detectors.append(SecretDetector())
        if PiiType.EMAIL in types:
            detectors.append(EmailDetector())
        if PiiType.IBAN in types:
            detectors.append(IbanDetector())
        if types & {PiiType.IP_ADDRESS, PiiType.CREDIT_CARD, PiiType.US_SSN, PiiType.PHONE}:
            detectors.append(NumberDetector(policy.phone_regions, types))
        if PiiType.IP_ADDRESS in types:
            detectors.append(Ipv6Detector())
        if PiiType.ADDRESS in types:
            detectors.append(AddressDetector())
        if types & {PiiType.PERSON, PiiType.USERNAME}:
            detectors.append(NameDetector(policy.system_accounts, types))
        self._detectors = tuple(detectors)

    def find(self, text: str) -> Sequence[Span]:
        """Non-overlapping spans of active types in ``text``, sorted by start."""
        # Nothing this stage finds is shorter than six characters ("a@b.io"); short values
        # (levels, host names, ids) are the most frequent field values.
        if len(text) < 6:
            return ()
        cacheable = self._cache_entries and len(text) <= CACHED_TEXT_LENGTH
        if cacheable:
            cached = self._cache.get(text)
            if cached is not None:
                self.cache_hits += 1
                return cached
            self.cache_misses += 1
        found: list[Span] = []
        for detector in self._detectors:
            found.extend(detector.find(text))
        # Every detector above reports only the types it was built for.
        spans = tuple(resolve_overlaps(found))
        if cacheable:
            cache = self._cache
            if len(cache) >= self._cache_entries:
                # The oldest entry; another thread may have taken it first.
                with suppress(KeyError):
                    cache.popitem(last=False)
            cache[text] = spans
        return spans
