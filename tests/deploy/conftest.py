"""The compose stack as a user runs it: the images built (stand-ins for the base images where
no registry is reachable), `docker compose up --wait` through testcontainers' DockerCompose,
under a project name of its own and free 127.0.0.1 ports, so that parallel runs never meet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from testcontainers.compose import DockerCompose

from opsassist.infra.processes import free_port
from opsassist.settings import PROJECT_ROOT

WORKER_REPLICAS = 3
PARTITIONS = 12
GITHUB_SECRET = "deploy-test-github-" + "s" * 20
JWT_SECRET = "deploy-test-jwt-" + "k" * 40


def _docker_problem() -> str | None:
    """Why the deploy tests cannot run here, or None."""
    if shutil.which("docker") is None:
        return "no docker CLI"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "no Docker engine answers `docker info`"
    if subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False
    ).returncode:
        return "no Compose v2 CLI (`docker compose`); .ci/run builds it"
    return None


@dataclass
class Stack:
    compose: DockerCompose
    project: str
    env_file: Path
    api_url: str
    prometheus_url: str
    kafka_bootstrap: str
    database_url: str

    def compose_run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``docker compose ARGS`` on this stack."""
        return subprocess.run(
            [*self.compose.compose_command_property, *args],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def containers(self, service: str | None = None) -> list[dict[str, str]]:
        """Every container of the project (running or not), as `docker compose ps` reports it."""
        ps = self.compose_run("ps", "--all", "--format", "json")
        assert ps.returncode == 0, ps.stderr
        rows = [json.loads(line) for line in ps.stdout.splitlines() if line.strip()]
        return [r for r in rows if service is None or r["Service"] == service]


def _build_images() -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    for script in ("deploy/images/build-local.sh", "deploy/build-image.sh"):
        built = subprocess.run(
            [str(PROJECT_ROOT / script)],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert built.returncode == 0, f"{script} failed:\n{built.stdout}\n{built.stderr}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    problem = _docker_problem()
    if problem is not None:
        pytest.skip(f"deploy tests need Docker: {problem}")
    _build_images()
    project = f"opsassist-test-{uuid.uuid4().hex[:8]}"
    ports = {
        name: free_port()
        for name in (
            "API_HOST_PORT",
            "KAFKA_HOST_PORT",
            "POSTGRES_HOST_PORT",
            "PROMETHEUS_HOST_PORT",
            "ALERTMANAGER_HOST_PORT",
        )
    }
    settings = {
        "COMPOSE_PROJECT_NAME": project,
        "WORKER_REPLICAS": str(WORKER_REPLICAS),
        "OPSASSIST_TOPIC_PARTITIONS": str(PARTITIONS),
        "OPSASSIST_GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        "OPSASSIST_GRAPHQL_JWT_SECRET": JWT_SECRET,
        **{name: str(port) for name, port in ports.items()},
    }
    env_file = tmp_path_factory.mktemp("compose") / "stack.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    compose = DockerCompose(PROJECT_ROOT, env_file=str(env_file), wait=True)
    try:
        compose.start()
        yield Stack(
            compose=compose,
            project=project,
            env_file=env_file,
            api_url=f"http://127.0.0.1:{ports['API_HOST_PORT']}",
            prometheus_url=f"http://127.0.0.1:{ports['PROMETHEUS_HOST_PORT']}",
            kafka_bootstrap=f"127.0.0.1:{ports['KAFKA_HOST_PORT']}",
            database_url=(
                f"postgresql://opsassist:opsassist@127.0.0.1:{ports['POSTGRES_HOST_PORT']}/opsassist"
            ),
        )
    finally:
        compose.stop(down=True)
