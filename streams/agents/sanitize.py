"""The first step of every agent after decoding: enrich log events, then redact every event, so
that nothing downstream — the rows, the stages that derive data from them, the LLM, the logs —
ever sees an unredacted value.

``EventSanitizer.sanitize`` takes a batch of decoded events of one kind and returns the redacted
copies with their redaction records (types and counts, never values). The originals stay only on
the raw topics and, for events that fail, the dead-letter topic, each for its retention
(docs/privacy.md, "Where originals remain").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from opsassist.schemas import AnyEvent, InvalidEvent, LogEvent, TicketComment, TicketEvent
from opsassist.schemas.envelope import LogPayloadV1
from opsassist.streams.enrich import Enricher
from opsassist.streams.privacy import RedactionRecord, Redactor, count_redactions

_NOTHING = RedactionRecord({})


class EventSanitizer:
    """Enrichment and redaction for the worker; one per process, shared by every agent."""

    def __init__(self, enricher: Enricher, redactor: Redactor) -> None:
        self.enricher = enricher
        self.redactor = redactor

    def sanitize(self, events: Sequence[AnyEvent]) -> list[tuple[AnyEvent, RedactionRecord]]:
        """The redacted copy of each event and what was redacted from it; counts the batch
        into ``opsassist_pii_redactions_total``."""
        if not events:
            return []
        if isinstance(events[0], LogEvent):
            results = self._logs(events)  # type: ignore[arg-type]
        else:
            results = [self._other(event) for event in events]
        count_redactions(record for _, record in results)
        return results

    def refusal(self, event: AnyEvent) -> InvalidEvent | None:
        """Why the event must not be stored at all, or None (see :func:`identifier_refusal`)."""
        return identifier_refusal(self.redactor, event)

    def redact_text(self, text: str) -> str:
        """Free text (a reason, an error message) as it may be logged."""
        return self.redactor.redact_text(text).text

    def _logs(self, events: Sequence[LogEvent]) -> list[tuple[AnyEvent, RedactionRecord]]:
        enriched = self.enricher.enrich_batch([_log_fields(event.payload) for event in events])
        redact = self.redactor.redact_payload
        out: list[tuple[AnyEvent, RedactionRecord]] = []
        for event, log in zip(events, enriched, strict=True):
            p = event.payload
            attributes: dict[str, Any] = log.fields
            attributes["format"] = log.format
            if log.environment:
                attributes["environment"] = log.environment
            if log.span_id:
                attributes["span_id"] = log.span_id
            result = redact({"host": log.host, "message": log.message, "attributes": attributes})
            redacted = result.payload
            payload = LogPayloadV1.model_construct(
                timestamp=log.timestamp or p.timestamp,
                service=p.service,
                host=redacted.get("host"),
                level=log.level.value if log.level else p.level,
                message=redacted.get("message", ""),
                attributes=redacted.get("attributes", {}),
            )
            update: dict[str, Any] = {"payload": payload}
            if event.trace_id is None and log.trace_id:
                update["trace_id"] = log.trace_id
            out.append((event.model_copy(update=update), result.record))
        return out

    def _other(self, event: AnyEvent) -> tuple[AnyEvent, RedactionRecord]:
        p = event.payload
        fields = p.model_dump()
        if "comment" in fields and fields["comment"] is None:
            # A ticket event without a comment: nothing to redact, and the policy would count
            # (and mask) the empty field as unlisted. ``_complete`` puts the None back.
            del fields["comment"]
        result = self.redactor.redact_payload(fields)
        if not result.record.counts:
            return event, _NOTHING
        model = type(p)  # the newest version of the kind: decoding upcasts
        values = _complete(model, result.payload)
        if isinstance(values.get("comment"), dict):  # a ticket's comment, redacted like its body
            values["comment"] = TicketComment.model_construct(
                **_complete(TicketComment, values["comment"])
            )
        payload = model.model_construct(**values)
        return event.model_copy(update={"payload": payload}), result.record


#: Ticket fields stored exactly as sent because they key the ticket: redacting one would merge
#: two tickets (two masked ids are equal) or lose the link to the source system.
EXACT_TICKET_FIELDS = ("external_id", "source_system")


def identifier_refusal(redactor: Redactor, event: AnyEvent) -> InvalidEvent | None:
    """An event whose exact-value identifiers hold personal data (a card number or an IBAN as a
    ticket's id: the schema checks the shape, which digits alone pass) is bad input, refused
    with the types found, never the value."""
    if not isinstance(event, TicketEvent):
        return None
    for name in EXACT_TICKET_FIELDS:
        found = sorted({span.type.value for span in redactor.find(getattr(event.payload, name))})
        if found:
            return InvalidEvent(
                "personal_data_in_identifier",
                f"{name} holds personal data ({', '.join(found)}); an identifier is stored "
                "exactly as sent, so it must not",
            )
    return None


def _log_fields(p: LogPayloadV1) -> dict[str, Any]:
    return {
        "timestamp": p.timestamp,
        "service": p.service,
        "host": p.host,
        "level": p.level,
        "message": p.message,
        "attributes": p.attributes,
    }


def _complete(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """A field the policy dropped (action ``drop``) gets an empty value of its type, so the
    payload keeps its shape: '' for text, [] for lists, None otherwise."""
    for name, info in model.model_fields.items():
        if name not in values:
            origin = info.annotation
            values[name] = "" if origin is str else [] if _is_list(origin) else None
    return values


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list
