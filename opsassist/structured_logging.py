"""structlog set-up: JSON lines on stderr, the standard library (Faust, uvicorn) routed through it.

Every line an event's processing writes carries that event's ``trace_id``; it is bound with
``structlog.contextvars.bound_contextvars(trace_id=...)`` around the work for the event.

Every line goes through the redaction policy last, whoever wrote it: our code logs redacted
events, but a library's debug line (Faust logs each record it sends) or an error message that
quotes a value would otherwise put personal data in the logs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Protocol

import structlog


class _Redacted(Protocol):
    @property
    def text(self) -> str: ...


class Redactor(Protocol):
    """What logging needs of the privacy engine (``opsassist.streams.privacy.Redactor``), named
    here so that the ground floor does not import the stage that implements it."""

    def redact_text(self, text: str, /) -> _Redacted: ...


# Fields our logging itself writes: never personal, not worth scanning.
_PLAIN_FIELDS = frozenset({"level", "logger", "timestamp", "trace_id", "topic", "kind"})


class RedactLogValues:
    """A structlog processor: every text value of a log line through the redactor."""

    def __init__(self, redactor: Redactor) -> None:
        self._redact = redactor.redact_text

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event_dict.items():
            if key in _PLAIN_FIELDS:
                continue
            if isinstance(value, str):
                event_dict[key] = self._redact(value).text
            elif not (isinstance(value, int | float | bool) or value is None):
                event_dict[key] = self._redact(str(value)).text
        return event_dict


def configure_logging(
    level: str = "INFO", fmt: str = "json", redactor: Redactor | None = None
) -> None:
    """JSON (or console) lines on stderr; with ``redactor``, every line redacted (see above)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *([RedactLogValues(redactor)] if redactor is not None else []),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
