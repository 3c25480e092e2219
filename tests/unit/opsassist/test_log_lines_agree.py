"""`opsassist templates`/`summarize`, `opsassist produce` and the worker read a log line alike:
the same message, level and time, because all three go through ``streams/enrich``.

The worker's reading is the reference: ``Enricher.enrich_line`` on the raw line, with the
header format configured for the service when the CLI is given one, as ``/ingest/logs`` text
lines reach it. Real lines: every line of the Loghub 2k files (with and without their header
format) and of the demo NDJSON, plus JSON lines with other loggers' keys, lines without a
level and lines in each timestamp layout the worker knows.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.templates import FORMATS  # the headers as a user configures them; one copy
from opsassist.cli import app
from opsassist.cli.logs import read_lines, read_messages
from opsassist.cli.readers import log_events_from_file
from opsassist.settings import PROJECT_ROOT, Settings, get_settings
from opsassist.streams.agents.sanitize import _log_fields
from opsassist.streams.enrich import Enricher, compile_log_format

LOGHUB = Settings().eval_data / "loghub_2k"
DEMO_LOGS = PROJECT_ROOT / "cli" / "demo" / "logs.ndjson"

# Lines whose keys, levels or times differ from the demo's: ECS, zap (float epoch seconds),
# Google Cloud's severity, pino/bunyan-style short keys, Python's logging names, a JSON line
# without a message key and one whose message key holds an object.
ODD_JSON = [
    '{"@timestamp": "2024-01-02T03:04:05.123Z", "log.level": "warning", '
    '"message": "disk 91% full", "host.name": "db-1", "service.name": "pg"}',
    '{"level": "error", "ts": 1700000000.25, "caller": "db/pool.go:41", '
    '"msg": "dial tcp 10.0.0.7:5432: i/o timeout"}',
    '{"time": "2024-01-02T03:04:05+01:00", "severity": "ERROR", "text": "quota exceeded"}',
    '{"t": 1700000000123, "lvl": "dbg", "@message": "cache miss for key 42", "hostname": "c-3"}',
    '{"timestamp": "2024-01-02 03:04:05,678", "levelname": "INFO", "msg": "worker ready", '
    '"app": "billing"}',
    '{"no": "message here", "level": "INFO"}',
    '{"message": {"nested": 1}, "log": "flat text wins", "ts": "2024-01-02T03:04:05"}',
    '{"timestamp": "2024-01-02T03:04:05Z", "message": "", "msg": "second key", "level": "W"}',
]
# No level anywhere, or a level word only inside the prose (not where a logger writes it).
WITHOUT_LEVEL = [
    "plain text with nothing to parse",
    "the job finished with 0 ERROR lines and one WARNING",
    "retry count=3 exceeded",
    "Connection reset by peer",
]
# One line per layout: ISO with T and zone, log4j's comma, Python's logging, slash dates,
# syslog (BSD and RFC 5424), Apache access and error logs (ctime), nginx's error log, logcat,
# logfmt with an epoch, Go's log package.
LAYOUTS = [
    "2024-01-02T03:04:05.123+02:00 INFO [main] com.example.App: started in 2.1 s",
    "2024-01-02 03:04:05,678 ERROR [pool-1-thread-3] o.a.k.Sender - send failed",
    "2024-01-02 03:04:05,678 - payments - WARNING - card declined",
    "2024/01/02 03:04:05 [warn] 1234#0: *56 upstream timed out while reading response",
    "Oct 11 22:14:15 mymachine sshd[4721]: Failed password for root from 10.0.0.1 port 22",
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - An application event",
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
    "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
    "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 1.2.3.4] "
    "File does not exist: /usr/local/apache2/htdocs/favicon.ico",
    "12-17 19:31:36.263  1795  1825 W PowerManager: acquire lock=233570404",
    'ts=1700000000 level=warn msg="slow request" path=/v1/orders dur=1.2s',
    "2024/01/02 03:04:05 http: TLS handshake error from 10.0.0.9:53412: EOF",
    "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers",
]


Reading = tuple[str, str, datetime | None]  # message, level ('' for none), time


def worker_readings(lines: list[str], service: str, log_format: str | None) -> list[Reading]:
    """The worker's reading of each raw line, in file order (the enricher learns which shape a
    service's lines have, as a worker does)."""
    enricher = Enricher({service: {"format": log_format}} if log_format else None)
    readings = []
    for line in lines:
        log = enricher.enrich_line(line, source=service)
        readings.append((log.message, log.level.value if log.level else "", log.timestamp))
    return readings


def cli_readings(path: Path, log_format: str | None) -> list[Reading]:
    """``opsassist summarize``'s reading; ``opsassist templates`` reads the messages alone."""
    compiled = compile_log_format(log_format) if log_format else None
    readings = [
        (line.message, line.level, line.timestamp) for line in read_lines(path, compiled, None)
    ]
    assert list(read_messages(path, compiled)) == [message for message, _, _ in readings]
    return readings


def produced_readings(path: Path, service: str, log_format: str | None) -> list[Reading]:
    """What the worker makes of the events ``opsassist produce`` sends for the file."""
    enricher = Enricher({service: {"format": log_format}} if log_format else None)
    readings = []
    for event in log_events_from_file(path, service):
        log = enricher.enrich_payload(_log_fields(event.payload))
        readings.append((log.message, log.level.value if log.level else "", log.timestamp))
    return readings


def disagreements(ours: list[Reading], reference: list[Reading], lines: list[str]) -> list[str]:
    assert len(ours) == len(reference) == len(lines)
    return [
        f"{line!r}: {mine} != worker {theirs}"
        for line, mine, theirs in zip(lines, ours, reference, strict=True)
        if mine != theirs
    ]


def file_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line.rstrip("\r") for line in text.splitlines() if line.strip()]


def loghub_file(system: str) -> Path:
    path = LOGHUB / system / f"{system}_2k.log"
    if not path.exists():
        pytest.skip(f"Loghub data not found at {path} (set OPSASSIST_EVAL_DATA)")
    return path


@pytest.fixture
def odd_lines_file(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.log"
    lines = [*ODD_JSON, *WITHOUT_LEVEL, *LAYOUTS, *file_lines(DEMO_LOGS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("system", sorted(FORMATS))
@pytest.mark.parametrize("configured", [True, False], ids=["format", "auto"])
def test_the_cli_reads_loghub_lines_as_the_worker_does(system: str, configured: bool) -> None:
    path = loghub_file(system)
    log_format = FORMATS[system] if configured else None
    lines = file_lines(path)
    reference = worker_readings(lines, system, log_format)
    assert disagreements(cli_readings(path, log_format), reference, lines) == []


def test_the_cli_reads_json_levelless_and_every_layout_as_the_worker_does(
    odd_lines_file: Path,
) -> None:
    lines = file_lines(odd_lines_file)
    reference = worker_readings(lines, "mixed", None)
    assert disagreements(cli_readings(odd_lines_file, None), reference, lines) == []


@pytest.mark.parametrize("system", ["Android", "OpenSSH", "Zookeeper"])
def test_produced_loghub_events_end_as_the_raw_lines_do(system: str) -> None:
    path = loghub_file(system)
    lines = file_lines(path)
    reference = worker_readings(lines, system, FORMATS[system])
    produced = produced_readings(path, system, FORMATS[system])
    # A line without a time of its own is stamped when it was produced; only times that the
    # line carries can agree.
    produced = [
        (message, level, stamp if ref[2] is not None else None)
        for (message, level, stamp), ref in zip(produced, reference, strict=True)
    ]
    assert disagreements(produced, reference, lines) == []


def test_produced_json_levelless_and_layout_events_end_as_the_raw_lines_do(
    odd_lines_file: Path,
) -> None:
    lines = file_lines(odd_lines_file)
    reference = worker_readings(lines, "mixed", None)
    produced = [
        (message, level, stamp if ref[2] is not None else None)
        for (message, level, stamp), ref in zip(
            produced_readings(odd_lines_file, "mixed", None), reference, strict=True
        )
    ]
    assert disagreements(produced, reference, lines) == []


def test_a_time_format_the_worker_refuses_is_refused_by_the_cli_with_its_reason(
    odd_lines_file: Path,
) -> None:
    """``%j`` (day of the year) is one strptime knows but the worker's source configuration
    does not: the CLI says so instead of reading times the worker never would."""
    result = CliRunner().invoke(
        app,
        [
            "summarize",
            str(odd_lines_file),
            *("--format", "<Date> <Time> <Content>", "--time-format", "%Y %j"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "%j is not supported" in result.output


def test_templates_use_the_format_the_worker_has_configured_for_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --format, a service's lines are split by its OPSASSIST_ENRICH_SOURCES format, as
    the worker splits them, so the header is not mined into the templates."""
    path = tmp_path / "health.log"
    path.write_text(
        "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579\n"
        "20171223-22:15:29:615|Step_LSC|30002312|onStandStepChanged 3580\n"
        "20171223-22:15:29:633|Step_StandReportReceiver|30002312|onReceive action: screen_on\n",
        encoding="utf-8",
    )
    out = tmp_path / "templates.csv"
    sources = '{"health": {"format": "<Time>|<Component>|<Pid>|<Content>"}}'
    monkeypatch.setenv("OPSASSIST_ENRICH_SOURCES", sources)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["templates", str(path), "--service", "health", "--out", str(out)]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        templates = [row["EventTemplate"] for row in csv.DictReader(handle)]
    assert templates == [
        "onStandStepChanged <*>",
        "onStandStepChanged <*>",
        "onReceive action: screen_on",
    ]
