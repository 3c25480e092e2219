"""`opsassist run` (what `make run` runs) as a user meets it: it starts its own Kafka and
PostgreSQL, migrates, runs the worker and the API, loads the demo data, restarts a worker that
crashes, and Ctrl-C stops all of it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from opsassist.bus.producer import produce_events
from opsassist.infra.processes import free_port, port_open
from opsassist.settings import PROJECT_ROOT, Settings
from tests.conftest import wait_for
from tests.integration.events import log_event

pytestmark = pytest.mark.integration


def count(url: str, table: str, where: str = "") -> int:
    async def run() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table} {where}"))
        finally:
            await conn.close()

    try:
        return asyncio.run(run())
    except (OSError, asyncpg.PostgresError):
        return 0


@dataclass
class Run:
    """A running ``opsassist run`` and where it listens."""

    proc: subprocess.Popen[bytes]
    log: Path
    ports: dict[str, int]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['API_PORT']}"

    @property
    def worker(self) -> str:
        return f"http://127.0.0.1:{self.ports['WORKER_WEB_PORT']}"

    @property
    def database_url(self) -> str:
        return f"postgresql://opsassist@127.0.0.1:{self.ports['POSTGRES_PORT']}/opsassist"

    @property
    def kafka(self) -> str:
        return f"127.0.0.1:{self.ports['KAFKA_PORT']}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def child_pid(self, command: str) -> int | None:
        """The pid of run's child process ``opsassist COMMAND``, if one is running."""
        for child in psutil.Process(self.proc.pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.cmdline()[-2:] == ["opsassist", command] and child.status() != "zombie":
                    return int(child.pid)
        return None


@contextlib.contextmanager
def opsassist_run(directory: Path) -> Iterator[Run]:
    """``opsassist run`` on free ports, until it says it is running; Ctrl-C (SIGINT) after."""
    directory.mkdir()  # under session_dir: reachable by the postgres server user when we are root
    ports = {
        name: free_port()
        for name in (
            "KAFKA_PORT",
            "KAFKA_CONTROLLER_PORT",
            "POSTGRES_PORT",
            "API_PORT",
            "WORKER_WEB_PORT",
        )
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OPSASSIST_") and k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
    }
    env.update({f"OPSASSIST_{k}": str(v) for k, v in ports.items()})
    env["OPSASSIST_STATE_DIR"] = str(directory / "state")
    log = directory / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "opsassist", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
    run = Run(proc, log, ports)
    try:

        def running() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"opsassist run exited:\n{run.output()[-3000:]}")
            return "Opsassist is running" in run.output()

        wait_for(running, 240, "opsassist run to say it is running")
        yield run
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def test_run_starts_everything_loads_demo_data_and_ctrl_c_stops_it(session_dir: Path) -> None:
    with opsassist_run(session_dir / "run") as run:
        assert httpx.get(f"{run.api}/readyz", timeout=15).json()["status"] == "ready"
        output = run.output()
        assert run.api in output and run.database_url in output  # it says where things are
        wait_for(lambda: count(run.database_url, "log_events") > 0, 120, "demo log events")
        wait_for(lambda: count(run.database_url, "commits") > 0, 60, "this repository's commits")
        wait_for(lambda: count(run.database_url, "tickets") > 0, 60, "demo tickets")
    assert run.proc.returncode in (0, 130), run.output()[-3000:]
    assert "Stopped: Kafka, PostgreSQL" in run.output()
    for name, port in run.ports.items():
        assert not port_open(port), f"{name} {port} still open after Ctrl-C"


def test_a_worker_or_api_killed_under_run_is_restarted_and_the_product_keeps_working(
    session_dir: Path,
) -> None:
    with opsassist_run(session_dir / "run-crash") as run:
        worker_pid = run.child_pid("worker")
        assert worker_pid is not None
        os.kill(worker_pid, signal.SIGKILL)

        def restarted() -> bool:
            if run.proc.poll() is not None:
                raise AssertionError(f"opsassist run exited:\n{run.output()[-3000:]}")
            return run.child_pid("worker") not in (None, worker_pid)

        wait_for(restarted, 60, "the killed worker to be restarted")
        assert f"The worker (pid {worker_pid}) exited with code -9" in run.output()
        assert f"Restarted the worker (pid {run.child_pid('worker')})" in run.output()

        def worker_healthy() -> bool:
            try:
                return httpx.get(f"{run.worker}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(worker_healthy, 120, "the restarted worker to answer /healthz")
        # the product still works end to end: an event sent now is stored by the new worker
        fresh = log_event(10_000_001, service="after-the-crash")
        asyncio.run(
            produce_events(run.kafka, {"log": Settings.model_fields["topic_logs"].default}, [fresh])
        )
        wait_for(
            lambda: count(run.database_url, "log_events", f"WHERE event_id = '{fresh.id}'") == 1,
            120,
            "an event sent after the crash in PostgreSQL",
        )
        assert httpx.get(f"{run.api}/readyz", timeout=15).json()["status"] == "ready"

        # the API too, with the uvicorn processes it started
        api_pid = run.child_pid("api")
        assert api_pid is not None
        os.kill(api_pid, signal.SIGKILL)

        def api_restarted_and_ready() -> bool:
            if run.child_pid("api") in (None, api_pid):
                return False
            try:
                return httpx.get(f"{run.api}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(api_restarted_and_ready, 120, "the killed API to be restarted and ready")
        assert f"The API (pid {api_pid}) exited with code -9" in run.output()
        assert run.proc.poll() is None
    assert "Stopped: Kafka, PostgreSQL" in run.output()
