"""Dead-letter reason codes are a closed set, so the metric's label stays bounded."""

from __future__ import annotations

import re

from opsassist.settings import PROJECT_ROOT
from opsassist.streams.runtime.metrics import DEAD_LETTER_REASONS

RAISED = re.compile(r'(?:InvalidEvent\(\s*|_dead_letter\(\s*\w+,\s*)"([a-z_]+)"')


def test_every_reason_code_in_the_code_is_a_known_label_value() -> None:
    found = set()
    for package in ("schemas", "streams", "bus"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            found.update(RAISED.findall(path.read_text()))
    assert found, "the pattern found no reason codes: it needs updating"
    assert found <= set(DEAD_LETTER_REASONS), sorted(found - set(DEAD_LETTER_REASONS))
