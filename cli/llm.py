"""``opsassist llm status`` (what each task would use) and ``opsassist llm eval`` (compare prompt
versions of a task over fixtures before shipping one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from opsassist.llm.evaluation import VersionReport

app = typer.Typer(help="The LLM layer: prompts, models, evaluation.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _summary(typed: list[VersionReport]) -> Table:
    table = Table(title="prompt versions compared")
    table.add_column("")
    for report in typed:
        table.add_column(f"v{report.version}", justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("prompts", [", ".join(r.prompts) or "-" for r in typed]),
        ("answered by the LLM", [f"{r.answered}/{len(r.results)}" for r in typed]),
        (
            "deterministic, why",
            [
                ", ".join(f"{k} {n}" for k, n in sorted(r.reasons.items()) if k != "ok") or "-"
                for r in typed
            ],
        ),
        (
            "expected fields agreed",
            [f"{r.agreed}/{r.compared}" if r.compared else "-" for r in typed],
        ),
        ("prompt tokens", [f"{r.total('prompt_tokens'):.0f}" for r in typed]),
        ("completion tokens", [f"{r.total('completion_tokens'):.0f}" for r in typed]),
        ("cost (USD)", [f"{r.total('cost_usd'):.6f}" for r in typed]),
        (
            "mean seconds per case",
            [f"{sum(r.seconds) / len(r.seconds):.2f}" if r.seconds else "-" for r in typed],
        ),
    ]
    for name, cells in rows:
        table.add_row(name, *cells)
    return table


def _answers(typed: list[VersionReport], width: int) -> Table:
    table = Table(title="answers per fixture")
    table.add_column("#", justify="right")
    for report in typed:
        table.add_column(f"v{report.version}", overflow="fold")
    for index in range(len(typed[0].results) if typed else 0):
        cells = []
        for report in typed:
            result = report.results[index]
            text = (
                json.dumps(result.value.model_dump(), ensure_ascii=False)
                if result.produced_by == "llm"
                else f"[deterministic: {result.reason}]"
            )
            cells.append(text if len(text) <= width else text[: width - 1] + "…")
        table.add_row(str(index + 1), *cells)
    return table


@app.command("eval")
def eval_prompts(
    fixtures: Annotated[Path, typer.Argument(help="JSON Lines: one chain input per line.")],
    task: Annotated[str, typer.Option(help="summarize, triage or changelog.")],
    prompt_version: Annotated[
        list[int],
        typer.Option(help="Prompt version to run (repeat to compare; once: against the newest)."),
    ],
    width: Annotated[int, typer.Option(help="Characters shown per answer.")] = 160,
) -> None:
    """Run a task's prompts at the given versions over FIXTURES and print a comparison."""
    import asyncio

    from opsassist.llm import LLMClient, LLMError
    from opsassist.llm.evaluation import evaluate, load_cases
    from opsassist.settings import get_settings

    try:
        client = LLMClient.from_settings(get_settings())
        cases = load_cases(fixtures)
    except (LLMError, OSError) as exc:
        errors.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    if not client.configured(task):
        errors.print(
            f"[red]error:[/] no LLM is configured for {task!r}: set OPENAI_API_KEY or "
            "OPENAI_BASE_URL, or name a provider in OPSASSIST_LLM_CONFIG_FILE (docs/llm.md)."
        )
        raise typer.Exit(1)
    versions = list(dict.fromkeys(prompt_version))
    newest = client.newest_prompt_version(task)
    if len(versions) == 1 and versions[0] != newest:
        versions.append(newest)

    async def run() -> list[VersionReport]:
        try:
            return await evaluate(client, task, versions, cases)
        finally:
            await client.aclose()

    try:
        reports = asyncio.run(run())
    except LLMError as exc:
        errors.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(_summary(reports))
    console.print(_answers(reports, width))


@app.command("status")
def status() -> None:
    """Show per task whether it reaches an LLM, its models in fallback order, its prompts and its
    budget; exits 1 when the configuration or a prompt file is invalid."""
    from opsassist.llm import TASKS, LLMError, PromptLibrary, load_chain, load_config
    from opsassist.llm.config import provider_endpoints
    from opsassist.llm.templates import PROMPTS_DIR
    from opsassist.settings import get_settings

    settings = get_settings()
    prompts_dir = settings.llm_prompts_dir or PROMPTS_DIR
    table = Table(title=f"LLM tasks ({settings.llm_config_file or 'built-in configuration'})")
    for column in ("task", "LLM", "models, in fallback order", "prompts", "budget"):
        table.add_column(column, overflow="fold")
    try:
        config = load_config(settings)
        usable = provider_endpoints(config, settings)
        library = PromptLibrary.from_directory(prompts_dir)
        for task in sorted(set(TASKS) | set(config.tasks)):
            spec = config.tasks.get(task)
            if spec is None:
                table.add_row(task, "no", "-", "-", "-")
                continue
            chain = load_chain(spec.chain or task, prompts_dir)
            templates = chain.templates(library, spec.prompt_version)
            models = [
                f"{m.provider}/{m.name}" + ("" if m.provider in usable else " (not configured)")
                for m in spec.models
            ]
            budget = [
                f"{name} {value}"
                for name, value in (
                    ("tokens/run", spec.max_tokens_per_run),
                    ("USD/run", spec.max_cost_per_run_usd),
                    ("tokens/h", spec.max_tokens_per_hour),
                    ("USD/h", spec.max_cost_per_hour_usd),
                )
                if value is not None
            ]
            table.add_row(
                task,
                "yes" if any(m.provider in usable for m in spec.models) else "no",
                "\n".join(models),
                "\n".join(f"{t.id} v{t.version}" for _, t in templates),
                "\n".join(budget) or "-",
            )
    except LLMError as exc:
        errors.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(table)
    if not usable:
        console.print(
            "No provider is configured: every task uses its deterministic stage. Set "
            "OPENAI_API_KEY or OPENAI_BASE_URL, or name providers in OPSASSIST_LLM_CONFIG_FILE."
        )
    console.print(
        f"Process budget: USD {settings.llm_max_cost_per_hour_usd}/h; "
        f"{settings.llm_max_concurrency} requests in flight."
    )
