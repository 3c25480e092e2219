"""Conventional Commits 1.0 parsing: header, body, footers, breaking changes, reverts, merges.

The grammar is the specification's (https://www.conventionalcommits.org/en/v1.0.0/):
``type(scope)!: description``, an optional body after one blank line, and footers
(``Token: value`` or ``Token #value``) in the last paragraphs. Types are case-insensitive and
lower-cased here; ``BREAKING CHANGE`` must be upper case. A header that does not follow the
grammar is classified by ``heuristic.guess_type`` and marked ``conventional=False``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from opsassist.streams.changelog._heuristic import guess_type
from opsassist.streams.changelog._model import Footer, InvalidCommit, ParsedCommit

_HEADER = re.compile(
    r"^(?P<type>[A-Za-z][A-Za-z0-9_-]*)"
    r"(?:\((?P<scope>[^()\r\n]*)\))?"
    r"(?P<bang>!)?"
    r":[ \t]+(?P<description>\S.*)$"
)
_FOOTER = re.compile(
    r"^(?P<token>BREAKING CHANGE|[A-Za-z][A-Za-z0-9-]*)(?::[ \t]|[ \t]#)(?P<value>.*)$"
)
_BREAKING_TOKENS = frozenset({"BREAKING CHANGE", "BREAKING-CHANGE"})
# The spec allows a breaking footer anywhere in the footers; we also accept it at the start of
# any body line, because a breaking change hidden by a misplaced blank line is worse than none.
_BREAKING_LINE = re.compile(r"^BREAKING[ -]CHANGE:[ \t]*(?P<text>.*)$", re.MULTILINE)
# Squash merges on GitHub and GitLab append the pull/merge request number to the title.
_TRAILING_PR = re.compile(r"\s*\((?:[\w.-]+/[\w.-]+)?#(?P<number>\d+)\)\s*$")
_ISSUE_REF = re.compile(r"(?<![\w/])#(?P<number>\d+)\b")
_ISSUE_FOOTERS = frozenset(
    {"closes", "close", "closed", "fixes", "fix", "fixed", "resolves", "resolve", "resolved",
     "refs", "ref", "references", "see", "related", "issue", "issues"}
)  # fmt: skip
_REVERT_HEADER = re.compile(r'^Revert\s+"(?P<reverted>.+)"\s*$')
_REVERTS_SHA = re.compile(r"This reverts commit (?P<sha>[0-9a-f]{7,64})")
_MERGE_HEADER = re.compile(
    r"^Merge (?:pull request #(?P<pr>\d+)|branch |remote-tracking branch |tag |commit |.+ into )"
)
_MERGE_REQUEST_REF = re.compile(r"See merge request [\w./-]+!(?P<number>\d+)")


def _split_message(message: str) -> tuple[str, list[str]]:
    if "\r" in message:
        message = message.replace("\r\n", "\n").replace("\r", "\n")
    lines = message.split("\n")
    return lines[0].strip(), lines[1:]


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _split_footers(paragraphs: list[list[str]]) -> tuple[str, tuple[Footer, ...]]:
    """Body text and footers: the footers are the trailing paragraphs that each open with a
    token; a line that opens with no token continues the value of the footer before it."""
    start = len(paragraphs)
    while start > 0 and _FOOTER.match(paragraphs[start - 1][0]):
        start -= 1
    footers: list[Footer] = []
    for paragraph in paragraphs[start:]:
        for line in paragraph:
            match = _FOOTER.match(line)
            if match:
                footers.append(Footer(match["token"], match["value"].strip()))
            elif footers:
                last = footers[-1]
                footers[-1] = Footer(last.token, f"{last.value}\n{line.strip()}")
    body = "\n\n".join("\n".join(paragraph) for paragraph in paragraphs[:start])
    return body, tuple(footers)


def _issues(description: str, footers: tuple[Footer, ...]) -> tuple[int, ...]:
    if not footers and "#" not in description:
        return ()
    numbers = [int(m["number"]) for m in _ISSUE_REF.finditer(description)]
    for footer in footers:
        if footer.token.lower() in _ISSUE_FOOTERS:
            numbers.extend(int(m["number"]) for m in _ISSUE_REF.finditer(f" {footer.value}"))
            numbers.extend(int(v) for v in re.findall(r"(?<![\w#])(\d+)\b", footer.value))
    return tuple(dict.fromkeys(numbers))


class _Title(NamedTuple):
    type: str
    scope: str | None
    description: str
    conventional: bool
    bang: bool
    merge_pull_request: int | None = None


def _read_title(title: str, merge: bool, first_body_line: str) -> _Title:
    match = _HEADER.match(title)
    if match:
        scope = (match["scope"] or "").strip() or None
        description = match["description"].strip()
        return _Title(match["type"].lower(), scope, description, True, bool(match["bang"]))
    revert_header = _REVERT_HEADER.match(title)
    if revert_header:  # git's own revert message: the reverted header, quoted
        return _Title("revert", None, revert_header["reverted"], True, False)
    merge_match = _MERGE_HEADER.match(title)
    if not (merge or merge_match):
        return _Title(guess_type(title), None, title, False, False)
    pr = int(merge_match["pr"]) if merge_match and merge_match["pr"] else None
    # GitHub puts the pull request's title on the line after "Merge pull request #N from ...".
    inner = _HEADER.match(first_body_line)
    if inner:
        scope = (inner["scope"] or "").strip() or None
        description = inner["description"].strip()
        return _Title(inner["type"].lower(), scope, description, True, bool(inner["bang"]), pr)
    return _Title("merge", None, title, False, False, pr)


def _breaking_text(footers: tuple[Footer, ...], rest: str) -> str | None:
    for footer in footers:
        if footer.token in _BREAKING_TOKENS:
            return footer.value
    line = _BREAKING_LINE.search(rest) if "BREAKING" in rest else None
    return line["text"].strip() if line else None


def parse_commit(sha: str, message: str, parents: tuple[str, ...] | list[str] = ()) -> ParsedCommit:
    """Parse one commit message. Never drops a commit: anything unparseable is still returned,
    with ``conventional=False`` and a heuristic type."""
    if not sha:
        raise InvalidCommit("a commit needs its hash")
    header, rest_lines = _split_message(message)
    if not header:
        raise InvalidCommit(f"commit {sha[:12]} has an empty message")
    rest = "\n".join(rest_lines)
    # Most commits are a single line; skip the body machinery for them.
    paragraphs = _paragraphs(rest_lines) if rest.strip() else []
    body, footers = _split_footers(paragraphs) if paragraphs else ("", ())
    merge = len(parents) > 1

    pr_match = _TRAILING_PR.search(header) if header.endswith(")") else None
    if pr_match and not header[: pr_match.start()].strip():
        pr_match = None  # the whole header is "(#7)": keep it as the text
    title = _read_title(
        header[: pr_match.start()] if pr_match else header,
        merge,
        paragraphs[0][0].strip() if paragraphs else "",
    )
    pull_request = int(pr_match["number"]) if pr_match else title.merge_pull_request
    if merge and pull_request is None:
        mr = _MERGE_REQUEST_REF.search(message)
        pull_request = int(mr["number"]) if mr else None
    reverts = _REVERTS_SHA.search(rest) if title.type == "revert" else None
    # The header too: "BREAKING CHANGE: ..." as a whole header is not the grammar, but it is
    # certainly a breaking change.
    breaking_description = _breaking_text(footers, f"{header}\n{rest}")

    return ParsedCommit(
        sha=sha,
        header=header,
        type=title.type,
        scope=title.scope,
        description=title.description,
        body=body,
        footers=footers,
        breaking=title.bang or breaking_description is not None,
        breaking_description=breaking_description or (title.description if title.bang else None),
        conventional=title.conventional,
        merge=merge,
        revert_of=reverts["sha"] if reverts else None,
        pull_request=pull_request,
        issues=_issues(title.description, footers),
    )
