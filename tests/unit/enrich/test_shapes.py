"""Each auto-detected line shape, on the examples of its specification or its tool's docs."""

from __future__ import annotations

import pytest

from opsassist.streams.enrich import Enricher


@pytest.fixture
def enricher() -> Enricher:
    return Enricher()


def test_json_lines_split_their_well_known_keys(enricher: Enricher) -> None:
    parsed = enricher.parse('{"time":"2024-01-02T03:04:05Z","level":"warn","msg":"slow","db":"a"}')
    assert parsed.format == "json"
    assert (parsed.timestamp, parsed.level, parsed.message) == (
        "2024-01-02T03:04:05Z",
        "warn",
        "slow",
    )
    assert parsed.fields == {"db": "a"}


def test_logfmt_lines_with_quoted_values(enricher: Enricher) -> None:
    parsed = enricher.parse('ts=2024-01-02T03:04:05Z level=info msg="user \\"x\\" in" dur=3ms')
    assert parsed.format == "logfmt"
    assert parsed.message == 'user "x" in'
    assert parsed.fields == {"dur": "3ms"}


def test_prose_with_one_equals_sign_is_not_logfmt(enricher: Enricher) -> None:
    assert enricher.parse("retry count=3 exceeded").format == "plain"


def test_rfc5424_with_structured_data(enricher: Enricher) -> None:
    line = (
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        '[exampleSDID@32473 iut="3" eventSource="Application"] An application event'
    )
    parsed = enricher.parse(line)
    assert parsed.format == "syslog-rfc5424"
    assert parsed.host == "mymachine.example.com"
    assert parsed.level == "INFO"  # severity 165 & 7 = 5, notice
    assert parsed.message == "An application event"
    assert parsed.fields["structured_data"] == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application"}
    }


@pytest.mark.parametrize(
    "line",
    [
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        "Oct 11 22:14:15 mymachine sshd[4721]: 'su root' failed for lonvick on /dev/pts/8",
    ],
)
def test_rfc3164_with_and_without_priority(enricher: Enricher, line: str) -> None:
    parsed = enricher.parse(line)
    assert parsed.format == "syslog-rfc3164"
    assert parsed.host == "mymachine"
    assert parsed.timestamp == "Oct 11 22:14:15"
    assert parsed.message == "'su root' failed for lonvick on /dev/pts/8"


def test_combined_access_log(enricher: Enricher) -> None:
    line = (
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
        '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
    )
    parsed = enricher.parse(line)
    assert parsed.format == "access-log"
    assert parsed.fields["remote_addr"] == "127.0.0.1"
    assert parsed.fields["remote_user"] == "frank"
    assert parsed.fields["status"] == "200"
    assert parsed.fields["path"] == "/apache_pb.gif"
    assert parsed.message == "GET /apache_pb.gif HTTP/1.0 200"


@pytest.mark.parametrize(
    ("line", "level", "component", "message"),
    [
        (
            "2024-01-02 03:04:05,678 INFO [main] com.example.App: started in 3s",
            "INFO",
            "com.example.App",
            "started in 3s",
        ),
        (
            "2024-01-02 03:04:05.678 ERROR payments.charge - card declined",
            "ERROR",
            "payments.charge",
            "card declined",
        ),
        (
            "24/01/02 03:04:05 WARN storage.BlockManager: disk almost full",
            "WARN",
            "storage.BlockManager",
            "disk almost full",
        ),
        (
            "2024-01-02T03:04:05Z - INFO  [worker[1]/main:Sync@12] - caught up",
            "INFO",
            None,
            "caught up",
        ),
    ],
)
def test_the_date_time_level_component_message_family(
    enricher: Enricher, line: str, level: str, component: str | None, message: str
) -> None:
    parsed = enricher.parse(line)
    assert parsed.format == "logger"
    assert parsed.level == level
    assert parsed.fields.get("component") == component
    assert parsed.message == message


def test_apache_24_error_log_with_module_pid_and_client(enricher: Enricher) -> None:
    parsed = enricher.parse(
        "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] "
        "[client 72.15.99.187:50620] File does not exist: /x"
    )
    assert parsed.format == "apache-error"
    assert parsed.timestamp == "Wed Oct 11 14:32:52.123456 2000"
    assert parsed.fields == {
        "module": "core",
        "pid": "35708",
        "tid": "4328636416",
        "client": "72.15.99.187:50620",
    }
    assert parsed.message == "File does not exist: /x"


def test_apache_error_log_and_logcat(enricher: Enricher) -> None:
    apache = enricher.parse("[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] File not found")
    assert (apache.format, apache.level, apache.message) == (
        "apache-error",
        "error",
        "File not found",
    )
    logcat = enricher.parse("03-17 16:13:38.811  1702  2395 D WindowManager: freezing display")
    assert (logcat.format, logcat.level, logcat.message) == ("logcat", "D", "freezing display")


def test_a_line_no_shape_fits_is_all_message(enricher: Enricher) -> None:
    parsed = enricher.parse("something happened\r\n")
    assert (parsed.format, parsed.message, parsed.timestamp) == (
        "plain",
        "something happened",
        None,
    )
