"""The miner on real Loghub files (skipped without ../shared/data): the issue's floor per system,
and the CLI's CSV against the same mining."""

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.templates import FORMATS  # the headers as a user configures them; one copy
from opsassist.cli import app
from opsassist.settings import Settings
from opsassist.streams.enrich import compile_log_format
from opsassist.streams.logs import TemplateMiner, grouping_accuracy, mask_message
from opsassist.streams.logs._masking import MaskingRules

LOGHUB = Settings().eval_data / "loghub_2k"


def system_dir(system: str) -> Path:
    folder = LOGHUB / system
    if not folder.exists():
        pytest.skip(f"Loghub data not found at {folder} (set OPSASSIST_EVAL_DATA)")
    return folder


def truth(folder: Path, system: str) -> list[str]:
    with (folder / f"{system}_2k.log_structured.csv").open(encoding="utf-8") as handle:
        return [row["EventId"] for row in csv.DictReader(handle)]


@pytest.mark.parametrize("system", sorted(FORMATS))
def test_grouping_accuracy_meets_the_issue_floor(system: str) -> None:
    folder = system_dir(system)
    log_format = compile_log_format(FORMATS[system])
    miner = TemplateMiner(system)
    ids, relabel = [], {}
    for line in (folder / f"{system}_2k.log").read_text(encoding="utf-8").splitlines():
        fields = log_format.parse(line.rstrip("\r"))
        assert fields is not None
        match = miner.add(fields["Content"].strip())
        ids.append(match.template_id)
        relabel.update((c.old_id, c.new_id) for c in match.changes)
    final = []
    for line_id in ids:
        current = line_id
        while current in relabel:
            current = relabel[current]
        final.append(current)
    assert grouping_accuracy(truth(folder, system), final) >= 0.80


def test_templates_command_writes_the_benchmark_csv(tmp_path: Path) -> None:
    folder = system_dir("HDFS")
    out = tmp_path / "hdfs.csv"
    result = CliRunner().invoke(
        app,
        ["templates", str(folder / "HDFS_2k.log"), "--format", FORMATS["HDFS"], "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["LineId", "EventId", "EventTemplate"]
    assert [int(r["LineId"]) for r in rows] == list(range(1, 2001))
    assert grouping_accuracy(truth(folder, "HDFS"), [r["EventId"] for r in rows]) >= 0.80


def test_restarts_between_batches_give_the_cli_labels(tmp_path: Path) -> None:
    """What the log agent does (mine a batch, persist the state, maybe restart) ends with the
    same labels as the offline CLI."""
    folder = system_dir("OpenSSH")
    fmt = FORMATS["OpenSSH"]
    out = tmp_path / "cli.csv"
    result = CliRunner().invoke(
        app,
        [
            "templates",
            str(folder / "OpenSSH_2k.log"),
            *("--format", fmt, "--service", "OpenSSH", "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        cli_labels = [row["EventId"] for row in csv.DictReader(handle)]

    log_format = compile_log_format(fmt)
    messages = [
        fields["Content"].strip()
        for line in (folder / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines()
        if (fields := log_format.parse(line.rstrip("\r"))) is not None
    ]
    state = TemplateMiner("OpenSSH").to_state()
    stored: list[str] = []
    for start in range(0, len(messages), 170):
        miner = TemplateMiner.from_state(json.loads(json.dumps(state)))  # a restart each batch
        for message in messages[start : start + 170]:
            match = miner.add(message)
            relabel = {c.old_id: c.new_id for c in match.changes}
            stored = [relabel.get(label, label) for label in stored]  # UPDATE ... SET template_id
            stored.append(match.template_id)
        state = miner.to_state()
    assert stored == cli_labels


@pytest.mark.parametrize("system", sorted(FORMATS))
def test_the_ablation_masking_with_every_rule_on_masks_real_lines_as_shipped(system: str) -> None:
    folder = system_dir(system)
    log_format = compile_log_format(FORMATS[system])
    every_rule = MaskingRules()  # equal to the shipped rules but not them: the ablation's path
    for line in (folder / f"{system}_2k.log").read_text(encoding="utf-8").splitlines():
        fields = log_format.parse(line.rstrip("\r"))
        assert fields is not None
        message = fields["Content"].strip()
        assert mask_message(message, rules=every_rule) == mask_message(message)
