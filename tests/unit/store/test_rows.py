"""Rows as the sink writes them: values PostgreSQL cannot hold are made storable."""

from __future__ import annotations

import orjson

from store.sink import Origin, log_row
from tests.integration.events import log_event


def test_nul_characters_become_replacement_characters_in_text_and_json() -> None:
    event = log_event(1, message="bad\x00line")
    event = event.model_copy(
        update={"payload": event.payload.model_copy(update={"attributes": {"k": "v\x00"}})}
    )
    row = log_row(event, Origin("t", 0, 5))
    assert row[5] == "bad\ufffdline"
    assert orjson.loads(row[6]) == {"k": "v\ufffd"}
    assert row[-4:] == ("t", 0, 5, None)  # no redaction record given: NULL
