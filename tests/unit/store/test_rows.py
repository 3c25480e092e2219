"""Rows as the sink writes them: values PostgreSQL cannot hold are made storable."""

from __future__ import annotations

import orjson

from opsassist.store.sink import LOG_COLUMNS, LogTemplateFields, Origin, log_row
from tests.integration.events import log_event


def test_nul_characters_become_replacement_characters_in_text_and_json() -> None:
    event = log_event(1, message="bad\x00line")
    event = event.model_copy(
        update={"payload": event.payload.model_copy(update={"attributes": {"k": "v\x00"}})}
    )
    row = dict(zip(LOG_COLUMNS, log_row(event, Origin("t", 0, 5)), strict=True))
    assert row["message"] == "bad\ufffdline"
    assert orjson.loads(row["attributes"]) == {"k": "v\ufffd"}
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == ("t", 0, 5)
    assert (row["template_id"], row["template_params"]) == (None, None)
    assert row["redactions"] is None  # no redaction record given: NULL


def test_a_mined_line_carries_its_template_id_and_storable_parameters() -> None:
    mined = LogTemplateFields("6854e3d756bdd854", ("a\x00b", "42"))
    row = dict(zip(LOG_COLUMNS, log_row(log_event(2), Origin("t", 0, 6), mined), strict=True))
    assert (row["template_id"], row["template_params"]) == ("6854e3d756bdd854", ["a\ufffdb", "42"])
