"""`opsassist run` (what `make run` runs) as a user meets it: it starts its own Kafka and
PostgreSQL, migrates, runs the worker and the API, loads the demo data, and Ctrl-C stops all of
it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest

from infra.processes import free_port, port_open
from opsassist.settings import PROJECT_ROOT
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


def count(url: str, table: str) -> int:
    async def run() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        finally:
            await conn.close()

    try:
        return asyncio.run(run())
    except (OSError, asyncpg.PostgresError):
        return 0


def test_run_starts_everything_loads_demo_data_and_ctrl_c_stops_it(session_dir: Path) -> None:
    tmp_path = session_dir / "run"  # reachable by the postgres server user when we are root
    tmp_path.mkdir()
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
    state = tmp_path / "state"
    env["OPSASSIST_STATE_DIR"] = str(state)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "opsassist", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
    database_url = f"postgresql://opsassist@127.0.0.1:{ports['POSTGRES_PORT']}/opsassist"
    try:

        def running() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"opsassist run exited:\n{log.read_text()[-3000:]}")
            return "Opsassist is running" in log.read_text(errors="replace")

        wait_for(running, 240, "opsassist run to say it is running")
        api = f"http://127.0.0.1:{ports['API_PORT']}"
        assert httpx.get(f"{api}/readyz", timeout=15).json()["status"] == "ready"
        output = log.read_text()
        assert api in output and database_url in output  # it says where things are
        wait_for(lambda: count(database_url, "log_events") > 0, 120, "demo log events in Postgres")
        wait_for(lambda: count(database_url, "commits") > 0, 60, "this repository's commits")
        wait_for(lambda: count(database_url, "tickets") > 0, 60, "demo tickets")
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode in (0, 130), log.read_text()[-3000:]
    assert "Stopped: Kafka, PostgreSQL" in log.read_text()
    for name, port in ports.items():
        assert not port_open(port), f"{name} {port} still open after Ctrl-C"
