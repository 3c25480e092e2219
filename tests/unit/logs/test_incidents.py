from datetime import timedelta

from opsassist.streams.logs import (
    IncidentDetector,
    IncidentStatus,
    Severity,
    TemplateMiner,
    TransitionKind,
    WindowSummarizer,
    WindowSummary,
)

from .records import traffic


def run(plan: list[tuple[int, int]], **detector: int) -> list:
    """Feed minutes of (ok, errors) through windows and the detector; return the transitions."""
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1), min_history=3)
    incidents = IncidentDetector(min_errors=10, quiet_windows=2, **detector)
    summaries: list[WindowSummary] = []
    for minute, (ok, errors) in enumerate(plan):
        summaries += summarizer.add_many(traffic(miner, minute, ok=ok, errors=errors))
    summaries += summarizer.flush()
    return [t for s in summaries for t in incidents.observe(s)]


def test_an_error_burst_opens_an_incident_that_updates_and_then_resolves() -> None:
    calm = [(50, 2)] * 5
    transitions = run([*calm, (50, 30), (50, 80), *calm])
    assert [t.kind for t in transitions] == [
        TransitionKind.OPENED,
        TransitionKind.UPDATED,
        TransitionKind.RESOLVED,
    ]
    opened, updated, resolved = (t.incident for t in transitions)
    assert opened.service == "payments-api" and opened.severity is Severity.MAJOR
    assert updated.severity is Severity.CRITICAL and updated.peak_errors == 80
    assert resolved.status is IncidentStatus.RESOLVED and resolved.resolved_at is not None
    assert opened.id == updated.id == resolved.id
    assert opened.template_ids, "the incident names the templates involved"


def test_errors_at_the_usual_level_open_nothing() -> None:
    assert run([(50, 20)] * 10) == []


def test_a_burst_of_new_error_templates_opens_a_warning() -> None:
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1), min_history=3)
    detector = IncidentDetector(new_error_templates=3, min_errors=1000)
    summaries = []
    for minute in range(4):
        summaries += summarizer.add_many(traffic(miner, minute, ok=20, errors=1))
    for kind in ["disk full on {i}", "queue {i} rejected", "schema mismatch in v{i}"]:
        summaries += summarizer.add_many(traffic(miner, 4, ok=0, errors=1, error_text=kind))
    summaries += summarizer.flush()
    transitions = [t for s in summaries for t in detector.observe(s)]
    assert [(t.kind, t.incident.severity) for t in transitions] == [
        (TransitionKind.OPENED, Severity.WARNING)
    ]
    assert len(transitions[0].incident.template_ids) == 3


def test_a_detector_given_a_stored_open_incident_resolves_it_after_quiet_windows() -> None:
    transitions = run([(50, 2)] * 5 + [(50, 80)])
    (opened,) = (t.incident for t in transitions if t.kind is TransitionKind.OPENED)
    # a new detector (a restarted worker) is told of the incident, then sees quiet windows
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1), min_history=3)
    detector = IncidentDetector(min_errors=10, quiet_windows=2)
    detector.restore("payments-api", opened)
    assert detector.open_incidents() == [opened]
    summaries: list[WindowSummary] = []
    for minute in range(10, 14):
        summaries += summarizer.add_many(traffic(miner, minute, ok=50, errors=0))
    later = [t for s in summaries for t in detector.observe(s)]
    assert [(t.kind, t.incident.id) for t in later] == [(TransitionKind.RESOLVED, opened.id)]
    detector.restore("payments-api", None)
    assert detector.open_incidents() == []
