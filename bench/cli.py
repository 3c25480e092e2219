"""CLI start-up: `opsassist --help`, a shell completion and `--version`, as whole processes.

Each command runs as a fresh process, in turn with its reference (A B A B ...), after a warm-up;
the figures are the medians of the CPU (user + system, from the kernel's accounting of the
finished child) and of the wall time. References: the interpreter importing typer alone (the
floor of any typer CLI), and with ``--vs PATH`` another build's ``opsassist`` (for example the
commit before a change, installed in its own virtualenv).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import write_section
from opsassist import PROJECT_ROOT

_COMPLETION = {
    "_OPSASSIST_COMPLETE": "complete_bash",
    "COMP_WORDS": "opsassist triage c",
    "COMP_CWORD": "2",
}


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class Timing:
    cpu_s: float
    wall_s: float


def run_once(case: Case) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        case.argv,
        env={**os.environ, **case.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(cpu, wall)


def measure(cases: list[Case], runs: int, warmup: int) -> dict[str, list[Timing]]:
    for case in cases:
        for _ in range(warmup):
            run_once(case)
    timings: dict[str, list[Timing]] = {case.label: [] for case in cases}
    for _ in range(runs):  # interleaved, so that a change of the machine's load hits every case
        for case in cases:
            timings[case.label].append(run_once(case))
    return timings


def modules_imported(python: str, cwd: Path) -> int:
    """Distinct modules ``import opsassist.cli`` loads in a fresh interpreter of ``python``."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", "import opsassist.cli"],
        capture_output=True,
        text=True,
        cwd=cwd,  # -c puts the working directory first on sys.path: the build's own tree
        check=True,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and not line.endswith("imported package")
    }
    return len(names)


def commit_of(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "commit unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--vs", type=Path, help="another build's opsassist executable, measured side by side"
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()

    ours = str(Path(sys.executable).with_name("opsassist"))
    cases = [
        Case("opsassist --help", [ours, "--help"], {}),
        Case("completion of `opsassist triage c`", [ours], _COMPLETION),
        Case("opsassist --version", [ours, "--version"], {}),
        Case("floor: python -c 'import typer'", [sys.executable, "-c", "import typer"], {}),
    ]
    builds = [(f"this build ({commit_of(PROJECT_ROOT)})", sys.executable, PROJECT_ROOT)]
    if args.vs is not None:
        other = str(args.vs.absolute())
        # the reference's python sits beside its opsassist; its tree is the venv's parent
        tree = args.vs.absolute().parents[2]
        name = f"reference build ({commit_of(tree)})"
        cases += [
            Case(f"{name}: opsassist --help", [other, "--help"], {}),
            Case(f"{name}: completion", [other], _COMPLETION),
        ]
        builds.append((name, str(args.vs.absolute().with_name("python")), tree))
    timings = measure(cases, args.runs, args.warmup)
    table = [
        "| command | CPU s (median) | wall s (median) | wall s (min to max) |",
        "|---|---:|---:|---:|",
    ]
    for label, found in timings.items():
        cpu = statistics.median(t.cpu_s for t in found)
        wall = [t.wall_s for t in found]
        table.append(
            f"| {label} | {cpu:.3f} | {statistics.median(wall):.3f} | "
            f"{min(wall):.3f} to {max(wall):.3f} |"
        )
        print(f"{label:40} cpu {cpu:.3f} s  wall {statistics.median(wall):.3f} s")
    counts = [f"{name}: {modules_imported(py, tree):,}" for name, py, tree in builds]
    print("modules imported by `import opsassist.cli`:", "; ".join(counts))
    body = (
        f"{args.runs} runs of each command as a fresh process, interleaved, after "
        f"{args.warmup} warm-up run(s); CPU is user + system time of the finished process. "
        "On a shared machine the wall time includes waiting for a core: compare the CPU, and "
        "wall times only within one run. Target (issue 26): under 0.3 s wall on an idle "
        "machine for `--help` and a completion.\n\n"
        + "\n".join(table)
        + "\n\nModules imported by `import opsassist.cli` "
        "(`python -X importtime -c 'import opsassist.cli'`): "
        + "; ".join(counts)
        + ". Why and how: [decisions/0003-cli-startup.md](decisions/0003-cli-startup.md)."
    )
    command = "python -m bench.cli" + (" --vs PATH/TO/OTHER/.venv/bin/opsassist" if args.vs else "")
    write_section(args.out, "CLI start-up", body, command)


if __name__ == "__main__":
    main()
