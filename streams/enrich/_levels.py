"""Severity words of every common logger, syslog and single-letter logcat levels, mapped onto one
scale so that queries and alerts need not know which library wrote a line."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    TRACE = "TRACE"
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"
    FATAL = "FATAL"


_WORDS: dict[str, Level] = {
    **dict.fromkeys(("trace", "finest", "finer", "verbose", "v"), Level.TRACE),
    **dict.fromkeys(("debug", "dbg", "fine", "config", "d", "7"), Level.DEBUG),
    **dict.fromkeys(
        ("info", "information", "informational", "notice", "i", "n", "5", "6"), Level.INFO
    ),
    **dict.fromkeys(("warn", "warning", "w", "4"), Level.WARN),
    **dict.fromkeys(("error", "err", "severe", "failure", "e", "3"), Level.ERROR),
    **dict.fromkeys(
        ("fatal", "critical", "crit", "alert", "emerg", "emergency", "panic", "f", "c", "a"),
        Level.FATAL,
    ),
    **dict.fromkeys(("0", "1", "2"), Level.FATAL),
}

# Syslog severities 0..7 (RFC 5424 section 6.2.1).
SYSLOG_SEVERITY: tuple[Level, ...] = (
    Level.FATAL,  # emergency
    Level.FATAL,  # alert
    Level.FATAL,  # critical
    Level.ERROR,
    Level.WARN,
    Level.INFO,  # notice
    Level.INFO,
    Level.DEBUG,
)


def normalize_level(text: str | None) -> Level | None:
    """The level a word names (any case, brackets and padding ignored; syslog numbers too),
    or None for a word that names none."""
    if not text:
        return None
    return _WORDS.get(text.strip(" []<>:").lower())
