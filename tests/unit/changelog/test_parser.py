"""The parser on the Conventional Commits 1.0 specification's own examples and on edge cases."""

from __future__ import annotations

import pytest

from opsassist.streams.changelog import InvalidCommit, parse_commit

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_spec_example_breaking_change_footer() -> None:
    c = parse_commit(
        SHA,
        "feat: allow provided config object to extend other configs\n\n"
        "BREAKING CHANGE: `extends` key in config file is now used for extending other "
        "config files",
    )
    assert (c.type, c.scope, c.conventional, c.breaking) == ("feat", None, True, True)
    assert c.description == "allow provided config object to extend other configs"
    assert c.breaking_description is not None
    assert c.breaking_description.startswith("`extends` key")
    assert c.body == ""


@pytest.mark.parametrize(
    ("message", "scope"),
    [
        ("feat!: send an email to the customer when a product is shipped", None),
        ("feat(api)!: send an email to the customer when a product is shipped", "api"),
    ],
)
def test_spec_example_bang_draws_attention_to_breaking_change(message: str, scope: str) -> None:
    c = parse_commit(SHA, message)
    assert c.breaking and c.type == "feat" and c.scope == scope
    assert c.description == "send an email to the customer when a product is shipped"


def test_spec_example_bang_and_footer() -> None:
    c = parse_commit(
        SHA,
        "chore!: drop support for Node 6\n\n"
        "BREAKING CHANGE: use JavaScript features not available in Node 6.",
    )
    assert c.breaking and c.type == "chore"
    assert c.breaking_description == "use JavaScript features not available in Node 6."


def test_spec_example_no_body_and_scope() -> None:
    assert parse_commit(SHA, "docs: correct spelling of CHANGELOG").type == "docs"
    c = parse_commit(SHA, "feat(lang): add Polish language")
    assert (c.type, c.scope, c.description, c.breaking) == (
        "feat",
        "lang",
        "add Polish language",
        False,
    )


def test_spec_example_multi_paragraph_body_and_several_footers() -> None:
    c = parse_commit(
        SHA,
        "fix: prevent racing of requests\n\n"
        "Introduce a request id and a reference to latest request. Dismiss\n"
        "incoming responses other than from latest request.\n\n"
        "Remove timeouts which were used to mitigate the racing issue but are\n"
        "obsolete now.\n\n"
        "Reviewed-by: Z\n"
        "Refs: #123",
    )
    assert c.body.startswith("Introduce a request id")
    assert c.body.endswith("obsolete now.")
    assert [(f.token, f.value) for f in c.footers] == [("Reviewed-by", "Z"), ("Refs", "#123")]
    assert c.issues == (123,)
    assert not c.breaking


def test_spec_revert_with_refs_footer() -> None:
    c = parse_commit(
        SHA, "revert: let us never again speak of the noodle incident\n\nRefs: 676104e, a215868"
    )
    assert c.type == "revert" and c.conventional
    assert c.footers[0].value == "676104e, a215868"


def test_breaking_change_hyphen_token_is_a_synonym() -> None:
    c = parse_commit(SHA, "fix(db): new index\n\nBREAKING-CHANGE: needs a migration")
    assert c.breaking and c.breaking_description == "needs a migration"


def test_breaking_change_must_be_upper_case() -> None:
    assert not parse_commit(SHA, "fix: x\n\nbreaking change: not a breaking footer").breaking


def test_breaking_change_line_inside_body_is_not_lost() -> None:
    # A footer followed by another prose paragraph is, strictly, body text; we still see it.
    c = parse_commit(SHA, "feat: x\n\nBREAKING CHANGE: the API moved\n\nMore prose here.")
    assert c.breaking and c.breaking_description == "the API moved"


def test_type_is_case_insensitive() -> None:
    c = parse_commit(SHA, "FEAT(Api): shout")
    assert (c.type, c.scope, c.conventional) == ("feat", "Api", True)


def test_missing_space_after_colon_is_not_conventional_but_kept() -> None:
    c = parse_commit(SHA, "fix:handle null ids")
    assert not c.conventional
    assert c.description == "fix:handle null ids"
    assert c.type == "fix"  # the heuristic's first-word rule


def test_multi_line_footer_value_and_hash_separator() -> None:
    c = parse_commit(SHA, "fix: y\n\nbody\n\nCloses #12\nNote: first line\n  continued")
    assert [f.token for f in c.footers] == ["Closes", "Note"]
    assert c.footers[1].value == "first line\ncontinued"
    assert c.issues == (12,)


def test_squash_merge_title_yields_pull_request_number() -> None:
    c = parse_commit(SHA, "feat(config): support remote URL (#1083)")
    assert c.pull_request == 1083
    assert c.description == "support remote URL"
    two = parse_commit(SHA, "feat(git): no topo sort (#804) (#1121)")
    assert two.pull_request == 1121 and two.issues == (804,)


def test_git_revert_message() -> None:
    c = parse_commit(
        SHA,
        'Revert "fix(hooks): remove magic constants (#1815)"\n\n'
        "This reverts commit 047c914a1b2c3d4e5f60718293a4b5c6d7e8f901.",
    )
    assert c.type == "revert" and c.conventional
    assert c.description == "fix(hooks): remove magic constants (#1815)"
    assert c.revert_of == "047c914a1b2c3d4e5f60718293a4b5c6d7e8f901"


def test_merge_commit_of_a_pull_request() -> None:
    c = parse_commit(
        SHA, "Merge pull request #42 from me/branch\n\nfeat(ui): dark mode", parents=("a", "b")
    )
    assert c.merge and c.pull_request == 42
    assert (c.type, c.scope, c.description) == ("feat", "ui", "dark mode")
    plain = parse_commit(SHA, "Merge branch 'main' into topic", parents=("a", "b"))
    assert plain.merge and plain.type == "merge" and not plain.conventional


def test_crlf_messages_parse_like_lf() -> None:
    lf = parse_commit(SHA, "fix(a): b\n\nbody\n\nRefs: #1")
    crlf = parse_commit(SHA, "fix(a): b\r\n\r\nbody\r\n\r\nRefs: #1")
    assert lf == crlf


def test_empty_scope_is_no_scope() -> None:
    assert parse_commit(SHA, "fix(): b").scope is None


def test_empty_message_or_hash_is_an_error() -> None:
    with pytest.raises(InvalidCommit):
        parse_commit(SHA, "   \n\nbody")
    with pytest.raises(InvalidCommit):
        parse_commit("", "fix: x")
