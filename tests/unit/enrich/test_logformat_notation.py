"""Both ways of writing a header format: literal separators, as a person writes them, and
logparser's regular-expression fragments, so that published formats work unchanged."""

from __future__ import annotations

from opsassist.streams.enrich import compile_log_format

LINE = "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6"


def test_literal_brackets_need_no_escaping() -> None:
    fields = compile_log_format("[<Time>] [<Level>] <Content>").parse(LINE)
    assert fields == {
        "Time": "Sun Dec 04 04:47:44 2005",
        "Level": "error",
        "Content": "mod_jk child workerEnv in error state 6",
    }


def test_logparser_formats_with_backslashes_work_unchanged() -> None:
    assert compile_log_format(r"\[<Time>\] \[<Level>\] <Content>").parse(LINE) == (
        compile_log_format("[<Time>] [<Level>] <Content>").parse(LINE)
    )
    optional = compile_log_format(r"<Month> <Day> <Time> <Component>(\[<PID>\])?: <Content>")
    with_pid = optional.parse("Dec 10 06:55:46 sshd[24200]: Invalid user test")
    assert with_pid is not None
    assert (with_pid["Component"], with_pid["PID"]) == ("sshd", "24200")
    without = optional.parse("Dec 10 06:55:46 kernel: eth0 up")
    assert without is not None and without["Component"] == "kernel" and "PID" not in without


def test_a_literal_dot_or_parenthesis_is_not_a_pattern() -> None:
    fmt = compile_log_format("<Level> (<Component>) <Content>")
    assert fmt.parse("INFO (db.pool) ready") == {
        "Level": "INFO",
        "Component": "db.pool",
        "Content": "ready",
    }
    assert fmt.parse("INFO xdb.poolx ready") is None
