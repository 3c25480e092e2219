"""The pure pieces of the GraphQL API: cursors, WHERE building, tokens, masking rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import jwt
import pytest

from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.masking import hidden, hr_in_any_version, masked_fields, refusal
from opsassist.api.graphql.sessions import InvalidToken, Sessions, password_problem
from opsassist.store.logs import LOG_EVENTS
from opsassist.store.paging import Cursor, InvalidCursor, Where
from opsassist.store.tickets import SORTS, TicketFilter
from opsassist.store.users import StoredUser

KEY = "unit-test-key-" + "x" * 40


def _sessions(minutes: float = 15) -> Sessions:
    return Sessions(KEY, timedelta(minutes=minutes), timedelta(days=1), bcrypt_rounds=4)


def _user(role: str = "ops") -> StoredUser:
    return StoredUser(7, "olivia", role, datetime.now(UTC), None, 1)


def test_a_cursor_round_trips_and_belongs_to_its_order() -> None:
    ts = datetime(2026, 1, 5, 9, 0, 1, 250, tzinfo=UTC)
    cursor = Cursor.of({"ts": ts, "event_id": "e1"}, LOG_EVENTS.sort)
    decoded = Cursor.decode(cursor.encode(), LOG_EVENTS.sort)
    assert decoded.values == (ts, "e1")
    with pytest.raises(InvalidCursor, match="another order"):
        Cursor.decode(cursor.encode(), SORTS["created_at"])
    for garbage in ("", "!!!", "bm90IGpzb24", "eyJzIjoidHMifQ"):
        with pytest.raises(InvalidCursor):
            Cursor.decode(garbage, LOG_EVENTS.sort)


def test_filters_bind_values_and_never_splice_them() -> None:
    hostile = "x'; DROP TABLE tickets; --"
    where = TicketFilter(statuses=[hostile], text="50%_off", text_skips_hr=True).where()
    assert hostile not in where.sql()
    assert where.args[0] == hostile  # one value: "status = $1", so an index can keep its order
    assert where.sql().startswith("status = $1 AND")
    assert where.args[1] == "%50\\%\\_off%"  # LIKE wildcards of the text are literal
    assert where.sql().count("$2") == 2  # title and body share one parameter
    assert Where().sql() == "true"
    several = TicketFilter(statuses=["open", hostile]).where()
    assert (several.sql(), several.args) == ("status = ANY($1::text[])", [["open", hostile]])


def test_access_tokens_carry_the_role_and_nothing_else_passes() -> None:
    sessions = _sessions()
    token, _ = sessions.access_token(_user("hr"))
    viewer = sessions.verify_access(token)
    assert (viewer.user_id, viewer.username, viewer.role) == (7, "olivia", "hr")
    claims = jwt.decode(token, KEY, algorithms=["HS256"])
    for changed in ({"role": "admin"}, {"typ": "refresh"}):
        forged = jwt.encode({**claims, **changed}, "other-key-" + "y" * 40, algorithm="HS256")
        with pytest.raises(InvalidToken):
            sessions.verify_access(forged)
    unknown_role = jwt.encode({**claims, "role": "root"}, KEY, algorithm="HS256")
    with pytest.raises(InvalidToken):
        sessions.verify_access(unknown_role)
    expired, _ = sessions.access_token(_user(), now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidToken, match="expired"):
        sessions.verify_access(expired)


def test_password_rules() -> None:
    assert password_problem("short") is not None
    assert password_problem("é" * 40) is not None  # 80 bytes: over bcrypt's 72
    assert password_problem("correct horse battery staple") is None


def test_masking_rules_by_role() -> None:
    hr_ticket = SimpleNamespace(category="hr", suggested_category=None)
    suggested_hr = SimpleNamespace(category=None, suggested_category="hr")
    bug = SimpleNamespace(category="bug", suggested_category=None)
    assert masked_fields("ops", "Ticket", bug) == ["reporterId"]
    assert masked_fields("ops", "Ticket", hr_ticket) == [
        "reporterId", "title", "body", "labels", "correction", "comments",  # comments: issue 29
    ]  # fmt: skip
    assert masked_fields("ops", "Ticket", suggested_hr) == masked_fields("ops", "Ticket", hr_ticket)
    for role in ("admin", "hr"):
        assert masked_fields(role, "Ticket", hr_ticket) == []
    assert hidden("ops", "Query", "users", None)
    assert hidden("hr", "Mutation", "createApiKey", None)
    assert not hidden("admin", "Query", "users", None)
    assert not hidden("ops", "Query", "tickets", None)


def test_a_ticket_that_was_hr_in_any_version_is_masked_as_hr_in_its_past() -> None:
    left_hr = [{"category": "hr", "title": "Complaint"}, {"category": "bug"}]
    suggested = [{"category": None, "suggested_category": "hr"}, {"suggested_category": None}]
    assert hr_in_any_version(left_hr) and hr_in_any_version(suggested)
    assert not hr_in_any_version([{"category": "bug"}, {"title": "hr"}])
    past = SimpleNamespace(category="bug", suggested_category=None, hr_in_history=True)
    assert masked_fields("ops", "Ticket", past) == masked_fields(
        "ops", "Ticket", SimpleNamespace(category="hr", suggested_category=None)
    )
    assert masked_fields("hr", "Ticket", past) == []


def test_ops_may_not_change_the_triage_of_an_hr_ticket() -> None:
    hr_ticket = SimpleNamespace(category="hr", suggested_category=None)
    bug = SimpleNamespace(category="bug", suggested_category=None)
    refused = refusal("ops", "Mutation", "correctTriage", hr_ticket)
    assert refused is not None and "admin, hr" in refused
    assert refusal("ops", "Mutation", "retriageTicket", hr_ticket) is not None
    assert refusal("ops", "Mutation", "correctTriage", bug) is None
    for role in ("admin", "hr"):
        assert refusal(role, "Mutation", "correctTriage", hr_ticket) is None
    assert refusal("admin", "Mutation", "retriageTicket", hr_ticket) is None


def test_ids() -> None:
    assert int_id("12") == 12
    assert int_id("x") is None
    assert int_id("0") is None
    assert int_id(str(2**63)) is None


def test_the_partial_index_of_sla_breaches_has_the_query_predicate() -> None:
    from opsassist.settings import PROJECT_ROOT
    from opsassist.store.tickets import UNRESOLVED

    migration = (PROJECT_ROOT / "migrations" / "0013_graphql_users.sql").read_text()
    assert f"WHERE {UNRESOLVED};" in migration


def test_api_workers_default_to_the_cores_but_at_most_eight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opsassist.cli.services import api_worker_count
    from opsassist.settings import Settings

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)))
    assert api_worker_count(Settings(api_workers=0)) == 8
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert api_worker_count(Settings(api_workers=0)) == 2
    assert api_worker_count(Settings(api_workers=12)) == 12
