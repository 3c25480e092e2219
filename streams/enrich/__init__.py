"""Enrichment: parsing log lines into structured fields before anything else looks at them."""

from streams.enrich.logformat import LogFormat, compile_log_format

__all__ = ["LogFormat", "compile_log_format"]
