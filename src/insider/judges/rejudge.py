"""Re-judge saved logs without re-running any agent (`insider judge`).

Each judge writes under its own score key (`score_key`): `insider_verdict_rules`,
`insider_verdict_<model>` (the model name lower-cased, every run of other characters turned
into `_`), `insider_verdict_panel_<aggregate>_<members>` for a panel, with `_study` appended for
model judges asked with the study's prompts, `_visible` when the judge did not see the agent's
reasoning, and `_paper` under the paper policy. Scores under other keys are never touched.
Running the same judge again judges only the samples it has not scored yet (none, or unscored),
so an interrupted or partly failed re-judge can be resumed; with `awareness`, samples it scored
without an awareness label get one.

A directory is handled as a whole: every log in it is read and checked before any is rewritten,
so one unreadable log changes nothing. Errored samples stay errored and get no score. Each log
is rewritten atomically, and eval-set's manifest (`logs.json`) is rewritten after each, so it
always lists the scores the logs hold.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from inspect_ai.log import (
    EvalLog,
    EvalSample,
    list_eval_logs,
    read_eval_log,
    recompute_metrics,
    resolve_sample_attachments,
    write_eval_log,
    write_log_dir_manifest,
)
from inspect_ai.log._log import EvalMetricDefinition, EvalScorer  # not re-exported by inspect_ai.log
from inspect_ai.scorer import Score

from insider import logdir
from insider.errors import InsiderError
from insider.judges.base import Judge
from insider.judges.config import JudgeConfig
from insider.judges.factory import check_scenarios, make_judge, named_graders
from insider.judges.scorer import judge_sample, label_awareness
from insider.judges.verdict import SCORE_PREFIX, is_scored

#: eval-set's manifest of log headers
MANIFEST = "logs.json"
#: the live scorer's metrics, recorded for a re-judge key so Inspect recomputes them
_METRICS = [EvalMetricDefinition(name="insider/harmful_rate"), EvalMetricDefinition(name="inspect_ai/stderr")]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def score_key(config: JudgeConfig) -> str:
    """The score key a re-judge writes, e.g. `insider_verdict_openai_gpt_4_1_study_paper`."""
    label = f"panel_{config.aggregate}_{_slug('_'.join(config.members))}" if config.is_panel else _slug(config.model)
    suffixes = [
        "study" if config.uses_model and config.prompt_set == "study" else "",
        "visible" if not config.show_reasoning else "",
        "paper" if config.policy == "paper" else "",
    ]
    return "_".join([SCORE_PREFIX, label, *filter(None, suffixes)])


@dataclass
class RejudgeSummary:
    """What a re-judge did to one log."""

    path: str
    key: str
    judged: int = 0
    kept: int = 0
    errored: int = 0
    #: samples already judged that got an awareness label now
    labelled: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"harmful": 0, "safe": 0, "unscored": 0})
    #: why the log was left alone (None when it was re-judged)
    skipped: str | None = None


@dataclass
class _Work:
    """One log's samples to judge and to label."""

    judge: list[EvalSample] = field(default_factory=list)
    label: list[EvalSample] = field(default_factory=list)


def _plan(log: EvalLog, key: str, awareness: bool, summary: RejudgeSummary) -> _Work:
    work = _Work()
    for sample in log.samples or []:
        existing = (sample.scores or {}).get(key)
        if sample.error is not None:
            summary.errored += 1
        elif not is_scored(existing):
            work.judge.append(sample)
        elif awareness and existing is not None and not (existing.metadata or {}).get("awareness"):
            work.label.append(sample)
        else:
            summary.kept += 1
    return work


def _skip_reason(log: EvalLog) -> str | None:
    if log.status == "started":
        return "still running"
    samples = log.samples or []
    if not samples or "scenario" not in (samples[0].metadata or {}):
        return "not an insider log (no samples with a scenario)"
    return None


async def _judge_one(sample: EvalSample, config: JudgeConfig, judge: Judge, awareness: bool) -> Score:
    resolved = resolve_sample_attachments(sample)
    return await judge_sample(
        resolved.messages, resolved.store, resolved.metadata, config, judge, awareness=awareness or None
    )


async def _label_one(sample: EvalSample, key: str, config: JudgeConfig, judge: Judge) -> Score:
    resolved = resolve_sample_attachments(sample)
    return await label_awareness(resolved.messages, resolved.store, resolved.metadata, config, judge, sample.scores[key])


def _write_atomically(log: EvalLog, location: str) -> None:
    """Write next to the original, then rename over it: a reader never sees half a log.

    An object store replaces an object whole on upload, so a URL is written in place.
    """
    if logdir.is_url(location):
        write_eval_log(log, location, format="json" if location.endswith(".json") else "eval")
        return
    path = Path(location)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write_eval_log(log, str(partial), format="json" if path.suffix == ".json" else "eval")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def read_checked(path: str | Path) -> EvalLog:
    """A whole log, or one line naming the file and why it cannot be read."""
    try:
        return read_eval_log(str(path))
    except Exception as exc:  # truncated zip, bad JSON, empty file, ...: reported as a bad file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InsiderError(
            f"cannot read log {path}: {reason}; nothing was re-judged (move the file out of the log "
            "directory, or run the experiment again to rewrite it)"
        ) from None


async def rejudge_log(
    path: str | Path, config: JudgeConfig, judge: Judge, *, awareness: bool = False
) -> RejudgeSummary:
    """Add (or complete) this judge's verdicts in one log file (a path or a URL)."""
    path = str(path)
    key = score_key(config)
    summary = RejudgeSummary(path=path, key=key)
    log = read_checked(path)
    summary.skipped = _skip_reason(log)
    if summary.skipped:
        return summary
    work = _plan(log, key, awareness, summary)
    scores = await asyncio.gather(
        *(_judge_one(sample, config, judge, awareness) for sample in work.judge),
        *(_label_one(sample, key, config, judge) for sample in work.label),
    )
    for sample, score in zip([*work.judge, *work.label], scores, strict=True):
        sample.scores = {**(sample.scores or {}), key: score}
    for score in scores[: len(work.judge)]:
        summary.outcomes[score.answer or "unscored"] += 1
    summary.judged, summary.labelled = len(work.judge), len(work.label)
    if scores:
        scorers = log.eval.scorers or []
        if not any(s.name == key for s in scorers):
            log.eval.scorers = [*scorers, EvalScorer(name=key, options={"judge": config.model_dump()}, metrics=_METRICS)]
        recompute_metrics(log)
        _write_atomically(log, path)
    return summary


def log_paths(log_dir: str | Path) -> list[str]:
    """The logs under `log_dir`, named as given (a relative path through `..` or a symlinked
    directory stays as typed; a URL such as s3://... as listed), in a stable order."""
    if logdir.is_url(str(log_dir)):
        if not logdir.is_dir(str(log_dir)):
            raise InsiderError(f"log directory {log_dir} not found; pass the run's log_dir (e.g. s3://bucket/prefix)")
        found = [log.location for log in logdir.log_files(str(log_dir))]
        if not found:
            raise InsiderError(f"no Inspect logs (.eval or .json) under {log_dir}")
        return found
    log_dir = Path(log_dir)
    if not log_dir.is_dir():
        what = "is not a directory" if log_dir.exists() else "not found"
        raise InsiderError(f"log directory {log_dir} {what}; pass the run's log_dir (e.g. logs/quickstart)")
    root = log_dir.resolve()
    found = [Path(unquote(urlparse(info.name).path)) for info in list_eval_logs(str(root))]
    if not found:
        raise InsiderError(f"no Inspect logs (.eval or .json) under {log_dir}")
    return [str(path) for path in sorted(log_dir / path.resolve().relative_to(root) for path in found)]


async def rejudge(
    log_dir: str | Path, config: JudgeConfig, judge: Judge | None = None, *, awareness: bool = False
) -> list[RejudgeSummary]:
    """Re-judge every log under `log_dir`: all are checked first, then judged one at a time
    (the samples of a log concurrently). `judge` defaults to the one `config` names."""
    judge = judge or make_judge(config, named_graders(config))
    paths = log_paths(log_dir)
    scenarios = set()
    for path in paths:
        log = read_checked(path)
        scenarios |= {str((s.metadata or {}).get("scenario")) for s in log.samples or [] if (s.metadata or {}).get("scenario")}
    check_scenarios(config, scenarios)
    summaries = []
    for path in paths:
        summary = await rejudge_log(path, config, judge, awareness=awareness)
        summaries.append(summary)
        if summary.judged or summary.labelled:
            _refresh_manifest(path)
    return summaries


def _refresh_manifest(log: str) -> None:
    """Rewrite eval-set's index of log headers (`logs.json`) in the log's own directory, if it has one
    (each shard of a sharded run has its own), so it lists the new scores."""
    directory = logdir.normalize(log).rsplit("/", 1)[0]
    if logdir.exists(logdir.join(directory, MANIFEST)):
        write_log_dir_manifest(directory)


def format_summary(summary: RejudgeSummary) -> str:
    """One line per log for `insider judge`."""
    if summary.skipped:
        return f"{summary.path}: skipped ({summary.skipped})"
    o = summary.outcomes
    labelled = f", awareness added to {summary.labelled}" if summary.labelled else ""
    return (
        f"{summary.path}: {summary.key}: judged {summary.judged} "
        f"(harmful {o['harmful']}, safe {o['safe']}, unscored {o['unscored']}), "
        f"already judged {summary.kept}{labelled}, errored {summary.errored}"
    )

