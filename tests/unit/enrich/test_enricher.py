"""Configured header formats, timestamps to UTC, levels, service/environment/host, traces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsassist.settings import Settings
from opsassist.streams.enrich import (
    Enricher,
    Level,
    SourceFormatError,
    compile_log_format,
    extract_trace,
    normalize_level,
    parse_timestamp,
    parse_traceparent,
)

REFERENCE = datetime(2024, 3, 1, tzinfo=UTC)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_configured_header_format_splits_a_source_lines() -> None:
    enricher = Enricher(
        {
            "hdfs": {
                "format": "<Date> <Time> <Pid> <Level> <Component>: <Content>",
                "timestamp": "%y%m%d %H%M%S",
                "timezone": "Europe/Paris",
            }
        }
    )
    log = enricher.enrich_line(
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: block terminating", source="hdfs"
    )
    assert log.format == "header"
    assert log.timestamp == datetime(2008, 11, 9, 19, 36, 15, tzinfo=UTC)
    assert log.level is Level.INFO
    assert log.message == "block terminating"
    assert log.fields == {"pid": "148", "component": "dfs.DataNode$PacketResponder"}


def test_header_formats_follow_logparser_regex_fragments() -> None:
    fmt = compile_log_format(r"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>")
    assert fmt.parse("2015-10-18 18:01:47,978 INFO [main] a.B: hi") == {
        "Date": "2015-10-18",
        "Time": "18:01:47,978",
        "Level": "INFO",
        "Process": "main",
        "Component": "a.B",
        "Content": "hi",
    }


@pytest.mark.parametrize(
    "config",
    [
        {"format": "no fields here"},
        {"format": "<A> <A>"},
        {"timestamp": "%Y"},
        {"format": "<A>", "timezone": "Mars/Base"},
    ],
)
def test_an_invalid_source_configuration_is_a_source_format_error(config: dict[str, str]) -> None:
    with pytest.raises(SourceFormatError):
        Enricher({"s": config})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05+02:00", datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)),
        ("2024-01-02 03:04:05,678", datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        ("10/Oct/2000:13:55:36 -0700", datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)),
        ("Sun Dec 04 04:47:44 2005", datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC)),
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000123", datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)),
        ("1700000000.25", datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC)),  # zap's ts
        ("1700000000.", None),
        ("Feb 28 23:59:59", datetime(2024, 2, 28, 23, 59, 59, tzinfo=UTC)),
        ("Dec 31 23:59:59", datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("not a time", None),
    ],
)
def test_timestamps_become_utc(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text, reference=REFERENCE) == expected


@pytest.mark.parametrize(
    ("log_format", "line"),
    [
        ("<Date> <Day> <Time> <Component> sshd[<Pid>]: <Content>",
         "Dec 10 06:55:46 LabSZ sshd[24200]: Connection closed by 173.234.31.186 [preauth]"),
        ("<Month>  <Date> <Time> <User> <Component>: <Content>",
         "Dec  10 06:55:46 calvisitor kernel: ARPT: 620701.011328: AirPort_Brcm43xx::sync"),
        ("<Day> <Month> <Date> <Time> <Year> <Content>", "Tue Dec 10 06:55:46 2024 done"),
    ],
)  # fmt: skip
def test_a_header_time_split_over_month_day_and_year_fields_is_read(
    log_format: str, line: str
) -> None:
    log = Enricher({"s": {"format": log_format}}).enrich_line(
        line, source="s", reference=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert log.timestamp == datetime(2024, 12, 10, 6, 55, 46, tzinfo=UTC)
    assert not {"day", "month", "year"} & set(log.fields)


@pytest.mark.parametrize(
    ("word", "level"),
    [("WARNING", Level.WARN), ("[err]", Level.ERROR), ("E", Level.ERROR), ("crit", Level.FATAL),
     ("notice", Level.INFO), ("finest", Level.TRACE), ("7", Level.DEBUG), ("chatty", None)],
)  # fmt: skip
def test_levels_map_onto_one_scale(word: str, level: Level | None) -> None:
    assert normalize_level(word) is level


def test_traceparent_and_trace_id_keys_in_fields_or_text() -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert parse_traceparent(parent) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert extract_trace({"traceparent": parent}, "") == parse_traceparent(parent)
    assert extract_trace({}, f"handled traceparent={parent} ok") == parse_traceparent(parent)
    assert extract_trace({}, "trace_id=4BF92F3577B34DA6A3CE929D0E0E4736 done") == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        None,
    )


@pytest.mark.parametrize(
    "text",
    [
        "traceparent=00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "traceparent=ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e47361",
        "request_id=4bf92f3577b34da6a3ce929d0e0e4736",
    ],
)
def test_invalid_or_unlabelled_ids_are_not_traces(text: str) -> None:
    assert extract_trace({}, text) == (None, None)


def test_a_payload_keeps_its_service_host_and_level_and_gains_the_line_time() -> None:
    enricher = Enricher(environment="staging")
    log = enricher.enrich_payload(
        {
            "timestamp": "2030-01-01T00:00:00Z",
            "service": "api",
            "host": "api-1",
            "level": None,
            "message": f"2024-01-02 03:04:05 ERROR web: boom trace_id={TRACE}",
            "attributes": {"region": "eu"},
        }
    )
    assert log.timestamp == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (log.service, log.host, log.level, log.environment) == (
        "api",
        "api-1",
        Level.ERROR,
        "staging",
    )
    assert log.trace_id == TRACE
    payload = log.as_payload(REFERENCE)
    assert payload["attributes"]["region"] == "eu"
    assert payload["attributes"]["environment"] == "staging"
    assert payload["timestamp"] == "2024-01-02T03:04:05+00:00"


def test_a_plain_line_keeps_the_payload_time_and_the_event_environment_wins() -> None:
    log = Enricher(environment="prod").enrich_payload(
        {"timestamp": "2024-01-02T03:04:05Z", "service": "s", "message": "plain words",
         "attributes": {"environment": "canary"}}
    )  # fmt: skip
    assert log.timestamp == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert log.environment == "canary"


def test_the_enricher_reads_its_sources_from_the_settings() -> None:
    settings = Settings(
        # "|" is regex alternation in this notation, so a literal bar is escaped.
        enrich_sources={"app": {"format": r"<Level>\|<Content>"}},
        enrich_environment="dev",
    )
    log = Enricher.from_settings(settings).enrich_line("WARN|disk", source="app")
    assert (log.level, log.message, log.environment) == (Level.WARN, "disk", "dev")
