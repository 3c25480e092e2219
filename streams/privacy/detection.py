"""All detectors behind one call: ``SpanFinder.find(text)`` returns the non-overlapping spans of
every type the policy does not keep, sorted by position."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from streams.privacy.addresses import EmailDetector, Ipv6Detector
from streams.privacy.credentials import SecretDetector
from streams.privacy.iban import IbanDetector
from streams.privacy.names import NameDetector
from streams.privacy.numbers import NumberDetector
from streams.privacy.policy import RedactionPolicy
from streams.privacy.postal import AddressDetector
from streams.privacy.spans import PiiType, Span, resolve_overlaps


class Detector(Protocol):
    def find(self, text: str) -> Iterator[Span]: ...


class SpanFinder:
    """The detectors a policy needs, built once."""

    def __init__(self, policy: RedactionPolicy) -> None:
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

    def find(self, text: str) -> list[Span]:
        """Non-overlapping spans of active types in ``text``, sorted by start."""
        # Nothing this stage finds is shorter than six characters ("a@b.io"); short values
        # (levels, host names, ids) are the most frequent field values.
        if len(text) < 6:
            return []
        found: list[Span] = []
        for detector in self._detectors:
            found.extend(detector.find(text))
        # Every detector above reports only the types it was built for.
        return resolve_overlaps(found)
