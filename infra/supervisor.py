"""Keeps the worker and API processes of ``opsassist run`` running, as an operator's supervisor
(systemd's ``Restart=on-failure``, a Kubernetes restart policy) would: a process that exits is
started again after a backoff that doubles with each quick crash in a row, every restart is
reported, and a process that keeps crashing quickly is given up (docs/reliability.md).

Hand-written rather than circus or supervisord: those are daemons with their own configuration
and control socket, and ``make run`` needs a loop over two child processes it already owns.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


class GaveUp(Exception):
    """A supervised process crashed quickly too many times in a row."""


@dataclass
class _Supervised:
    name: str
    argv: Sequence[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    started_at: float
    quick_crashes: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    """``check()`` is called in a loop; it restarts what exited and raises :class:`GaveUp`."""

    #: The wait before the first restart; it doubles with each further quick crash in a row.
    backoff_seconds: float
    #: A process that exits sooner than this after its start has crashed quickly.
    quick_seconds: float
    #: Quick crashes in a row after which the process is given up.
    max_quick_crashes: int
    report: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    _processes: dict[str, _Supervised] = field(default_factory=dict)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = _spawn(argv, env)
        self._processes[name] = _Supervised(name, argv, env, proc, self.clock())
        self.report(f"Started the {name} (pid {proc.pid}).")
        return proc

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return self._processes[name].proc

    def check(self) -> None:
        now = self.clock()
        for supervised in self._processes.values():
            if supervised.restart_at is not None:
                if now >= supervised.restart_at:
                    self._restart(supervised, now)
                continue
            code = supervised.proc.poll()
            if code is not None:
                self._exited(supervised, code, now)

    def _exited(self, supervised: _Supervised, code: int, now: float) -> None:
        # What the process started and left behind (the API's uvicorn workers outlive a
        # SIGKILLed parent and keep its port) goes with it, as systemd's cgroup kill does.
        _kill_group(supervised.proc)
        ran = now - supervised.started_at
        # A crash after a long run starts a new streak: it says nothing about the next start.
        supervised.quick_crashes = supervised.quick_crashes + 1 if ran < self.quick_seconds else 1
        pid = supervised.proc.pid
        if supervised.quick_crashes > self.max_quick_crashes:
            raise GaveUp(
                f"the {supervised.name} (pid {pid}) exited with code {code} after {ran:.0f}s, "
                f"quick crash {supervised.quick_crashes} in a row (a quick crash: within "
                f"{self.quick_seconds:.0f}s of its start); giving up"
            )
        delay = self.backoff_seconds * 2 ** (supervised.quick_crashes - 1)
        supervised.restart_at = now + delay
        self.report(
            f"The {supervised.name} (pid {pid}) exited with code {code} after {ran:.0f}s; "
            f"restarting it in {delay:.0f}s (quick crash {supervised.quick_crashes} of "
            f"{self.max_quick_crashes} allowed in a row)."
        )

    def _restart(self, supervised: _Supervised, now: float) -> None:
        supervised.proc = _spawn(supervised.argv, supervised.env)
        supervised.started_at = now
        supervised.restart_at = None
        self.report(f"Restarted the {supervised.name} (pid {supervised.proc.pid}).")

    def stop_all(self, timeout: float = 30) -> None:
        """SIGTERM to every process still running, SIGKILL to those that outlive ``timeout``."""
        running = [s.proc for s in self._processes.values() if s.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        for proc in running:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for supervised in self._processes.values():
            _kill_group(supervised.proc)


def _spawn(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A process group of its own, so that what it starts can be stopped with it.
    return subprocess.Popen(list(argv), env=env, start_new_session=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
