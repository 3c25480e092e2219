import json
from datetime import timedelta

from opsassist.streams.logs import LogLine, LogStage, LogStageConfig, TransitionKind

from .records import T0


def lines(minute: int, ok: int, errors: int, service: str = "payments-api") -> list[LogLine]:
    out = []
    for i in range(ok + errors):
        is_error = i < errors
        out.append(
            LogLine(
                service=service,
                timestamp=T0 + timedelta(minutes=minute, seconds=i * 59 / (ok + errors)),
                level="ERROR" if is_error else "INFO",
                message=f"Timeout connecting to db-{i % 7}:5432"
                if is_error
                else f"GET /orders/{i} 200 in {i % 40} ms",
            )
        )
    return out


def one_minute_stage() -> LogStage:
    return LogStage(LogStageConfig(windows=(timedelta(minutes=1),), min_history=3, quiet_windows=2))


def test_a_burst_through_the_stage_opens_and_then_resolves_an_incident() -> None:
    stage = one_minute_stage()
    plan = [(40, 1)] * 5 + [(40, 60)] + [(40, 1)] * 4
    transitions = []
    for minute, (ok, errors) in enumerate(plan):
        transitions += stage.process(lines(minute, ok, errors)).transitions
    transitions += stage.flush().transitions
    assert [t.kind for t in transitions] == [TransitionKind.OPENED, TransitionKind.RESOLVED]
    assert transitions[0].summary.start == T0 + timedelta(minutes=5)


def test_lines_of_a_batch_carry_the_ids_they_have_at_its_end() -> None:
    stage = one_minute_stage()
    batch = [
        LogLine("auth", T0, "WARN", f"user {name} locked out after failures")
        for name in ["alice", "bob", "carol"]
    ]
    result = stage.process(batch)
    assert len({mined.template_id for mined in result.lines}) == 1
    assert [mined.parameters for mined in result.lines] == [("alice",), ("bob",), ("carol",)]
    assert result.id_changes, "the generalization is reported for lines stored earlier"


def test_services_have_their_own_templates_and_states_survive_a_restart() -> None:
    stage = one_minute_stage()
    first = stage.process(lines(0, 5, 5, "api") + lines(0, 5, 5, "worker"))
    states = json.loads(json.dumps(stage.miner_states()))
    assert set(states) == {"api", "worker"}
    by_service = {m.line.service: m.template_id for m in first.lines if m.line.level == "ERROR"}
    assert by_service["api"] != by_service["worker"]

    restarted = one_minute_stage()
    restarted.restore_miners(states)
    again = restarted.process(lines(1, 5, 5, "api"))
    assert {m.template_id for m in again.lines} <= {m.template_id for m in first.lines}


def test_the_config_follows_the_settings() -> None:
    from opsassist.settings import Settings

    config = LogStageConfig.from_settings(Settings(logs_window_seconds=[30], logs_variants=4))
    assert config.windows == (timedelta(seconds=30),)
    assert config.variants == 4
