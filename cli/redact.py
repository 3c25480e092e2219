"""``opsassist redact``: personal data and secrets out of text on stdin, with the same policy
the pipeline uses; optionally parsing each line as a log format first."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import orjson
import typer
from rich.console import Console

# The settings and the stages load inside the command: the CLI starts without them
# (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    from opsassist.streams.enrich import Enricher
    from opsassist.streams.privacy import Redactor

console = Console(stderr=True)
_SOURCE = "cli"


def redact(
    spans: Annotated[
        bool,
        typer.Option(
            "--spans",
            help="Write one JSON line per input line with the spans found (type, start, end) "
            "instead of the redacted text.",
        ),
    ] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Parse each line first: 'auto' recognises JSON, logfmt, syslog, access logs and "
            "'date time level component: message'; or a header format such as "
            "'<Date> <Time> <Level> <Component>: <Content>'. Writes one JSON event per line.",
        ),
    ] = None,
    timestamp_format: Annotated[
        str | None,
        typer.Option(help="strptime format of <Date> <Time> for a header --format."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(help="A redaction policy (TOML) instead of the configured one."),
    ] = None,
) -> None:
    """Read text on stdin, write it redacted to stdout (one output line per input line).

    Pseudonyms use OPSASSIST_PRIVACY_PSEUDONYM_KEY; without it they are written as masks.
    """
    from opsassist.settings import get_settings
    from opsassist.streams.enrich import SourceFormatError
    from opsassist.streams.privacy import PolicyError, Redactor, load_policy

    settings = get_settings()
    try:
        redactor = Redactor.from_settings(settings)
        if policy is not None:
            redactor = Redactor(
                load_policy(policy), settings.privacy_pseudonym_key.get_secret_value().encode()
            )
        enricher = _enricher(log_format, timestamp_format) if log_format else None
    except (PolicyError, SourceFormatError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    # Logs are not always valid UTF-8; a bad byte becomes U+FFFD instead of ending the run.
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    write_redacted(lines, sys.stdout, redactor, enricher, spans=spans)


def _enricher(log_format: str, timestamp_format: str | None) -> Enricher:
    from opsassist.streams.enrich import Enricher

    if log_format == "auto":
        return Enricher()
    source: dict[str, str] = {"format": log_format}
    if timestamp_format:
        source["timestamp"] = timestamp_format
    return Enricher({_SOURCE: source})


def write_redacted(
    lines: TextIO,
    out: TextIO,
    redactor: Redactor,
    enricher: Enricher | None = None,
    *,
    spans: bool = False,
) -> None:
    """The command's loop, apart from the terminal, for tests."""
    now = datetime.now(UTC)
    for raw in lines:
        line = raw.rstrip("\r\n")
        if enricher is None:
            if spans:
                found = [span.as_dict() for span in redactor.find(line)]
                out.write(orjson.dumps({"spans": found}).decode() + "\n")
            else:
                out.write(redactor.redact_text(line).text + "\n")
            continue
        log = enricher.enrich_line(line, source=_SOURCE, reference=now)
        result = redactor.redact_payload(log.as_payload(now))
        event: dict[str, Any] = {**result.payload, "redactions": result.record.as_dict()}
        if spans:
            event["spans"] = [span.as_dict() for span in redactor.find(log.message)]
        out.write(orjson.dumps(event).decode() + "\n")
