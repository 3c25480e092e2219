"""Releases → Markdown (in the Keep a Changelog spirit) and → JSON-ready dictionaries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from opsassist.streams.changelog._config import ChangelogConfig
from opsassist.streams.changelog._model import Entry, Release

_ISSUE_IN_TEXT = re.compile(r"(?<![\w\[/])#(\d+)\b")


def _fill(pattern: str, config: ChangelogConfig, **values: str) -> str:
    # str.replace, not str.format: a user's pattern must not be able to reach attributes.
    text = pattern.replace("{repo}", config.repository_url)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _entry_line(entry: Entry, config: ChangelogConfig, in_breaking_group: bool) -> str:
    linked = bool(config.repository_url)
    text = _upper_first(entry.text)
    if linked:
        text = _ISSUE_IN_TEXT.sub(
            lambda m: f"[#{m[1]}]({_fill(config.links.issue, config, number=m[1])})", text
        )
    parts = ["-"]
    if config.show_scopes and entry.scope:
        parts.append(f"**{entry.scope}:**")
    if entry.breaking and not in_breaking_group:
        parts.append("**BREAKING:**")
    parts.append(text)
    if config.mark_unconventional and not entry.conventional:
        parts.append("_(type guessed)_")
    if entry.pull_request is not None:
        number = str(entry.pull_request)
        pr = _fill(config.links.pull_request, config, number=number)
        parts.append(f"([#{number}]({pr}))" if linked else f"(#{number})")
    short = entry.commit[:7]
    commit = _fill(config.links.commit, config, sha=entry.commit)
    parts.append(f"([{short}]({commit}))" if linked else f"({short})")
    line = " ".join(parts)
    if entry.breaking_note:
        note = entry.breaking_note.replace("\n", " ")
        line += f"\n  - BREAKING CHANGE: {note}"
    return line


def _heading(release: Release, config: ChangelogConfig) -> str:
    if release.tag is None:
        suffix = f" (next: {release.next_version})" if release.next_version else ""
        return f"## [{config.unreleased_title}]{suffix}"
    title = f"[{release.version}]"
    if config.repository_url and release.previous_version is not None:
        # The compare link needs the previous *tag*; the version with this tag's prefix is it.
        prefix = release.tag[: len(release.tag) - len(release.version or "")]
        compare = _fill(
            config.links.compare,
            config,
            previous=f"{prefix}{release.previous_version}",
            tag=release.tag,
        )
        title = f"[{release.version}]({compare})"
    date = f" - {release.date.date().isoformat()}" if release.date else ""
    return f"## {title}{date}"


def render_markdown(releases: Sequence[Release], config: ChangelogConfig) -> str:
    """The changelog text, newest release first."""
    out = ["# Changelog", ""]
    for release in releases:
        out += [_heading(release, config), ""]
        if not release.groups:
            out += ["No user-facing changes.", ""]
        for group in release.groups:
            out += [f"### {group.title}", ""]
            in_breaking = group.key == config.breaking_group
            out += [_entry_line(e, config, in_breaking) for e in group.entries]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "commit": entry.commit,
        "text": entry.text,
        "type": entry.type,
        "scope": entry.scope,
        "breaking": entry.breaking,
        "breaking_note": entry.breaking_note,
        "conventional": entry.conventional,
        "pull_request": entry.pull_request,
        "issues": list(entry.issues),
    }


def releases_to_json(releases: Sequence[Release]) -> list[dict[str, Any]]:
    """Releases as plain data: ``version``, ``date``, ``bump``, groups with ``title`` and
    entries naming their ``commit``, and the skipped commits with the reason."""
    return [
        {
            "version": release.version,
            "tag": release.tag,
            "date": release.date.isoformat() if release.date else None,
            "bump": release.bump.label,
            "previous_version": release.previous_version,
            "next_version": release.next_version,
            "groups": [
                {
                    "key": group.key,
                    "title": group.title,
                    "entries": [_entry_json(e) for e in group.entries],
                }
                for group in release.groups
            ],
            "skipped": [{"commit": s.commit, "reason": s.reason} for s in release.skipped],
        }
        for release in releases
    ]
