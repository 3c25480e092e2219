"""Properties on real third-party logs (Loghub): they carry real client IPs and user names."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsassist.settings import Settings
from opsassist.streams.enrich import Enricher
from opsassist.streams.privacy import Redactor

_DOTTED_QUAD = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")


def loghub_files() -> list[Path]:
    root = Settings().eval_data / "loghub_2k"
    files = sorted(root.glob("*/*_2k.log"))
    if not files:
        pytest.skip(f"no Loghub logs under {root} (set OPSASSIST_EVAL_DATA)")
    return files


def routable(text: str) -> bool:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified or text.startswith("0."))


def test_no_routable_ipv4_address_survives_enrich_and_redact() -> None:
    enricher, redactor = Enricher(), Redactor(pseudonym_key=b"k")
    survivors: list[str] = []
    for path in loghub_files():
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        logs = enricher.enrich_batch([{"message": line} for line in lines], source=path.name)
        now = datetime.now(UTC)
        for result in redactor.redact_batch([log.as_payload(now) for log in logs]):
            text = str(result.payload)
            survivors += [m for m in _DOTTED_QUAD.findall(text) if routable(m)]
    assert survivors == []


def test_ssh_login_failures_lose_the_user_names_they_name() -> None:
    path = next((p for p in loghub_files() if p.name == "OpenSSH_2k.log"), None)
    if path is None:
        pytest.skip("OpenSSH_2k.log is absent")
    redactor = Redactor(pseudonym_key=b"k")
    # Portable (POSIX) user names start with a letter or an underscore; "Invalid user 0" is a
    # scanner's guess, not a name.
    pattern = re.compile(r"Invalid user ([A-Za-z_][\w.\-]*) from")
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = pattern.search(line)
        if match and match.group(1) not in redactor.policy.system_accounts:
            redacted = redactor.redact_text(line).text
            assert f"Invalid user {match.group(1)} " not in redacted, line
