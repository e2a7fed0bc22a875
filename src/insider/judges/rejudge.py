"""Re-judge saved logs without re-running any agent (`insider judge`).

Each judge writes under its own score key: `insider_verdict_rules`,
`insider_verdict_<model>` (the model name lower-cased, every run of other characters
turned into `_`), with `_paper` appended under the paper policy. Scores under other keys
are never touched. Running the same judge again judges only the samples it has not scored
yet (none, or unscored), so an interrupted or partly failed re-judge can be resumed.
Errored samples stay errored and get no score. Logs are rewritten atomically.
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
from inspect_ai.model import Model
from inspect_ai.scorer import Score

from insider.errors import InsiderError
from insider.experiment.config import JudgeConfig
from insider.judges.scorer import judge_sample
from insider.judges.verdict import SCORE_PREFIX, is_scored

#: eval-set's manifest of log headers
MANIFEST = "logs.json"
#: the live scorer's metrics, recorded for a re-judge key so Inspect recomputes them
_METRICS = [EvalMetricDefinition(name="insider/harmful_rate"), EvalMetricDefinition(name="inspect_ai/stderr")]


def score_key(judge: JudgeConfig) -> str:
    """The score key a re-judge writes, e.g. `insider_verdict_openai_gpt_4_1_paper`."""
    label = re.sub(r"[^a-z0-9]+", "_", judge.model.lower()).strip("_")
    suffix = "_paper" if judge.policy == "paper" else ""
    return f"{SCORE_PREFIX}_{label}{suffix}"


@dataclass
class RejudgeSummary:
    """What a re-judge did to one log."""

    path: str
    key: str
    judged: int = 0
    kept: int = 0
    errored: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"harmful": 0, "safe": 0, "unscored": 0})
    #: why the log was left alone (None when it was re-judged)
    skipped: str | None = None


async def _judge_one(sample: EvalSample, judge: JudgeConfig, grader: Model | None) -> Score:
    resolved = resolve_sample_attachments(sample)
    return await judge_sample(resolved.messages, resolved.store, resolved.metadata, judge, grader)


def _write_atomically(log: EvalLog, path: Path) -> None:
    """Write next to the original, then rename over it: a reader never sees half a log."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write_eval_log(log, str(partial), format="json" if path.suffix == ".json" else "eval")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


async def rejudge_log(path: str | Path, judge: JudgeConfig, grader: Model | None = None) -> RejudgeSummary:
    """Add (or complete) this judge's verdicts in one log file."""
    path = Path(path)
    key = score_key(judge)
    summary = RejudgeSummary(path=str(path), key=key)
    log = read_eval_log(str(path))
    if log.status == "started":
        summary.skipped = "still running"
        return summary
    samples = log.samples or []
    if not samples or "scenario" not in (samples[0].metadata or {}):
        summary.skipped = "not an insider log (no samples with a scenario)"
        return summary
    todo = []
    for sample in samples:
        if sample.error is not None:
            summary.errored += 1
        elif is_scored((sample.scores or {}).get(key)):
            summary.kept += 1
        else:
            todo.append(sample)
    scores = await asyncio.gather(*(_judge_one(sample, judge, grader) for sample in todo))
    for sample, score in zip(todo, scores, strict=True):
        sample.scores = {**(sample.scores or {}), key: score}
        summary.outcomes[score.answer or "unscored"] += 1
    summary.judged = len(todo)
    if todo:
        scorers = log.eval.scorers or []
        if not any(s.name == key for s in scorers):
            log.eval.scorers = [*scorers, EvalScorer(name=key, options={"judge": judge.model_dump()}, metrics=_METRICS)]
        recompute_metrics(log)
        _write_atomically(log, path)
    return summary


async def rejudge(log_dir: str | Path, judge: JudgeConfig, grader: Model | None = None) -> list[RejudgeSummary]:
    """Re-judge every log under `log_dir` (one at a time; samples within a log concurrently)."""
    log_dir = Path(log_dir)
    if not log_dir.exists():
        raise InsiderError(f"log directory {log_dir} not found; pass the run's log_dir (e.g. logs/quickstart)")
    found = [Path(unquote(urlparse(info.name).path)) for info in list_eval_logs(str(log_dir))]
    if not found:
        raise InsiderError(f"no Inspect logs (.eval or .json) under {log_dir}")
    # shown as given (e.g. logs/quickstart/...), not as the absolute paths Inspect lists
    paths = sorted(log_dir / path.relative_to(log_dir.resolve()) for path in found)
    summaries = [await rejudge_log(path, judge, grader) for path in paths]
    if (log_dir / MANIFEST).exists() and any(s.judged for s in summaries):
        write_log_dir_manifest(str(log_dir))  # eval-set's index of log headers, now with the new scores
    return summaries


def format_summary(summary: RejudgeSummary) -> str:
    """One line per log for `insider judge`."""
    if summary.skipped:
        return f"{summary.path}: skipped ({summary.skipped})"
    o = summary.outcomes
    return (
        f"{summary.path}: {summary.key}: judged {summary.judged} "
        f"(harmful {o['harmful']}, safe {o['safe']}, unscored {o['unscored']}), "
        f"already judged {summary.kept}, errored {summary.errored}"
    )
