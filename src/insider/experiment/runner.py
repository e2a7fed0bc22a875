"""Run an experiment through Inspect's eval-set: run it again and it resumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from inspect_ai import Task, eval_set
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.log import EvalLog, read_eval_log, read_eval_log_sample_summaries
from inspect_ai.model import get_model

from insider import logdir
from insider.errors import InsiderError, one_line
from insider.experiment import budget
from insider.experiment.config import Experiment
from insider.experiment.estimate import Estimate, estimate_experiment
from insider.experiment.preflight import NEEDED_TO_RUN, PreflightError, experiment_problems
from insider.experiment.shards import (
    Layout,
    Shard,
    check_layout,
    classify,
    conditions_by_task,
    read_layout,
    shard_dir,
)
from insider.experiment.tasks import design_id, experiment_task, task_name
from insider.inputs import unreadable_log
from insider.logdir import LogFile
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
    """Everything that can fail before a model call (`insider.experiment.preflight`), all of it
    reported at once as a `PreflightError`; then the estimate.

    `require_keys=False` (for estimates) lets missing API keys and provider SDKs pass.
    """
    prompts, problems = experiment_problems(experiment)
    if not require_keys:
        problems = [problem for problem in problems if problem.kind not in NEEDED_TO_RUN]
    if problems:
        raise PreflightError(problems)
    return estimate_experiment(experiment, prompts)


def check_log_dir(log_dir: str, logs: list[LogFile]) -> None:
    """The log dir is a directory (or not there yet), and every log already in it can be read: one
    that cannot (a crash truncated it) stops the run in one line before anything is written."""
    if logdir.is_file(log_dir):
        raise InsiderError(f"run.log_dir {log_dir} is a file, not a directory; choose another log dir (--log-dir)")
    for log in logs:
        try:
            read_eval_log(log.location, header_only=True)
            read_eval_log_sample_summaries(log.location)
        except Exception as exc:  # whatever the reader raises, the file is unusable: name it
            fix = f"move it out of {log_dir} and run again: the samples it held run again"
            raise unreadable_log(log.location, exc, fix) from None


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


def _tasks(experiment: Experiment, shard: Shard | None) -> list[Task]:
    """One task per pack and model entry (each bound to its model); for a shard, only the pairs
    with cells in it, each with its share of the conditions."""
    pairs = [(pack, entry) for pack in experiment.pack_names for entry in experiment.models]
    if shard is None:
        return [experiment_task(experiment, entry, pack) for pack, entry in pairs]
    chosen = conditions_by_task(experiment, shard)
    return [
        experiment_task(experiment, entry, pack, chosen[(pack, entry.label)], shard=str(shard))
        for pack, entry in pairs
        if (pack, entry.label) in chosen
    ]


def _eval_set_id(experiment: Experiment, shard: Shard | None) -> str | None:
    """For a shard's first run: one eval-set id shared by every shard of the same log dir.

    Derived from the design and the log dir, so shards on different machines agree on it
    without talking to each other (None: Inspect's own, a new id or the one already there).
    """
    log_dir = experiment.run.log_dir
    if shard is None or logdir.exists(logdir.join(shard_dir(log_dir, shard), ".eval-set-id")):
        return None
    digest = hashlib.sha256(f"{design_id(experiment)}\0{logdir.normalize(log_dir)}".encode()).hexdigest()
    return f"{task_name(experiment)}-{digest[:12]}"


def run_experiment(experiment: Experiment, display: str | None = None, shard: Shard | None = None) -> RunResult:
    """Run (or resume) an experiment, or one shard of it; finished samples in the log dir are kept, not re-run."""
    estimate = prepare(experiment)
    run = experiment.run
    expected = estimate.cost_expected_usd
    if run.budget_usd is not None and expected is not None and expected > run.budget_usd:
        raise InsiderError(
            f"estimated cost ${expected:,.2f} exceeds run.budget_usd ${run.budget_usd:,.2f}; "
            "raise the budget, cut the grid or samples, or see `insider estimate`"
        )
    layout = read_layout(run.log_dir)
    check_log_dir(run.log_dir, layout.logs)
    check_layout(layout, shard, design_id(experiment))
    log_dir = shard_dir(run.log_dir, shard)
    spend = _start_spend(experiment, layout, shard)
    tasks = _tasks(experiment, shard)
    if not tasks:  # more shards than cells: this one has nothing to do
        return RunResult(log_dir=log_dir, complete=True, logs=[], estimate=estimate, spent_usd=spend.total_usd, budget_reached=False)
    # each model judge through its role, built here so that its errors are redacted (see insider.redact)
    model_roles = {role: guard(get_model(name, memoize=False)) for role, name in experiment.judge.roles().items()} or None
    try:
        with logdir.storage(log_dir):
            complete, logs = eval_set(
                tasks=tasks,
                log_dir=log_dir,
                model=None,
                model_roles=model_roles,
                retry_attempts=run.retry_attempts,
                retry_on_error=run.retry_on_error,
                fail_on_error=True,
                continue_on_fail=True,
                log_buffer=run.log_buffer,
                log_realtime=run.log_realtime,
                display=display,
                eval_set_id=_eval_set_id(experiment, shard),
                **run.inspect_settings(),
            )
    except PrerequisiteError as exc:
        message = one_line(str(exc))
        if "not associated with a task" in message:
            raise InsiderError(
                f"{log_dir} holds logs of a different design (grid, pack, mode, samples, judge, limits, or a "
                "model entry's label or settings changed); use a new run.log_dir, or re-judge old logs with `insider judge`"
            ) from None
        raise InsiderError(message) from None
    return RunResult(
        log_dir=log_dir,
        complete=complete,
        logs=logs,
        estimate=estimate,
        spent_usd=spend.total_usd,
        budget_reached=spend.refused_samples > 0,
        counts=_outcome_counts(logs),
    )


def _start_spend(experiment: Experiment, layout: Layout, shard: Shard | None) -> budget.Spend:
    """The run's spend counter; with a budget, seeded from the logs already in the log dir."""
    run = experiment.run
    price = {"batch": bool(run.batch), "overrides": run.prices}
    if run.budget_usd is None:
        return budget.start_spend(None, **price)
    own = layout.unsharded if shard is None else layout.shards.get(shard, [])
    return budget.start_spend(
        run.budget_usd,
        budget.logged_spend([log.location for log in own], **price),
        others_usd=0.0 if shard is None else budget.logged_spend(layout.other_shards(shard), **price),
        others=None if shard is None else partial(_other_shards_spend, run.log_dir, shard, price),
        refresh_seconds=run.budget_refresh,
        **price,
    )


async def _other_shards_spend(log_dir: str, shard: Shard, price: dict[str, Any]) -> float:
    """What the other shards' logs record now (read during the run, in its event loop)."""
    layout = classify(log_dir, await logdir.log_files_async(log_dir))
    return await budget.logged_spend_async(layout.other_shards(shard), **price)
