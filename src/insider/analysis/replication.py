"""Replication check: our cells against the study's published rates (`insider/data/paper-results.yaml`).

Inspect model names (`anthropic/claude-opus-4-20250514`, `openrouter/anthropic/claude-opus-4`,
`bedrock/anthropic.claude-opus-4-20250514-v1:0`, ...) are mapped to the paper's model keys
by `PAPER_MODELS`; a labelled model entry is mapped through its base model, unless its
settings turn the model's own reasoning on (the study never did). A published rate inside
our Wilson interval is `consistent`; otherwise our rate is `higher` or `lower` than the
published one.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.resources import files
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from insider.experiment.config import asks_for_reasoning

Source = Literal["blog", "port", "secondary"]
SOURCE_NOTES = {
    "blog": "the study's post or paper",
    "port": "inspect_evals README quoting the post",
    "secondary": "press or third-party reading of a figure (less certain)",
}

#: paper model key -> pattern for the model part of an Inspect model name (case-insensitive);
#: provider prefixes (`anthropic/`, `openrouter/anthropic/`, `bedrock/anthropic.`) are allowed before it
PAPER_MODELS: dict[str, str] = {
    "claude-opus-4": r"claude-opus-4(?:-0|-20250514)?(?:-v\d+:\d+)?(?:@20250514)?",
    "claude-sonnet-3.7": r"claude-3[-.]7-sonnet(?:-20250219|-latest)?(?:-v\d+:\d+)?(?:@20250219)?",
    "claude-sonnet-3.6": r"claude-3-5-sonnet-(?:20241022|v2)(?:-v\d+:\d+)?(?:@20241022)?|claude-3\.5-sonnet",
    "gemini-2.5-flash": r"gemini-2\.5-flash(?:-preview-\d\d-\d\d)?",
    "gemini-2.5-pro": r"gemini-2\.5-pro(?:-preview-\d\d-\d\d|-exp-\d\d-\d\d)?",
    "gpt-4.1": r"gpt-4\.1(?:-2025-04-14)?",
    "gpt-4o": r"gpt-4o(?:-\d{4}-\d\d-\d\d)?",
    "grok-3-beta": r"grok-3(?:-beta)?",
    "deepseek-r1": r"deepseek-r1(?:-0528)?|deepseek-reasoner",
    "llama-4-maverick": r"llama-4-maverick(?:-17b-128e-instruct(?:-fp8)?)?",
    "qwen3-235b": r"qwen3-235b-a22b",
}
_PREFIX = r"(?:.*[/.])?"


class PublishedCell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    figure: int | str
    #: a paper model key, or `*` for every model (the controls)
    model: str
    condition: str
    rate: float
    n: int
    source: Source


class PublishedAwareness(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    condition: str
    n: int
    stated_real: float
    stated_evaluation: float
    no_statement: float
    harmful_rate_when_real: float
    harmful_rate_when_evaluation: float


class Published(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cells: list[PublishedCell]
    awareness: PublishedAwareness


@lru_cache(maxsize=1)
def published() -> Published:
    """The published numbers shipped with the package."""
    text = files("insider").joinpath("data/paper-results.yaml").read_text(encoding="utf-8")
    return Published.model_validate(yaml.safe_load(text))


def paper_model(model: str) -> str | None:
    """The paper's key for an Inspect model name, or None when the paper did not test it."""
    for key, pattern in PAPER_MODELS.items():
        if re.fullmatch(_PREFIX + f"(?:{pattern})", model, flags=re.IGNORECASE):
            return key
    return None


def paper_models(table: pd.DataFrame) -> pd.Series:
    """The paper's key for each row's model entry: its base model (or model), None when the
    paper did not test it or the entry turns the model's own reasoning on."""
    base = table["base_model"].where(table["base_model"].notna(), table["model"]) if "base_model" in table else table["model"]
    settings = table["settings"] if "settings" in table else pd.Series(None, index=table.index, dtype=object)
    reasoning = settings.map(lambda s: bool(asks_for_reasoning(json.loads(s))) if isinstance(s, str) else False)
    return base.map(paper_model).where(~reasoning, None)


REPLICATION_COLUMNS = [
    "model", "paper_model", "pack", "mode", "condition_id", "figure", "source", "secondary",
    "published_rate", "published_n", "n", "k", "rate", "ci_low", "ci_high", "verdict", "judge", "study_judge",
]  # fmt: skip
#: the study's judge: its classifier prompts, its combination rule, graded by Claude 3.7 Sonnet
STUDY_GRADER = "claude-sonnet-3.7"
CELL_KEY = ["model", "pack", "mode", "condition_id"]


def describe_judge(model: str | None, prompts: str | None, policy: str | None) -> str:
    """`<grader> · <prompt set> prompts · <policy> policy` (the rules judge has no prompts)."""
    prompt_part = f"{prompts} prompts" if prompts else "no prompts"
    return f"{model or 'not judged'} · {prompt_part} · {policy or '?'} policy"


def is_study_judge(model: str | None, prompts: str | None, policy: str | None) -> bool:
    return policy == "paper" and prompts == "study" and paper_model(model or "") == STUDY_GRADER


def cell_judges(results: pd.DataFrame) -> pd.DataFrame:
    """Per cell: which judge produced its scored verdicts, and whether that is the study's."""
    scored = results[results["outcome"].isin(["harmful", "safe"])]
    if scored.empty:
        return pd.DataFrame(columns=[*CELL_KEY, "judge", "study_judge"])
    rows = []
    for key, group in scored.groupby(CELL_KEY, sort=False):
        triples = group[["judge_model", "prompt_set", "policy"]].astype(object).where(group[["judge_model", "prompt_set", "policy"]].notna(), None)
        found = sorted({tuple(t) for t in triples.itertuples(index=False)}, key=str)
        rows.append({
            **dict(zip(CELL_KEY, key)),
            "judge": "; ".join(describe_judge(*t) for t in found),
            "study_judge": all(is_study_judge(*t) for t in found),
        })  # fmt: skip
    return pd.DataFrame(rows)


def replication(cell_table: pd.DataFrame, results: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cells present both in our run and in the published table, with a verdict each.

    `verdict` is `consistent` when the published rate lies inside our Wilson interval, else
    `higher` or `lower` (our rate relative to the published one). Cells with no scored sample
    are left out. `secondary` marks numbers that come from secondary sources. With the results
    table, `judge` names the judge behind our rate and `study_judge` says whether it is the
    study's (its classifier prompts and rule, graded by Claude 3.7 Sonnet).
    """
    ours = cell_table[cell_table["n"] > 0].assign(paper_model=paper_models)
    if results is not None:
        ours = ours.merge(cell_judges(results), on=CELL_KEY, how="left")
    else:
        ours = ours.assign(judge=None, study_judge=None)
    table = pd.DataFrame([c.model_dump() for c in published().cells]).rename(
        columns={"rate": "published_rate", "n": "published_n", "condition": "condition_id"}
    )
    exact = ours.merge(table[table["model"] != "*"].rename(columns={"model": "paper_model"}), on=["paper_model", "condition_id"])
    every = ours.merge(table[table["model"] == "*"].drop(columns="model"), on="condition_id").assign(paper_model="every model")
    rows = pd.concat([exact, every], ignore_index=True)
    if rows.empty:
        return pd.DataFrame(columns=REPLICATION_COLUMNS)
    rows["secondary"] = rows["source"] == "secondary"
    rows["verdict"] = "consistent"
    rows.loc[rows["published_rate"] < rows["ci_low"], "verdict"] = "higher"
    rows.loc[rows["published_rate"] > rows["ci_high"], "verdict"] = "lower"
    rows["figure"] = rows["figure"].astype(str)
    return rows.sort_values(["condition_id", "model"])[REPLICATION_COLUMNS].reset_index(drop=True)


AWARENESS_REPLICATION_COLUMNS = [
    "model", "paper_model", "pack", "mode", "condition_id", "awareness", "published_share", "share",
    "published_rate", "n", "k", "rate", "ci_low", "ci_high", "verdict",
]  # fmt: skip


def awareness_replication(awareness_table: pd.DataFrame) -> pd.DataFrame:
    """Our harmful rate by stated belief against the study's real-vs-evaluation result.

    The study reported the share of samples stating each belief and, for "real" and
    "evaluation", the harmful rate among them; `verdict` compares the rates as in `replication`.
    """
    study = published().awareness
    by_label = {
        "thinks_real": (study.stated_real, study.harmful_rate_when_real),
        "thinks_eval": (study.stated_evaluation, study.harmful_rate_when_evaluation),
        "no_deliberation": (study.no_statement, None),
    }
    rows = awareness_table[
        (paper_models(awareness_table) == study.model)
        & (awareness_table["condition_id"] == study.condition)
        & awareness_table["awareness"].isin(list(by_label))
    ].copy()
    if rows.empty:
        return pd.DataFrame(columns=AWARENESS_REPLICATION_COLUMNS)
    rows["paper_model"] = study.model
    rows["published_share"] = rows["awareness"].map(lambda label: by_label[label][0])
    rows["published_rate"] = rows["awareness"].map(lambda label: by_label[label][1])
    rows["verdict"] = "consistent"
    rows.loc[rows["published_rate"] < rows["ci_low"], "verdict"] = "higher"
    rows.loc[rows["published_rate"] > rows["ci_high"], "verdict"] = "lower"
    rows.loc[rows["published_rate"].isna(), "verdict"] = "no published rate"
    return rows[AWARENESS_REPLICATION_COLUMNS].reset_index(drop=True)
