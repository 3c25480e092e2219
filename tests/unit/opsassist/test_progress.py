"""Progress bars go to stderr, only when stderr is a terminal; stdout never changes."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from opsassist.cli.progress import counted, progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_the_count_of_items() -> None:
    terminal = _Terminal()
    with progress_bar("lines", 3, stream=terminal) as advance:
        assert list(counted("abc", advance)) == ["a", "b", "c"]
    assert "lines" in terminal.getvalue() and "3/3" in terminal.getvalue()


def test_a_pipe_or_file_gets_nothing_and_the_total_is_not_counted() -> None:
    piped = io.StringIO()

    def total() -> int:
        raise AssertionError("counted for a bar that is not shown")

    with progress_bar("lines", total, stream=piped) as advance:
        assert list(counted("abc", advance)) == ["a", "b", "c"]
    assert piped.getvalue() == ""


def _run(args: list[str], stderr_on_terminal: bool) -> tuple[str, str]:
    """``opsassist ARGS``: stdout through a pipe, stderr through a pipe or a pseudo-terminal."""
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    command = [sys.executable, "-m", "opsassist", *args]
    if not stderr_on_terminal:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return done.stdout, done.stderr
    primary, secondary = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # a pseudo-terminal holds little: read while the command runs
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the command closed its end
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        done = subprocess.run(
            command, env=env, stdout=subprocess.PIPE, stderr=secondary, text=True, check=True
        )
    finally:
        os.close(secondary)
        reader.join(timeout=30)
        os.close(primary)
    return done.stdout, b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("command", ["templates", "summarize"])
def test_log_commands_show_a_bar_on_a_terminal_and_keep_stdout(
    command: str, tmp_path: Path
) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "".join(f"2026-12-07 10:{i // 60:02d}:{i % 60:02d} INFO job {i} done\n" for i in range(300))
    )
    args = [command, str(log), "--format", "<Date> <Time> <Level> <Content>"]
    piped_out, piped_err = _run(args, stderr_on_terminal=False)
    terminal_out, terminal_err = _run(args, stderr_on_terminal=True)
    assert "mining templates" not in piped_err
    assert "mining templates: lines" in terminal_err and "300/300" in terminal_err
    assert terminal_out == piped_out and piped_out
