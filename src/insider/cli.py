"""The `insider` command line: thin wrappers around the library."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer's own (vendored) click

from insider.errors import InsiderError, ProblemsError
from insider.redact import redact

if TYPE_CHECKING:
    from rich.table import Table

    from insider.experiment.config import Experiment
    from insider.experiment.estimate import Estimate
    from insider.experiment.status import ShardStatus
    from insider.judges.config import JudgeConfig

app = typer.Typer(
    name="insider",
    help="Agentic-misalignment stress tests for LLM agents, built on Inspect AI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _dotenv() -> None:
    # Before any command: a .env file in the working directory (or above it) sets environment
    # variables, as Inspect's own CLI reads it (variables already set win). Inspect imports here.
    from inspect_ai._util.dotenv import init_dotenv

    init_dotenv()

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


ConfigArgument = Annotated[Path, typer.Argument(help="Experiment file (YAML), e.g. configs/quickstart.yaml.")]


def _estimate_table(estimate: "Estimate") -> "Table":
    from rich.table import Table

    def money(value: float | None) -> str:
        return "unpriced" if value is None else f"${value:,.2f}"

    def count(value: int) -> str:
        return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.1f}k" if value >= 1e4 else f"{value:,}"

    reasoning = any(row.reasoning_tokens_max for row in estimate.rows)
    packs = f" x {estimate.packs} packs" if estimate.packs > 1 else ""
    table = Table(title=f"{estimate.experiment}: {estimate.conditions} conditions{packs} x {estimate.samples_per_condition} samples")
    table.add_column("model", overflow="fold")
    columns = ("calls", "input", "cached", "output exp / max", *(["reasoning"] if reasoning else []), "cost exp / max")
    for column in columns:
        table.add_column(column, justify="right")
    for row in estimate.rows:
        cached = f"{row.cached_input_tokens / row.input_tokens:.0%}" if row.input_tokens else "-"
        thinking = [f"{count(row.reasoning_tokens_expected)} / {count(row.reasoning_tokens_max)}"] if reasoning else []
        table.add_row(
            row.model + (" (judge)" if row.role == "judge" else ""),
            count(row.calls), count(row.input_tokens), cached,
            f"{count(row.output_tokens_expected)} / {count(row.output_tokens_max)}",
            *thinking,
            f"{money(row.cost_expected_usd)} / {money(row.cost_max_usd)}",
        )
    labelled: dict[str, list[str]] = {}
    for row in estimate.rows:
        if row.base_model and row.model != row.base_model:
            labelled.setdefault(row.base_model, []).append(row.model)
    entries = [f"{', '.join(labels)}: {base}" for base, labels in labelled.items()]
    table.caption = "; ".join([*entries, *estimate.assumptions])
    return table


@app.command()
def estimate(config: ConfigArgument, as_json: JsonOption = False) -> None:
    """Estimate samples, calls, tokens and dollars per model, before running anything."""
    from insider.experiment.config import load_experiment
    from insider.experiment.runner import prepare

    result = prepare(load_experiment(config), require_keys=False)
    if as_json:
        _print_json(
            {**result.model_dump(), "cost_expected_usd": result.cost_expected_usd, "cost_max_usd": result.cost_max_usd}
        )
        return
    console.print(_estimate_table(result))
    total = result.cost_expected_usd
    console.print(
        f"total: {'unpriced models: ' + ', '.join(result.unpriced) if total is None else f'${total:,.2f} expected, ${result.cost_max_usd:,.2f} at most'}",
        highlight=False,
    )


@app.command()
def check(config: ConfigArgument) -> None:
    """Check an experiment as `insider run` does before its first call, and list every problem, by model."""
    from insider.experiment.config import load_experiment
    from insider.experiment.preflight import experiment_problems, report

    experiment = load_experiment(config)
    _, problems = experiment_problems(experiment)
    if problems:
        console.print(f"{config}: {len(problems)} problem{'s' if len(problems) > 1 else ''}; nothing was run", highlight=False, soft_wrap=True)
        for line in report(problems):
            console.print(escape(redact(line)), highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    entries, conditions = len(experiment.models), len(experiment.conditions())
    console.print(
        f"{config}: ready: {entries} model entr{'ies' if entries > 1 else 'y'} x {conditions} conditions x "
        f"{experiment.samples} samples; pre-flight found no problem",
        highlight=False, soft_wrap=True,
    )  # fmt: skip


@app.command()
def run(
    config: ConfigArgument,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything and print the estimate; call no model.")] = False,
    log_dir: Annotated[
        Optional[str], typer.Option("--log-dir", help="Override run.log_dir (a path, or a URL such as s3://bucket/prefix).")
    ] = None,
    display: Annotated[
        Optional[str], typer.Option("--display", help="Inspect's progress display: full, conversation, rich, plain, log, none.")
    ] = None,
    shard: Annotated[
        Optional[str],
        typer.Option(
            "--shard",
            help="Run shard I of N (e.g. 2/3): a deterministic 1/N of the cells (pack x condition x model), into the same log dir.",
        ),
    ] = None,
    ray: Annotated[
        Optional[str],
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Run the shards as Ray tasks: on the cluster at ADDRESS (ray://host:10001, host:6379, auto), "
            "or on a new local Ray instance without one. Needs the extra insider\\[ray].",
        ),
    ] = None,
    shards: Annotated[
        Optional[int], typer.Option("--shards", min=1, help="With --ray: how many shards (default: the log dir's count, else one per CPU of the cluster).")
    ] = None,
) -> None:
    """Run an experiment (or resume it: finished samples are kept, failed and missing ones run)."""
    from insider.experiment.config import load_experiment
    from insider.experiment.runner import prepare, run_experiment
    from insider.experiment.shards import Shard

    experiment = load_experiment(config)
    if log_dir is not None:
        experiment.run.log_dir = log_dir
    if shard is not None and ray is not None:
        raise InsiderError("--shard and --ray do not go together: --ray runs every shard (choose how many with --shards)")
    if shards is not None and ray is None:
        raise InsiderError("--shards goes with --ray; to run one shard of N on this machine use --shard I/N")
    chosen = Shard.parse(shard) if shard is not None else None
    if dry_run:
        console.print(_estimate_table(prepare(experiment)))
        console.print("dry run: no model was called", highlight=False)
        return
    if ray is not None:
        _run_on_ray(config, experiment, ray, shards)
        return
    result = run_experiment(experiment, display=display, shard=chosen)
    if chosen is not None and not result.logs:
        console.print(f"shard {chosen} has no cells: the grid has fewer cells than {chosen.count}", highlight=False)
    for model, counts in result.counts.items():
        console.print(f"{model}: " + ", ".join(f"{k} {v}" for k, v in counts.items()), highlight=False)
    if result.budget_reached:
        console.print(
            f"budget reached: ${result.spent_usd:,.2f} spent; samples not started are errors and run when you "
            "raise run.budget_usd and run again",
            highlight=False,
        )
    state = "complete" if result.complete else "incomplete (errored samples are retried when you run the same command again)"
    console.print(f"logs: {result.log_dir} ({state})", highlight=False)
    if not result.complete:
        raise typer.Exit(1)


def _run_on_ray(config: Path, experiment: "Experiment", address: str, shards: int | None) -> None:
    from insider.experiment.ray_shards import run_on_ray
    from insider.experiment.status import experiment_status

    finished = run_on_ray(
        config, experiment, address=None if address == LOCAL_RAY else address, shards=shards,
        on_finish=lambda outcome: console.print(outcome.line(), highlight=False, soft_wrap=True),
    )  # fmt: skip
    count, rows = experiment_status(experiment, shards=finished.shards)
    console.print(_status_table(experiment, count, rows))
    if not all(outcome.complete for outcome in finished.outcomes):
        raise typer.Exit(1)


def _status_table(experiment: "Experiment", count: int | None, rows: list["ShardStatus"]) -> "Table":
    from rich import box
    from rich.table import Table

    def age(seconds: float | None) -> str:
        if seconds is None:
            return "-"
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if seconds >= size:
                return f"{seconds / size:.0f} {unit} ago"
        return f"{seconds:.0f} s ago"

    layout = f"{count} shards" if count else "unsharded"
    table = Table(title=f"{experiment.name}: {layout} in {experiment.run.log_dir}", title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0))
    table.add_column("shard")
    for column in ("samples", "done", "errored", "missing", "spend"):
        table.add_column(column, justify="right")
    table.add_column("state", no_wrap=True)
    table.add_column("last write", justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.shard, f"{row.samples:,}", f"{row.done:,}", f"{row.errored:,}", f"{row.missing:,}",
            f"${row.spend_usd:,.2f}", row.state, age(row.last_write_age),
            end_section=len(rows) > 1 and row is rows[-2],  # a rule above the `all` row
        )  # fmt: skip
    if any(row.state == "started" for row in rows):
        table.caption = "started: a log is still open: running now, or killed (see last write)"
    return table


@app.command()
def status(
    config: ConfigArgument,
    log_dir: Annotated[Optional[str], typer.Option("--log-dir", help="Override run.log_dir.")] = None,
    shards: Annotated[
        Optional[int], typer.Option("--shards", min=1, help="Show the split into N shards before any shard has written a log.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """How far a run has got, per shard and overall: samples done, errored and missing, and dollars spent."""
    from insider.experiment.config import load_experiment
    from insider.experiment.status import experiment_status

    experiment = load_experiment(config)
    if log_dir is not None:
        experiment.run.log_dir = log_dir
    count, rows = experiment_status(experiment, shards=shards)
    if as_json:
        _print_json({"experiment": experiment.name, "log_dir": experiment.run.log_dir, "shards": count, "rows": [r.to_json() for r in rows]})
    else:
        console.print(_status_table(experiment, count, rows))


JudgeOption = Annotated[
    list[str],
    typer.Option(
        "--judge",
        help="The judge: 'rules' (offline, no model) or an Inspect model name used as the grader. "
        "Give it several times for a panel.",
    ),
]
PolicyOption = Annotated[
    str, typer.Option("--policy", help="Headline verdict: strict (gate AND judge) or paper (the study's exact rule).")
]
PromptsOption = Annotated[
    Optional[str],
    typer.Option(
        "--prompts",
        help="Prompt set of model judges: study (the study's classifiers, via inspect_evals) or insider. "
        "Default: study under --policy paper, insider under strict.",
    ),
]
AggregateOption = Annotated[
    str, typer.Option("--aggregate", help="How a panel's verdicts combine: majority, any or all.")
]
HideReasoningOption = Annotated[
    bool,
    typer.Option("--hide-reasoning", help="Show the harm judge only the agent's visible answer, not its reasoning."),
]


def _judge_config(judges: list[str], policy: str, prompts: str | None, aggregate: str, hide_reasoning: bool) -> "JudgeConfig":
    from pydantic import ValidationError

    from insider.experiment.config import format_validation_error
    from insider.judges.config import AGGREGATES, POLICIES, PROMPT_SETS, JudgeConfig

    for flag, value, allowed in (
        ("policy", policy, POLICIES), ("prompts", prompts, PROMPT_SETS), ("aggregate", aggregate, AGGREGATES)
    ):
        if value is not None and value not in allowed:
            raise InsiderError(f"unknown {flag} {value!r}; expected {' or '.join(allowed)} (--{flag})")
    fields = {"models": judges} if len(judges) > 1 else {"model": judges[0] if judges else "rules"}
    try:
        return JudgeConfig(policy=policy, prompts=prompts, aggregate=aggregate, show_reasoning=not hide_reasoning, **fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InsiderError(format_validation_error("--judge", exc, JudgeConfig)) from None


def _judge(config: "JudgeConfig"):
    from insider.judges.factory import make_judge, named_graders

    return make_judge(config, named_graders(config))


@app.command()
def judge(
    log_dir: Annotated[str, typer.Argument(help="Directory of Inspect logs from `insider run`: a path or a URL (s3://...).")],
    judge_models: JudgeOption = ["rules"],
    policy: PolicyOption = "strict",
    prompts: PromptsOption = None,
    aggregate: AggregateOption = "majority",
    hide_reasoning: HideReasoningOption = False,
    awareness: Annotated[
        bool, typer.Option("--awareness", help="Add eval-awareness labels too (also to samples this judge already scored).")
    ] = False,
) -> None:
    """Re-judge saved transcripts (no agent is re-run); adds a score per judge, keeps the old ones."""
    import asyncio

    from insider.judges.rejudge import format_summary, rejudge

    config = _judge_config(judge_models, policy, prompts, aggregate, hide_reasoning)
    for summary in asyncio.run(rejudge(log_dir, config, _judge(config), awareness=awareness)):
        console.print(format_summary(summary), highlight=False, soft_wrap=True)


@app.command("validate-judge")
def validate_judge(
    labels: Annotated[
        Path, typer.Argument(help="JSON lines: {scenario, response, label} (+ optional id, condition_id, pack).")
    ],
    judge_models: JudgeOption = ["rules"],
    policy: PolicyOption = "strict",
    prompts: PromptsOption = None,
    aggregate: AggregateOption = "majority",
    hide_reasoning: HideReasoningOption = False,
    as_json: JsonOption = False,
) -> None:
    """Measure a judge against hand labels: accuracy, precision, recall, Cohen's kappa, disagreements."""
    import asyncio

    from insider.judges.validate import format_report
    from insider.judges.validate import validate_judge as run_validation

    config = _judge_config(judge_models, policy, prompts, aggregate, hide_reasoning)
    report = asyncio.run(run_validation(labels, config, _judge(config)))
    if as_json:
        _print_json(report.model_dump())
    else:
        sys.stdout.write(format_report(report))


ScoreOption = Annotated[
    Optional[str],
    typer.Option("--score", help="Verdict score key to read, e.g. insider_verdict_rules (default: each sample's latest verdict)."),
]


@app.command()
def results(
    log_dirs: Annotated[
        list[str], typer.Argument(help="Log directories (or .eval files) from `insider run`: paths or URLs (s3://...).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output file: .parquet, .csv or .jsonl (by suffix).")],
    score: ScoreOption = None,
) -> None:
    """Write the results table: one row per (model, condition, epoch) with outcome, gates, judge, tokens, cost."""
    from insider.analysis.results import check_results_path, results_table, write_results

    check_results_path(out)
    table = results_table(log_dirs, score=score)
    write_results(table, out)
    counts = table["outcome"].value_counts()
    summary = ", ".join(f"{counts.get(o, 0)} {o}" for o in ("harmful", "safe", "unscored", "error"))
    console.print(f"{out}: {len(table)} rows ({summary})", highlight=False, soft_wrap=True)


@app.command()
def report(
    source: Annotated[
        list[str],
        typer.Argument(help="Log directories from `insider run` (paths or URLs such as s3://...), or one results file (.parquet/.csv/.jsonl)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the report into.")] = Path("report"),
    compare_paper: Annotated[
        bool, typer.Option("--compare-paper", help="Add the replication check against the study's published rates.")
    ] = False,
    transcripts: Annotated[
        int, typer.Option("--transcripts", min=-1, help="Transcripts embedded per cell and outcome (-1: all, 0: none).")
    ] = 10,
    score: ScoreOption = None,
) -> None:
    """Write summary.json, summary.md, plots and a self-contained report.html."""
    from insider.analysis.report import analyse, load, write_report
    from insider.outputs import OutputDir

    OutputDir(out)  # an --out that cannot be a directory fails before any work
    table, from_logs = load(source, score=score)
    analysis = analyse(table, [str(s) for s in source], from_logs, compare_paper=compare_paper)
    page = write_report(analysis, out, per_group=transcripts)
    console.print(f"report: {page}", highlight=False, soft_wrap=True)
    for note in analysis.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)


@app.command()
def view(
    log_dir: Annotated[str, typer.Argument(help="Log directory to browse: a path or a URL (s3://...).")],
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")] = 7575,
) -> None:
    """Open Inspect's transcript viewer on 127.0.0.1 (Ctrl-C stops it)."""
    from insider import logdir

    if not logdir.is_dir(log_dir):
        problem = "is not a directory" if logdir.exists(log_dir) else "not found"
        raise InsiderError(f"log directory {log_dir} {problem}; pass the run's log_dir (default: logs)")
    command = [sys.executable, "-m", "inspect_ai", "view", "start", "--log-dir", log_dir, "--host", "127.0.0.1", "--port", str(port)]
    console.print(f"Inspect viewer: http://127.0.0.1:{port}", highlight=False)
    sys.stdout.flush()
    os.execv(sys.executable, command)  # the viewer takes over this process (and its signals)


@app.command()
def vary(
    pack: Annotated[str, typer.Argument(help="The pack to vary: paper, builtin, or a pack directory.")],
    out: Annotated[Path, typer.Option("--out", help="Directory that receives one sub-directory per variant.")],
    variants: Annotated[int, typer.Option("--variants", min=1, max=999, help="How many variants.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice (same seed, same variants).")] = 0,
    perturb: Annotated[
        Optional[str],
        typer.Option("--perturb", help="Comma-separated: names, dates, distractors, order, style (default: all; paper: names, dates, distractors)."),
    ] = None,
    paraphrase: Annotated[
        Optional[str], typer.Option("--paraphrase", help="An Inspect model that rewrites the prose of emails and stories, every fact kept.")
    ] = None,
    min_realism: Annotated[
        Optional[float], typer.Option("--min-realism", help="Drop variants whose mean realism score (1-10, rated by --judge) is below this.")
    ] = None,
    judge: Annotated[Optional[str], typer.Option("--judge", help="The Inspect model that rates realism (with --min-realism).")] = None,
    conditions: Annotated[
        Optional[list[str]], typer.Option("--conditions", help="With --min-realism: the condition ids rated (default: the whole grid).")
    ] = None,
) -> None:
    """Write variant packs of a pack: reworded, renamed, re-dated, with distractors, each a valid pack."""
    from insider.variants.vary import VariantResult
    from insider.variants.vary import vary as make_variants

    def report(result: VariantResult) -> None:
        what = ", ".join(result.perturbations) or "no perturbation"
        line = f"{result.path}: {what}"
        if result.paraphrased or result.rejected:
            line += f"; paraphrased {result.paraphrased} parts, kept {len(result.rejected)} as written"
        line += f" ({result.conditions} conditions)"
        if result.realism is not None:
            line += f", realism {result.realism:.2f}"
        if result.dropped:
            line = f"dropped {result.name}: {result.dropped}"
        console.print(line, highlight=False, soft_wrap=True)
        for part, reason in result.rejected.items():
            console.print(f"  paraphrase rejected: {part}: {reason}", highlight=False, soft_wrap=True)

    results = make_variants(
        pack, out, variants, seed=seed, perturbations=perturb, paraphrase=paraphrase, min_realism=min_realism,
        judge=judge, conditions=conditions, on_variant=report,
    )  # fmt: skip
    kept = sum(1 for r in results if not r.dropped)
    console.print(f"{kept} of {len(results)} variants written to {out}", highlight=False, soft_wrap=True)


@app.command()
def realism(
    pack: Annotated[str, typer.Argument(help="A pack directory (e.g. a variant from `insider vary`); realism.json is written into it.")],
    judge: Annotated[str, typer.Option("--judge", help="The Inspect model that rates each condition.")],
    conditions: Annotated[
        Optional[list[str]], typer.Option("--conditions", help="Condition ids to rate (repeat the option; default: the whole grid).")
    ] = None,
) -> None:
    """Rate how much each rendered condition reads like real deployment rather than a test (1-10)."""
    import asyncio

    from insider.variants.realism import rate_pack

    result, ratings = asyncio.run(rate_pack(pack, judge, conditions))
    for rating in ratings:
        if rating.score is not None:
            console.print(f"{rating.condition_id}: {rating.score.score}  {rating.score.reasons}", highlight=False, soft_wrap=True)
        else:
            console.print(f"{rating.condition_id}: no score ({rating.failure})", highlight=False, soft_wrap=True)
    mean = "none" if result.mean is None else f"{result.mean:.2f}"
    failed = sum(1 for r in ratings if r.score is None)
    console.print(
        f"realism {mean} over {len(result.scores)} rated conditions; {failed} failed; written to {Path(pack) / 'realism.json'}",
        highlight=False, soft_wrap=True,
    )  # fmt: skip
    if failed:
        raise typer.Exit(1)


#: what `--ray` means without an address: start a local Ray instance
LOCAL_RAY = "local"
_RAY_ADDRESS = re.compile(r"^(auto|local|ray://\S+|[A-Za-z0-9.-]+:\d+)$")


def _ray_address_optional(argv: list[str]) -> list[str]:
    """Let `--ray` stand without its ADDRESS (typer options always take a value): it then means `local`."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg == "--ray" and (i + 1 == len(argv) or not _RAY_ADDRESS.match(argv[i + 1])):
            out.append(LOCAL_RAY)
    return out


def _fail(message: str, code: int = 2) -> NoReturn:
    """Print one `error:` line on stderr (credentials redacted) and exit."""
    err_console.print(f"[bold red]error:[/] {escape(redact(' '.join(message.split())))}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _report(headline: str, lines: list[str], code: int = 2) -> NoReturn:
    """Print an `error:` headline and the lines under it on stderr (credentials redacted), and exit."""
    err_console.print(f"[bold red]error:[/] {escape(redact(headline))}", highlight=False, soft_wrap=True)
    for line in lines:
        err_console.print(escape(redact(line)), highlight=False, soft_wrap=True)
    sys.exit(code)


def main() -> None:
    """Entry point: every failure is one `error:` line on stderr and exit code 2 (130 when interrupted)."""
    sys.argv = _ray_address_optional(sys.argv)
    try:
        code = app(standalone_mode=False, prog_name="insider")
    except NoArgsIsHelpError as exc:  # bare `insider`: the help, as before
        sys.stdout.write(exc.ctx.get_help() + "\n" if exc.ctx else "")
        sys.exit(2)
    except UsageError as exc:
        where = f"; see `{exc.ctx.command_path} --help`" if exc.ctx else ""
        _fail(exc.format_message().rstrip(".") + where)
    except typer.TyperException as exc:
        _fail(exc.format_message())
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except ProblemsError as exc:
        if exc.count > 1:
            _report(exc.headline, exc.lines)
        _fail(str(exc))
    except InsiderError as exc:
        _fail(str(exc))
    except BrokenPipeError:  # `insider conditions | head`: the reader stopped reading
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (nothing more may reach the closed pipe)
        sys.exit(1)
    except OSError as exc:  # the file system refused (permission, disk full, a path that is not a directory)
        _fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc))
    sys.exit(code if isinstance(code, int) else 0)
