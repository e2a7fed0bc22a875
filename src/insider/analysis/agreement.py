"""Agreement between judges that voted on the same samples (panel members, and any other judge
whose verdicts a sample carries, e.g. the rules judge after a re-judge).

A vote is a judge's verdict under the headline policy (see `results.judge_votes`); samples on
which no judge was asked (gate-first) carry no votes, so agreement is measured where judging
happened. Per scenario: pairwise Cohen's κ, Fleiss' κ over the samples every judge voted on,
each judge's harmful rate with a Wilson interval, and the samples on which judges disagree.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

from insider.analysis.stats import wilson

PAIR_COLUMNS = ["scenario", "judge_a", "judge_b", "n", "agree", "kappa"]
FLEISS_COLUMNS = ["scenario", "judges", "n", "kappa"]
RATE_COLUMNS = ["scenario", "judge", "n", "k", "rate", "ci_low", "ci_high"]
DISAGREEMENT_COLUMNS = ["row", "scenario", "model", "condition_id", "epoch", "votes"]


@dataclass
class JudgeAgreement:
    """The judge-agreement tables of a report."""

    pairs: pd.DataFrame
    fleiss: pd.DataFrame
    rates: pd.DataFrame
    disagreements: pd.DataFrame


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def cohen(a: pd.Series, b: pd.Series) -> float | None:
    """Cohen's κ of two judges' yes/no votes on the same samples (None when undefined: one class only)."""
    a, b = a.astype(bool), b.astype(bool)
    table = [[int((a & b).sum()), int((a & ~b).sum())], [int((~a & b).sum()), int((~a & ~b).sum())]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return _finite(float(cohens_kappa(table, return_results=False)))


def fleiss(votes: pd.DataFrame) -> float | None:
    """Fleiss' κ of several judges (columns) over the samples (rows) every one of them voted on."""
    counts, _ = aggregate_raters(votes.astype(int).to_numpy(), n_cat=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _finite(float(fleiss_kappa(counts)))


def votes_long(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (sample row, judge) with a vote: row, scenario, judge, vote."""
    records = []
    for row, (scenario, raw) in enumerate(zip(results["scenario"], results["judge_votes"])):
        if raw is None or raw is pd.NA:
            continue
        for judge, vote in json.loads(raw).items():
            if vote is not None:
                records.append({"row": row, "scenario": scenario, "judge": judge, "vote": bool(vote)})
    return pd.DataFrame(records, columns=["row", "scenario", "judge", "vote"])


def judge_agreement(results: pd.DataFrame) -> JudgeAgreement | None:
    """The agreement tables, or None when fewer than two judges voted on any sample."""
    long = votes_long(results)
    if long.empty or long["judge"].nunique() < 2:
        return None
    wide = long.pivot(index=["row", "scenario"], columns="judge", values="vote")
    pairs, fleiss_rows, rates = [], [], []
    for scenario, table in wide.groupby(level="scenario", sort=True):
        judges = [j for j in table.columns if table[j].notna().any()]
        for a, b in itertools.combinations(judges, 2):
            both = table[[a, b]].dropna()
            if both.empty:
                continue
            pairs.append({
                "scenario": scenario, "judge_a": a, "judge_b": b, "n": len(both),
                "agree": float((both[a] == both[b]).mean()), "kappa": cohen(both[a], both[b]),
            })  # fmt: skip
        every = table[judges].dropna()
        if len(judges) >= 2 and not every.empty:
            fleiss_rows.append({"scenario": scenario, "judges": ", ".join(judges), "n": len(every), "kappa": fleiss(every)})
        for judge in judges:
            voted = table[judge].dropna().astype(bool)
            rates.append({"scenario": scenario, "judge": judge, "n": len(voted), "k": int(voted.sum())})
    rate_table = pd.DataFrame(rates, columns=["scenario", "judge", "n", "k"])
    rate_table["rate"] = rate_table["k"] / rate_table["n"]
    rate_table["ci_low"], rate_table["ci_high"] = wilson(rate_table["k"], rate_table["n"])
    split = long.groupby("row")["vote"].nunique()
    rows = sorted(split[split > 1].index)
    disagreements = pd.DataFrame(
        [
            {
                "row": row,
                "scenario": results["scenario"].iloc[row],
                "model": results["model"].iloc[row],
                "condition_id": results["condition_id"].iloc[row],
                "epoch": int(results["epoch"].iloc[row]),
                "votes": "; ".join(
                    f"{j}: {'harmful' if v else 'safe'}" for j, v in long[long["row"] == row][["judge", "vote"]].itertuples(index=False)
                ),
            }
            for row in rows
        ],
        columns=DISAGREEMENT_COLUMNS,
    )
    return JudgeAgreement(
        pairs=pd.DataFrame(pairs, columns=PAIR_COLUMNS),
        fleiss=pd.DataFrame(fleiss_rows, columns=FLEISS_COLUMNS),
        rates=rate_table[RATE_COLUMNS],
        disagreements=disagreements,
    )
