"""Leave-one-system-out (LOSO) for the template miners of `bench/templates.py`: every value
chosen from data is chosen on eleven systems and scored on the twelfth.

A configuration is one point of a small grid of a miner's knobs (for ours: similarity, variants
and a switch per masking rule; for drain3: its similarity threshold, tree depth and masking).
Each configuration is scored once on every system; for each held-out system the configuration
with the best mean GA (original truth) on the other eleven is selected and its scores on the
held-out system reported. Ties go to the earlier configuration of the grid, which starts with
the shipped one, so that data must beat the default to move it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Config = TypeVar("Config", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Scores:
    """One miner configuration on one system: GA against the original and the corrected truth,
    and PA against the Loghub-2.0 templates (None where a system has none)."""

    ga: float
    ga_corrected: float
    pa: float | None


@dataclass(frozen=True, slots=True)
class HeldOut(Generic[Config]):
    system: str
    selected: Config
    selected_mean_ga: float  # its mean GA on the other eleven, what chose it
    scores: Scores  # on the held-out system


def score_grid(
    grid: Sequence[Config], systems: Sequence[str], score: Callable[[Config, str], Scores]
) -> dict[Config, dict[str, Scores]]:
    return {config: {system: score(config, system) for system in systems} for config in grid}


def leave_one_out(
    table: dict[Config, dict[str, Scores]], systems: Sequence[str]
) -> list[HeldOut[Config]]:
    """Per system, the configuration selected on the others (mean GA) and its held-out scores."""
    results = []
    for held in systems:
        others = [system for system in systems if system != held]
        best: Config | None = None
        best_mean = -1.0
        for config, per_system in table.items():  # in grid order: ties keep the earlier one
            value = sum(per_system[system].ga for system in others) / len(others)
            if value > best_mean:
                best, best_mean = config, value
        assert best is not None, "an empty grid selects nothing"
        results.append(HeldOut(held, best, best_mean, table[best][held]))
    return results


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def loso_table(
    miners: Sequence[tuple[str, list[HeldOut[Any]], dict[str, Scores]]],
    describe: Callable[[Any], str],
) -> str:
    """Per system and miner: the configuration selected on the other eleven, its held-out GA
    (original and corrected truth) and PA, beside the in-sample scores of the shipped/default
    configuration. ``miners`` holds (name, held-out results, in-sample scores per system)."""
    head = "| system |"
    rule = "|---|"
    for name, _, _ in miners:
        head += (
            f" {name}: selected on the other 11 | {name} LOSO GA | {name} LOSO GA corrected "
            f"| {name} LOSO PA | {name} in-sample GA | {name} in-sample GA corrected "
            f"| {name} in-sample PA |"
        )
        rule += "---|" * 7
    rows = [head, rule]
    systems = [result.system for result in miners[0][1]]
    for index, system in enumerate(systems):
        row = f"| {system} |"
        for _, held_out, in_sample in miners:
            result = held_out[index]
            shipped = in_sample[system]
            row += (
                f" {describe(result.selected)} | {_fmt(result.scores.ga)} "
                f"| {_fmt(result.scores.ga_corrected)} | {_fmt(result.scores.pa)} "
                f"| {_fmt(shipped.ga)} | {_fmt(shipped.ga_corrected)} | {_fmt(shipped.pa)} |"
            )
        rows.append(row)
    row = "| **mean** |"
    for _, held_out, in_sample in miners:
        shipped_scores = list(in_sample.values())
        row += (
            f" | **{_fmt(_mean([r.scores.ga for r in held_out]))}** "
            f"| {_fmt(_mean([r.scores.ga_corrected for r in held_out]))} "
            f"| {_fmt(_mean([r.scores.pa for r in held_out]))} "
            f"| **{_fmt(_mean([s.ga for s in shipped_scores]))}** "
            f"| {_fmt(_mean([s.ga_corrected for s in shipped_scores]))} "
            f"| {_fmt(_mean([s.pa for s in shipped_scores]))} |"
        )
    rows.append(row)
    row = "| **lowest** |"
    for _, held_out, in_sample in miners:
        worst = min(held_out, key=lambda r: r.scores.ga)
        worst_in = min(in_sample, key=lambda system: in_sample[system].ga)
        row += (
            f" | {_fmt(worst.scores.ga)} ({worst.system}) | | "
            f"| {_fmt(in_sample[worst_in].ga)} ({worst_in}) | | |"
        )
    rows.append(row)
    return "\n".join(rows)


def ablation_table(
    rows: Sequence[tuple[str, dict[str, Scores]]], baseline: dict[str, Scores]
) -> str:
    """GA per system with one rule switched off per row, beside the shipped configuration; a
    cell shows the change from the shipped GA where it is at least 0.001."""
    systems = list(baseline)
    head = "| rule off | " + " | ".join(systems) + " | mean |\n"
    head += "|---|" + "---|" * (len(systems) + 1) + "\n"
    lines = [
        "| (none: shipped) | "
        + " | ".join(_fmt(baseline[s].ga) for s in systems)
        + f" | {_fmt(_mean([baseline[s].ga for s in systems]))} |"
    ]
    for name, scores in rows:
        cells = []
        for system in systems:
            change = scores[system].ga - baseline[system].ga
            cells.append(
                _fmt(scores[system].ga) + (f" ({change:+.3f})" if abs(change) >= 0.0005 else "")
            )
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {_fmt(_mean([scores[s].ga for s in systems]))} |"
        )
    return head + "\n".join(lines)
