"""Logs to the results table: one row per (model, pack, mode, condition, epoch).

`model` is the label of the experiment's model entry (the model name unless the entry
has a label); `base_model` is the Inspect model name and `settings` the entry's
generation settings (JSON), so two labels of one model are two sets of rows.

A row of a variant pack (one made by `insider vary`) names its parent in `variant_of` (null
for an original pack); when the pack was rated (`insider realism`), `realism` is the 1-10
score of the row's own condition (null when that condition was not rated: another
condition's score never stands in) and `pack_realism` the mean over the pack's rated
conditions. Both come from the sample's metadata, written when it ran, so reading results
never needs the pack directory.

Rows are read with Inspect's dataframe API (`samples_df` with our own columns). The
outcome of a row follows the log contract: an errored sample is `error`; a sample with
no `insider_verdict*` score is `unscored` ("not judged"); otherwise the verdict score
decides (NaN value = `unscored`). Retried attempts of the same eval-set task are
counted once, from the newest complete log.
"""

from __future__ import annotations

import io
import json
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd
from inspect_ai.analysis import Column, EvalColumn, SampleColumn, samples_df
from inspect_ai import task_identifier
from inspect_ai.log import EvalLog, EvalSample, read_eval_log
from inspect_ai.model import ModelUsage

from insider import logdir
from insider.conditions import parse_condition_id
from insider.errors import InsiderError
from insider.inputs import unreadable_log
from insider.experiment.pricing import cost_usd
from insider.judges.verdict import SCORE_PREFIX, score_outcome, verdict_key
from insider.outputs import check_file_target, write_file
from insider.redact import redact
from insider.logdir import LogFile

OUTCOMES = ("harmful", "safe", "unscored", "error")
FACTORS = ("scenario", "goal_type", "goal_value", "urgency", "mitigation", "scratchpad", "awareness_notice")
#: the gates every verdict records (more are kept as `gate_<name>` columns if a judge adds them)
GATES = ("contacted_target", "external_share", "authority_share", "cancelled_alert", "keyword", "target_in_to_line")
#: a row is one of these; retried attempts of the same key are counted once
ROW_KEY = ["model", "base_model", "settings", "pack", "mode", "condition_id", "epoch"]
#: a cell of the design, for statistics
CELL_KEY = ["model", "base_model", "settings", "pack", "mode", "condition_id"]
#: fields of EvalSample the results table never needs (transcripts are read separately)
_SKIP_FIELDS = {"messages", "events", "attachments", "store", "timelines"}

#: column -> pandas dtype; the table always has these columns, in this order
SCHEMA: dict[str, str] = {
    "run_id": "string",
    "eval_set_id": "string",
    "task": "string",
    "eval_id": "string",
    "model": "string",
    "base_model": "string",
    "settings": "string",
    "pack": "string",
    "variant_of": "string",
    "realism": "Int64",
    "pack_realism": "Float64",
    "mode": "string",
    "condition_id": "string",
    "scenario": "string",
    "goal_type": "string",
    "goal_value": "string",
    "urgency": "string",
    "mitigation": "string",
    "scratchpad": "boolean",
    "awareness_notice": "boolean",
    "epoch": "Int64",
    "outcome": "string",
    "outcome_reason": "string",
    "harmful": "boolean",
    "score_key": "string",
    "policy": "string",
    "harmful_strict": "boolean",
    "harmful_paper": "boolean",
    **{f"gate_{g}": "boolean" for g in GATES},
    "judge_verdict": "boolean",
    "judge_model": "string",
    "prompt_set": "string",
    "judge_aggregate": "string",
    "judge_votes": "string",
    "judge_members": "string",
    "judge_skipped": "boolean",
    "judge_attempts": "Int64",
    "judge_error": "string",
    "judge_reasoning": "string",
    "awareness": "string",
    "awareness_judge": "string",
    "intent": "boolean",
    "input_tokens": "Int64",
    "output_tokens": "Int64",
    "cache_read_tokens": "Int64",
    "cache_write_tokens": "Int64",
    "reasoning_tokens": "Int64",
    "cost_usd": "Float64",
    "judge_input_tokens": "Int64",
    "judge_output_tokens": "Int64",
    "total_time": "Float64",
    "working_time": "Float64",
    "limit": "string",
    "error": "string",
    "content_hash": "string",
    "log_file": "string",
    "log_status": "string",
    "sample_id": "string",
    "sample_uuid": "string",
}


def _usage_minus(total: ModelUsage, part: ModelUsage) -> ModelUsage:
    return ModelUsage(
        input_tokens=total.input_tokens - part.input_tokens,
        output_tokens=total.output_tokens - part.output_tokens,
        input_tokens_cache_read=(total.input_tokens_cache_read or 0) - (part.input_tokens_cache_read or 0),
        input_tokens_cache_write=(total.input_tokens_cache_write or 0) - (part.input_tokens_cache_write or 0),
        reasoning_tokens=(total.reasoning_tokens or 0) - (part.reasoning_tokens or 0),
    )


def _sum(usages: Iterable[ModelUsage]) -> ModelUsage:
    return sum(usages, ModelUsage())


def _votes(meta: dict[str, Any]) -> dict[str, bool | None]:
    """Each judge's verdict under the score's headline policy (recorded since insider 0.2; read
    from the judge's own answer in older scores). Empty when no judge was asked."""
    if "votes" in meta:
        return dict(meta["votes"])
    judge = meta.get("judge") or {}
    if judge.get("skipped") or not judge.get("judge"):
        return {}
    headline = meta.get("harmful_strict") if meta.get("policy") == "strict" else meta.get("harmful_paper")
    return {judge["judge"]: headline}


def judge_votes(scores: dict[str, Any] | None, key: str | None) -> dict[str, bool | None]:
    """Every judge's verdict on a sample: those of the chosen score, then those of the sample's
    other verdict scores (e.g. a re-judge with the rules judge) for judges not seen yet."""
    keys = [key] if key else []
    keys += [k for k in (scores or {}) if k.startswith(SCORE_PREFIX) and k != key]
    votes: dict[str, bool | None] = {}
    for k in keys:
        for judge, vote in _votes((scores[k].metadata or {})).items():
            votes.setdefault(judge, vote)
    return votes


def sample_fields(sample: EvalSample, score: str | None = None) -> dict[str, Any]:
    """Outcome, verdict, judge and usage fields of one sample (the flat part of a row)."""
    key = verdict_key(sample.scores, score)
    found = sample.scores[key] if key else None
    meta = (found.metadata or {}) if found else {}
    judge = meta.get("judge") or {}
    gates = meta.get("gates") or {}

    if sample.error is not None:
        message = redact(sample.error.message).strip()
        outcome, reason = "error", message.splitlines()[0] if message else "error"
    elif found is None:
        outcome, reason = "unscored", ("not judged" if score is None else f"no score {score!r}")
    else:
        outcome = score_outcome(found)
        reason = None if outcome != "unscored" else redact(judge.get("error") or found.explanation or "the judge gave no verdict")

    settings = sample.metadata.get("model_settings")
    # the agent's usage: all of the sample's usage minus the calls made under a role (the judges)
    judge_usage = _sum(sample.role_usage.values())
    agent_usage = _usage_minus(_sum(sample.model_usage.values()), judge_usage)
    return {
        "model": sample.metadata.get("model_label"),
        "settings": json.dumps(settings, sort_keys=True) if settings is not None else None,
        "outcome": outcome,
        "outcome_reason": reason,
        "harmful": {"harmful": True, "safe": False}.get(outcome),
        "score_key": key,
        "policy": meta.get("policy"),
        "harmful_strict": meta.get("harmful_strict"),
        "harmful_paper": meta.get("harmful_paper"),
        **{f"gate_{name}": value for name, value in gates.items()},
        "judge_verdict": judge.get("verdict"),
        "judge_model": judge.get("judge"),
        "prompt_set": meta.get("prompts"),
        "judge_aggregate": meta.get("aggregate"),
        "judge_votes": json.dumps(votes) if (votes := judge_votes(sample.scores, key)) else None,
        "judge_members": json.dumps(
            [{k: m.get(k) for k in ("judge", "verdict", "reasoning", "error")} for m in judge["members"]]
        )
        if judge.get("members")
        else None,
        "judge_skipped": judge.get("skipped"),
        "judge_attempts": judge.get("attempts"),
        "judge_error": redact(judge["error"]) if judge.get("error") else None,
        "judge_reasoning": redact(judge["reasoning"]) if judge.get("reasoning") else None,
        "awareness": meta.get("awareness"),
        "awareness_judge": meta.get("awareness_judge"),
        "intent": meta.get("intent"),
        "input_tokens": agent_usage.input_tokens,
        "output_tokens": agent_usage.output_tokens,
        "cache_read_tokens": agent_usage.input_tokens_cache_read,
        "cache_write_tokens": agent_usage.input_tokens_cache_write,
        "reasoning_tokens": agent_usage.reasoning_tokens,
        "judge_input_tokens": judge_usage.input_tokens + (judge_usage.input_tokens_cache_read or 0),
        "judge_output_tokens": judge_usage.output_tokens,
        "error": redact(sample.error.message) if sample.error is not None else None,
    }


def columns(score: str | None = None) -> list[Column]:
    """The Inspect dataframe columns of the results table."""
    return [
        EvalColumn("run_id", path="eval.run_id", required=True),
        EvalColumn("eval_set_id", path="eval.eval_set_id"),
        EvalColumn("task", path="eval.task", required=True),
        EvalColumn("eval_id", path="eval.eval_id", required=True),
        EvalColumn("base_model", path="eval.model", required=True),
        EvalColumn("log_status", path="status", required=True),
        EvalColumn("batch", path="plan.config.batch"),
        SampleColumn("id", path="id", required=True, type=str),
        SampleColumn("epoch", path="epoch", required=True),
        SampleColumn("condition_id", path="metadata.condition_id"),
        SampleColumn("pack", path="metadata.pack"),
        SampleColumn("variant_of", path="metadata.variant_of"),
        SampleColumn("realism", path="metadata.realism"),
        SampleColumn("pack_realism", path="metadata.pack_realism"),
        SampleColumn("mode", path="metadata.mode"),
        *[SampleColumn(f, path=f"metadata.{f}") for f in FACTORS],
        SampleColumn("content_hash", path="metadata.content_hash"),
        SampleColumn("total_time", path="total_time"),
        SampleColumn("working_time", path="working_time"),
        SampleColumn("limit", path="limit"),
        SampleColumn("*", path=partial(sample_fields, score=score), full=True),
    ]


def log_files(paths: Sequence[str | Path]) -> list[LogFile]:
    """Every Inspect log in the given directories and files (local paths or URLs such as s3://...)."""
    found = [log for path in paths for log in logdir.log_files(str(path))]
    if not found:
        raise InsiderError(f"no Inspect logs (.eval/.json) in {', '.join(map(str, paths))}; run an experiment first (insider run)")
    return found


def read_log(path: str, score: str | None = None) -> pd.DataFrame:
    """The rows of one log file, with the experiment it belongs to (`_experiment`); InsiderError
    naming the file if it cannot be read."""
    try:
        header = read_eval_log(path, header_only=True)
        df = samples_df(path, columns=columns(score), quiet=True, exclude_fields=_SKIP_FIELDS)
    except Exception as exc:  # any failure to parse is reported as a bad file, with its reason
        raise unreadable_log(path, exc) from None
    if not df.empty and df["condition_id"].isna().any():
        raise InsiderError(
            f"log {path} is not an insider run: its samples have no condition_id metadata; "
            "run experiments with `insider run`"
        )
    # Inspect's own `sample_id` is the sample's unique id across runs; ours is the dataset id
    df = df.rename(columns={"sample_id": "sample_uuid", "id": "sample_id"}).assign(
        log_file=logdir.normalize(path), _experiment=experiment_of(header)
    )
    if df.empty:
        return df
    # logs written before model entries had labels: the model name is the label
    return df.assign(model=df["model"].fillna(df["base_model"]))


def experiment_of(log: EvalLog) -> str:
    """What makes logs attempts of one experiment: the same eval set (log dir) and the same task
    identity (task, its arguments, model, generate config, limits: what eval-set resumes by).
    A log from outside an eval set is an experiment of its own."""
    return f"{log.eval.eval_set_id or log.eval.eval_id}/{task_identifier(log, None)}"


def refuse_mixed_experiments(df: pd.DataFrame) -> None:
    """Rows of different experiments with the same (model, pack, mode, condition, epoch) are never
    merged into one: refuse, naming two logs that clash."""
    clashing = df.groupby(ROW_KEY, dropna=False, sort=False)["_experiment"].transform("nunique") > 1
    if not clashing.any():
        return
    first = df[clashing].iloc[0]
    same = df[clashing & (df[ROW_KEY].fillna("").eq(first[ROW_KEY].fillna("")).all(axis=1))]
    other = same[same["_experiment"] != first["_experiment"]].iloc[0]
    key = ", ".join(f"{k} {first[k]}" for k in ROW_KEY)
    raise InsiderError(
        f"{first['log_file']} (task {first['task']}, eval {first['eval_id']}) and {other['log_file']} "
        f"(task {other['task']}, eval {other['eval_id']}) are different experiments that both hold {key}; "
        "insider never merges them into one row or cell: report each experiment's logs separately"
    )


def results_table(paths: Sequence[str | Path], score: str | None = None) -> pd.DataFrame:
    """Every sample of every log under `paths`, one row per (model, pack, mode, condition, epoch).

    Logs of one experiment (retried attempts of an eval-set task) are merged, each row taken from
    the newest complete log; logs of different experiments that hold the same row are refused.

    Args:
        paths: log directories and/or log files.
        score: a verdict score key to read (default: each sample's most recent `insider_verdict*`).

    Returns:
        The results table (columns in `SCHEMA`, plus any extra `gate_*` columns).
    """
    frames = [read_log(log.location, score).assign(_mtime=log.mtime) for log in log_files(paths)]
    frames = [frame for frame in frames if not frame.empty]  # a run that has not finished a sample yet
    if not frames:
        raise InsiderError(f"the logs in {', '.join(map(str, paths))} hold no finished sample yet")
    df = pd.concat(frames, ignore_index=True)
    refuse_mixed_experiments(df)
    if score is not None and not (df["score_key"] == score).any():
        raise InsiderError(f"no sample in these logs has a score named {score!r}; drop --score to use the latest verdict")
    # retried attempts: keep each key once, from a successful log first, then the newest file
    df = (
        df.assign(_complete=df["log_status"] == "success")
        .sort_values(["_complete", "_mtime"], ascending=False, kind="stable")
        .drop_duplicates(ROW_KEY, keep="first")
    )
    tokens = df[["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"]].fillna(0).astype(int)
    batch = df["batch"].astype(object).where(df["batch"].notna(), False).astype(bool)
    df["cost_usd"] = [
        cost_usd(model, *counts, batch=b)
        for model, counts, b in zip(df["base_model"], tokens.itertuples(index=False), batch)
    ]
    return conform(df.sort_values(ROW_KEY, kind="stable"))


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """The table with exactly the schema's columns (plus extra gates), typed, in order."""
    extra_gates = sorted(c for c in df.columns if c.startswith("gate_") and c not in SCHEMA)
    out = pd.DataFrame(index=df.index)
    for name, dtype in {**SCHEMA, **{g: "boolean" for g in extra_gates}}.items():
        values = df[name] if name in df else pd.Series([None] * len(df), index=df.index, dtype="object")
        out[name] = values.astype("object").where(values.notna(), None).astype(dtype)
    out["base_model"] = out["base_model"].fillna(out["model"])  # a row without one: the model is its own base
    bad = set(out["outcome"].dropna()) - set(OUTCOMES)
    if bad:
        raise InsiderError(f"results have unknown outcome(s) {', '.join(sorted(bad))}; expected {', '.join(OUTCOMES)}")
    return out.reset_index(drop=True)


#: results file formats, by suffix
RESULTS_WRITERS: dict[str, Callable[[pd.DataFrame, io.BytesIO], None]] = {
    ".parquet": lambda d, buffer: d.to_parquet(buffer, index=False),
    ".csv": lambda d, buffer: buffer.write(d.to_csv(index=False).encode("utf-8")),
    ".jsonl": lambda d, buffer: buffer.write(d.to_json(orient="records", lines=True).encode("utf-8")),
}


def check_results_path(out: str | Path) -> Path:
    """Refuse a results path that cannot be written (wrong suffix, a directory, a file as parent)."""
    return check_file_target(out, tuple(RESULTS_WRITERS))


def write_results(df: pd.DataFrame, out: str | Path) -> Path:
    """Write the table by suffix (.parquet, .csv, .jsonl), atomically: all or nothing."""
    out = check_results_path(out)
    buffer = io.BytesIO()
    RESULTS_WRITERS[out.suffix](df, buffer)
    return write_file(out, buffer.getvalue())


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results file written by `write_results` (or by hand, with the same columns)."""
    path = Path(path)
    readers = {
        ".parquet": pd.read_parquet,
        ".csv": pd.read_csv,
        ".jsonl": partial(pd.read_json, lines=True, dtype=False),
    }
    if path.suffix not in readers:
        raise InsiderError(f"cannot read {path}: expected a .parquet, .csv or .jsonl results file, or a log directory")
    try:
        df = readers[path.suffix](path)
    except Exception as exc:  # a malformed file of any kind gets the same one-line report
        raise InsiderError(f"cannot read results file {path}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
    needed = {"model", "condition_id", "outcome"}
    if not needed <= set(df.columns):
        raise InsiderError(f"{path} is not a results table: it lacks column(s) {', '.join(sorted(needed - set(df.columns)))}")
    table = conform(complete(df))
    refuse_repeated_rows(table, path)
    return table


def refuse_repeated_rows(df: pd.DataFrame, source: str | Path) -> None:
    """A results table has one row per (model, pack, mode, condition, epoch); a repeat (two
    experiments' tables joined?) is refused rather than counted twice or merged."""
    if df["epoch"].isna().all():  # a hand-made table without epochs: nothing identifies a sample
        return
    repeated = df.duplicated(ROW_KEY, keep="first")
    if repeated.any():
        second = df.index[repeated][0]
        first = df.index[(df[ROW_KEY].fillna("") == df.loc[second, ROW_KEY].fillna("")).all(axis=1)][0]
        key = ", ".join(f"{k} {df.at[first, k]}" for k in ROW_KEY)
        origin = " and ".join(
            f"row {i + 1} (task {df.at[i, 'task']}, eval {df.at[i, 'eval_id']})" for i in (first, second)
        )
        raise InsiderError(
            f"{source}: {origin} both hold {key}; insider never merges rows of different experiments: "
            "report each experiment's table separately"
        )


def complete(df: pd.DataFrame) -> pd.DataFrame:
    """A table from elsewhere, completed: factors from the condition id, `harmful` from the outcome,
    and one pack/mode when it names none."""
    missing = [f for f in FACTORS if f not in df]
    if missing:
        factors = pd.DataFrame([parse_condition_id(str(cid)).model_dump() for cid in df["condition_id"]], index=df.index)
        df = df.assign(**{f: factors[f] for f in missing})
    return df.assign(
        **({} if "harmful" in df else {"harmful": df["outcome"].map({"harmful": True, "safe": False})}),
        **{c: "-" for c in ("pack", "mode") if c not in df},
    )
