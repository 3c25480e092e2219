import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsassist.streams.logs import (
    TemplateCount,
    TemplateMiner,
    WindowSummarizer,
    WindowSummary,
    describe_window,
    summary_input,
)

from .records import traffic

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def window(errors: int, baseline: float | None, leader_errors: int) -> WindowSummary:
    leader = TemplateCount(
        template_id="a1",
        template="Timeout connecting to <*>:<*>",
        count=leader_errors,
        errors=leader_errors,
        example="Timeout connecting to <IP>:5432",
        first_seen=AT + timedelta(minutes=2),
    )
    return WindowSummary(
        service="payments-api",
        start=AT,
        end=AT + timedelta(minutes=5),
        total=errors * 2,
        errors=errors,
        counts_by_level={"ERROR": errors, "INFO": errors},
        top_templates=(leader,),
        top_error_templates=(leader,),
        new_templates=(),
        baseline_errors=baseline,
    )


def test_the_sentence_names_errors_baseline_share_and_first_seen() -> None:
    text = describe_window(window(3214, 267.8, 2507))
    assert text == (
        "payments-api: 3,214 errors in 5 min, 12 times its baseline; "
        "78% are 'Timeout connecting to <*>:<*>', first seen 10:02"
    )


def test_without_history_or_usual_errors_the_sentence_says_so() -> None:
    assert ", times" not in describe_window(window(10, None, 10))
    assert "usually logs none" in describe_window(window(10, 0.0, 10))


def test_the_llm_input_carries_statistics_and_redacted_examples_only() -> None:
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(
        timedelta(minutes=1), redact=lambda t: t.replace("db-", "<HOST>-")
    )
    summarizer.add_many(traffic(miner, 0, ok=5, errors=5))
    (summary,) = summarizer.flush()
    payload = summary_input(summary)
    dumped = json.dumps(payload.as_dict())
    assert "db-" not in dumped
    assert {t.template_id for t in payload.templates} >= {
        summary.top_error_templates[0].template_id
    }
    assert payload.deterministic_summary == describe_window(summary)


def test_summarize_command_prints_the_narrative_and_the_incident(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from opsassist.cli import app

    lines = []
    for minute in range(14):
        errors = 40 if minute in (8, 9) else 1
        for i in range(20 + errors):
            level = "ERROR" if i < errors else "INFO"
            text = (
                f"Timeout connecting to db-{i % 5}:5432" if level == "ERROR" else f"GET /x/{i} 200"
            )
            lines.append(f"2026-11-20 10:{minute:02d}:{i % 60:02d} {level} {text}")
    path = tmp_path / "payments-api.log"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        app, ["summarize", str(path), "--format", "<Date> <Time> <Level> <Content>"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("payments-api: 92 errors in 13 min")
    assert "[opened]" in result.output and "[resolved]" in result.output
