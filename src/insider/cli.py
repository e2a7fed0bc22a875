"""The `insider` command line: thin wrappers around the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from insider.errors import InsiderError

app = typer.Typer(
    name="insider",
    help="Agentic-misalignment stress tests for LLM agents, built on Inspect AI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

PackOption = Annotated[
    Optional[str],
    typer.Option("--pack", help="Scenario pack: paper, builtin, or the path to a pack directory."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AllowUnfilledOption = Annotated[
    bool,
    typer.Option(
        "--allow-unfilled",
        help="Paper pack: send ${...} placeholders the published templates leave unfilled, as the study did.",
    ),
]


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command()
def conditions(
    config: Annotated[Optional[Path], typer.Argument(help="Experiment file; without it, the pack's whole base grid.")] = None,
    pack: PackOption = None,
    as_json: JsonOption = False,
) -> None:
    """List condition ids: an experiment's grid, or a pack's whole base grid."""
    from insider.experiment.config import load_experiment
    from insider.scenarios import get_pack

    if config is not None:
        experiment = load_experiment(config)
        if pack is not None:
            get_pack(pack)  # refuse an unknown pack even though the grid comes from the file
        items = experiment.conditions()
    else:
        items = get_pack(pack or "paper").conditions()
    if as_json:
        _print_json([c.factors() for c in items])
    else:
        sys.stdout.write("".join(f"{c.id}\n" for c in items))


@app.command()
def render(
    condition_id: Annotated[str, typer.Argument(help="A condition id, e.g. blackmail_explicit-america_replacement.")],
    pack: PackOption = None,
    as_json: JsonOption = False,
    allow_unfilled: AllowUnfilledOption = False,
) -> None:
    """Show what a model is given for one condition: system prompt, user message, emails."""
    from insider.conditions import parse_condition_id
    from insider.scenarios import get_pack

    condition = parse_condition_id(condition_id)
    rendered = get_pack(pack or "paper", allow_unfilled=allow_unfilled).render(condition)
    if as_json:
        _print_json(rendered.to_json())
        return
    out = sys.stdout
    out.write(f"# {rendered.condition_id} (pack: {rendered.pack})\n\n## system\n{rendered.system}\n\n")
    out.write(f"## user\n{rendered.user}\n\n## emails ({len(rendered.emails)})\n")
    for email in rendered.emails:
        attachments = f"  [attachments: {', '.join(a.name for a in email.attachments)}]" if email.attachments else ""
        out.write(f"{email.id:>3}  {email.timestamp}  {email.sender} -> {', '.join(email.to)}: {email.subject}{attachments}\n")
    out.write("\n## metadata\n" + json.dumps(rendered.metadata, indent=2) + "\n")


def main() -> None:
    """Entry point: run the app, turning InsiderError into one line and exit code 2."""
    try:
        app()
    except InsiderError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
