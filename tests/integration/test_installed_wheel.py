"""The package as a user (or the container image) installs it: a wheel built from the tree and
installed into a fresh virtualenv outside the repository carries every file the code reads at
run time, and its ``opsassist migrate`` applies every migration."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from opsassist.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

# The folders of the checkout the wheel ships, and where each lands in it: everything under the
# one import name (pyproject.toml [tool.setuptools.package-dir]).
PACKAGES = {
    "opsassist": "opsassist",
    "cli": "opsassist/cli",
    "api": "opsassist/api",
    "streams": "opsassist/streams",
    "store": "opsassist/store",
    "bus": "opsassist/bus",
    "llm": "opsassist/llm",
    "infra": "opsassist/infra",
    "schemas": "opsassist/schemas",
    "migrations": "opsassist/migrations",
}


def in_wheel(tracked: str) -> str:
    folder, rest = tracked.split("/", 1)
    return f"{PACKAGES[folder]}/{rest}"


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    venv: Path
    workdir: Path  # outside the repository: nothing there but what the wheel installed

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.workdir), **(env or {})},
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the files git knows (tracked or not ignored): setuptools' build/
    # directory in a checkout would otherwise lend the wheel files that packaging misses.
    source = work / "source"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (PROJECT_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / name, source / name)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--wheel-dir",
            str(work / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("opsassist-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The third-party dependencies come from the test environment's site-packages, added as a
    # plain path: its .pth files (the editable install of this checkout) are not processed, so
    # opsassist itself can only come from the wheel. Installing ~100 locked packages again
    # would test pip, not our packaging; the container image does the full install.
    (Path(target) / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    workdir = work / "elsewhere"
    workdir.mkdir()
    return InstalledWheel(wheel=wheel, venv=venv, workdir=workdir)


def test_the_wheel_carries_every_data_file_of_the_packages(installed_wheel: InstalledWheel) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", *PACKAGES],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    data_files = {in_wheel(name) for name in tracked if not name.endswith(".py")}
    assert "opsassist/migrations/0001_events.sql" in data_files
    with zipfile.ZipFile(installed_wheel.wheel) as wheel:
        shipped = set(wheel.namelist())
    assert sorted(data_files - shipped) == []


def test_the_wheel_installs_nothing_but_the_opsassist_import_name(
    installed_wheel: InstalledWheel,
) -> None:
    with zipfile.ZipFile(installed_wheel.wheel) as wheel:
        tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"opsassist"}


def test_the_installed_package_is_not_the_checkout(installed_wheel: InstalledWheel) -> None:
    where = installed_wheel.run(
        "python",
        "-c",
        "import opsassist.migrations, opsassist.store.migrations; "
        "print(opsassist.migrations.__file__)",
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed_wheel.venv)


def test_installed_migrate_applies_every_migration(
    installed_wheel: InstalledWheel, empty_database_url: str, kafka_bootstrap: str
) -> None:
    endpoints = {"DATABASE_URL": empty_database_url, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    migrated = installed_wheel.run("opsassist", "migrate", env=endpoints)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    async def applied() -> list[int]:
        conn = await asyncpg.connect(empty_database_url)
        try:
            rows = await conn.fetch("SELECT version FROM migration_versions ORDER BY version")
        finally:
            await conn.close()
        return [row["version"] for row in rows]

    in_tree = sorted(int(p.name[:4]) for p in (PROJECT_ROOT / "migrations").glob("*.sql"))
    assert len(in_tree) >= 15
    assert asyncio.run(applied()) == in_tree


def test_installed_commands_find_the_schema_and_the_prompts(
    installed_wheel: InstalledWheel,
) -> None:
    schema = installed_wheel.run("opsassist", "graphql", "schema", "--check")
    assert schema.returncode == 0, schema.stdout + schema.stderr
    assert str(installed_wheel.venv) in schema.stderr.replace("\n", "")
    prompts = installed_wheel.run("opsassist", "llm", "status", env={"COLUMNS": "300"})
    assert prompts.returncode == 0, prompts.stdout + prompts.stderr
    assert "triage.classify" in prompts.stdout
