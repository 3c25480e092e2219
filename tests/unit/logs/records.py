"""Building synthetic mined lines for the window and incident tests."""

from datetime import UTC, datetime, timedelta

from opsassist.streams.logs import LogRecord, TemplateMiner

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def traffic(
    miner: TemplateMiner,
    minute: int,
    *,
    ok: int,
    errors: int,
    error_text: str = "Timeout connecting to db-{i}:5432",
    service: str = "payments-api",
) -> list[LogRecord]:
    """``ok`` INFO lines and ``errors`` ERROR lines spread over one minute after T0."""
    out = []
    total = ok + errors
    for i in range(total):
        is_error = i < errors
        text = error_text.format(i=i % 7) if is_error else f"GET /orders/{i} 200 in {i % 50} ms"
        match = miner.add(text)
        out.append(
            LogRecord(
                service=service,
                timestamp=T0 + timedelta(minutes=minute, seconds=60 * i / total),
                level="ERROR" if is_error else "INFO",
                template_id=match.template_id,
                template=match.template,
                message=text,
                new_template=match.is_new,
            )
        )
    return out
