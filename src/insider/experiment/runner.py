"""Run an experiment through Inspect's eval-set: run it again and it resumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from inspect_ai import eval_set
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log, read_eval_log_sample_summaries
from inspect_ai.model import get_model

from insider.errors import InsiderError, one_line
from insider.experiment import budget
from insider.experiment.config import Experiment
from insider.experiment.estimate import Estimate, estimate_experiment, prompt_tokens
from insider.experiment.preflight import (
    check_context,
    check_judge,
    check_local_context,
    check_model,
    reasoning_room,
    thinking_budget,
    unsupported_settings,
)
from insider.experiment.pricing import usage_cost
from insider.experiment.tasks import check_mode, experiment_task, render_all
from insider.inputs import unreadable_log
from insider.redact import guard


@dataclass
class RunResult:
    """What a run left behind."""

    log_dir: str
    complete: bool
    logs: list[EvalLog]
    estimate: Estimate
    spent_usd: float
    budget_reached: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def prepare(experiment: Experiment, require_keys: bool = True) -> Estimate:
    """Everything that can fail before a model call: pack, mode, rendering, models, keys, context.

    `require_keys=False` (for estimates) lets missing API keys pass.
    """
    check_mode(experiment.pack, experiment.mode)
    conditions = [c.id for c in experiment.conditions()]
    prompts = render_all(experiment.pack, conditions, experiment.allow_unfilled)
    longest = max(prompts, key=lambda p: prompt_tokens(p, experiment.mode))
    longest_tokens = prompt_tokens(longest, experiment.mode)
    for i, entry in enumerate(experiment.models):
        where = f"models[{i}]" + (f" ({entry.label})" if entry.label != entry.model else "")
        settings = experiment.generate_settings(entry)
        model = check_model(entry.model, where, require_keys, experiment.provider_args(entry))
        api = model.api if model is not None else None
        problems = unsupported_settings(entry.model, settings, api) + [p for p in [reasoning_room(settings, api)] if p]
        if problems:
            raise InsiderError(f"{where}: " + "; ".join(problems))
        max_tokens = settings.get("max_tokens") or 0
        check_context(entry.model, longest_tokens, max_tokens, longest.condition_id, thinking_budget(settings, api) or 0)
        if entry.model.startswith("insider-local/"):
            check_local_context(entry.model, experiment.provider_args(entry), prompts, experiment.mode, max_tokens or 1024)
    check_judge(experiment.judge, {c.scenario for c in experiment.conditions()}, require_keys)
    return estimate_experiment(experiment, prompts)


def log_headers(log_dir: str) -> list[EvalLog]:
    """The header of every log already in `log_dir`; one that cannot be read (a crash truncated it)
    stops the run in one line before anything is written."""
    if Path(log_dir).exists() and not Path(log_dir).is_dir():
        raise InsiderError(f"run.log_dir {log_dir} is a file, not a directory; choose another log dir (--log-dir)")
    if not Path(log_dir).is_dir():
        return []
    headers = []
    for info in list_eval_logs(log_dir):
        try:
            headers.append(read_eval_log(info, header_only=True))
            read_eval_log_sample_summaries(info)
        except Exception as exc:  # whatever the reader raises, the file is unusable: name it
            fix = f"move it out of {log_dir} and run again: the samples it held run again"
            raise unreadable_log(unquote(urlparse(info.name).path), exc, fix) from None
    return headers


def spend_in_logs(headers: list[EvalLog], experiment: Experiment) -> float:
    """Dollars recorded by earlier runs (0 when there are none)."""
    total = 0.0
    for header in headers:
        for model, usage in (header.stats.model_usage if header.stats else {}).items():
            total += usage_cost(model, usage, batch=bool(experiment.run.batch), overrides=experiment.run.prices) or 0.0
    return total


def _outcome_counts(logs: list[EvalLog]) -> dict[str, dict[str, int]]:
    """Per model entry (label): harmful / safe / unscored / error counts from the logs' verdict scores."""
    from insider.judges.verdict import score_outcome, verdict_key

    counts: dict[str, dict[str, int]] = {}
    for log in logs:
        label = (log.eval.metadata or {}).get("model_label") or log.eval.model
        model_counts = counts.setdefault(label, {"harmful": 0, "safe": 0, "unscored": 0, "error": 0})
        for sample in read_eval_log_sample_summaries(log.location):
            if sample.error:
                model_counts["error"] += 1
                continue
            key = verdict_key(sample.scores)
            model_counts[score_outcome(sample.scores[key] if key else None)] += 1
    return counts


def run_experiment(experiment: Experiment, display: str | None = None) -> RunResult:
    """Run (or resume) an experiment; finished samples in the log dir are kept, not re-run."""
    estimate = prepare(experiment)
    run = experiment.run
    expected = estimate.cost_expected_usd
    if run.budget_usd is not None and expected is not None and expected > run.budget_usd:
        raise InsiderError(
            f"estimated cost ${expected:,.2f} exceeds run.budget_usd ${run.budget_usd:,.2f}; "
            "raise the budget, cut the grid or samples, or see `insider estimate`"
        )
    earlier = spend_in_logs(log_headers(run.log_dir), experiment)
    spend = budget.start_spend(run.budget_usd, earlier, bool(run.batch), run.prices)
    # each model judge through its role, built here so that its errors are redacted (see insider.redact)
    model_roles = {role: guard(get_model(name, memoize=False)) for role, name in experiment.judge.roles().items()} or None
    try:
        complete, logs = eval_set(
            tasks=[experiment_task(experiment, entry) for entry in experiment.models],
            log_dir=run.log_dir,
            model=None,
            model_roles=model_roles,
            retry_attempts=run.retry_attempts,
            retry_on_error=run.retry_on_error,
            fail_on_error=True,
            continue_on_fail=True,
            log_buffer=run.log_buffer,
            log_realtime=run.log_realtime,
            display=display,
            **run.inspect_settings(),
        )
    except PrerequisiteError as exc:
        message = one_line(str(exc))
        if "not associated with a task" in message:
            raise InsiderError(
                f"{run.log_dir} holds logs of a different design (grid, pack, mode, samples, judge, limits, or a "
                "model entry's label or settings changed); use a new run.log_dir, or re-judge old logs with `insider judge`"
            ) from None
        raise InsiderError(message) from None
    return RunResult(
        log_dir=run.log_dir,
        complete=complete,
        logs=logs,
        estimate=estimate,
        spent_usd=spend.total_usd,
        budget_reached=spend.refused_samples > 0,
        counts=_outcome_counts(logs),
    )
