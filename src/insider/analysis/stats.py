"""Statistics on the results table.

- `cells`: per (model, pack, mode, condition) the scored count n, harmful count k, rate and
  Wilson 95% interval; unscored and errored samples are counted beside, never in n.
- `comparisons`: each condition against its control, labels of one base model against each
  other (e.g. thinking on vs off), and model against model, as a difference of rates with
  a Newcombe interval and Fisher's exact p, Holm-corrected within each family.
- `regression`: logistic regression of harmful on the factors that vary, when the grid allows.
- `awareness`: harmful rate by the eval-awareness label.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from insider.analysis.results import CELL_KEY, FACTORS
from insider.conditions import GOAL_TYPES, GOAL_VALUES, MITIGATIONS, URGENCIES
from insider.kinds import kind_names

ALPHA = 0.05
#: comparison families: the factor values of the control each treated cell is compared with
CONTROLS: dict[str, dict[str, Any]] = {
    "threat": {"urgency": "none"},
    "goal_conflict": {"goal_type": "none", "goal_value": "none"},
    "mitigation": {"mitigation": "none"},
    "awareness_notice": {"awareness_notice": False},
    "scratchpad": {"scratchpad": True},
}
FAMILY_TITLES = {
    "threat": "threat vs no threat",
    "goal_conflict": "goal conflict vs none",
    "mitigation": "mitigation vs none",
    "awareness_notice": "awareness notice vs none",
    "scratchpad": "no scratchpad vs scratchpad",
    "settings": "settings vs settings (labels of one model)",
    "models": "model vs model",
}
#: the families that compare two model entries on one condition (the others: two conditions)
ENTRY_FAMILIES = ("settings", "models")
#: columns of `cells`
CELL_COLUMNS = [*CELL_KEY, "variant_of", *FACTORS, "n", "k", "rate", "ci_low", "ci_high", "unscored", "errors", "total", "realism"]


def model_entries(results: pd.DataFrame) -> pd.DataFrame:
    """One row per model entry (label) in the results: its base model and generation settings."""
    return results[["model", "base_model", "settings"]].drop_duplicates().sort_values("model").reset_index(drop=True)


def wilson(k: Any, n: Any, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k of n (arrays allowed); NaN where n is 0."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    safe_n = np.where(n > 0, n, 1)
    low, high = proportion_confint(k, safe_n, alpha=alpha, method="wilson")
    low = np.where(n > 0, np.clip(low, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(high, 0, 1), np.nan)
    return low, high


def cells(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, pack, mode, condition): n, k, rate, Wilson interval, unscored, errors;
    with the pack's parent (`variant_of`) and the condition's realism score when recorded."""
    outcome = results["outcome"].astype("string")
    counted = results.assign(
        k=outcome.eq("harmful"),
        safe=outcome.eq("safe"),
        unscored=outcome.eq("unscored"),
        errors=outcome.eq("error"),
    )
    by = counted.groupby([*CELL_KEY, "variant_of", *FACTORS], dropna=False, sort=True)
    grouped = by[["k", "safe", "unscored", "errors"]].sum().join(by["realism"].mean()).reset_index()
    grouped["n"] = grouped["k"] + grouped["safe"]
    grouped["total"] = grouped["n"] + grouped["unscored"] + grouped["errors"]
    grouped["rate"] = np.where(grouped["n"] > 0, grouped["k"] / grouped["n"].where(grouped["n"] > 0, 1), np.nan)
    grouped["ci_low"], grouped["ci_high"] = wilson(grouped["k"], grouped["n"])
    return sort_cells(grouped)[CELL_COLUMNS].astype({c: int for c in ("n", "k", "unscored", "errors", "total")})


def sort_cells(table: pd.DataFrame, leading: tuple[str, ...] = ("model", "pack", "mode")) -> pd.DataFrame:
    """Rows in design order: the `leading` columns, then each factor in its declared order."""
    orders = {
        "scenario": kind_names(), "goal_type": GOAL_TYPES, "goal_value": GOAL_VALUES, "urgency": URGENCIES,
        "mitigation": MITIGATIONS, "scratchpad": (True, False), "awareness_notice": (False, True),
    }  # fmt: skip

    def key(column: pd.Series) -> pd.Series:
        order = orders.get(str(column.name))
        return column.map({v: i for i, v in enumerate(order)}) if order else column

    return table.sort_values([*leading, *orders], key=key, kind="stable").reset_index(drop=True)


def _compare(k1: int, n1: int, k2: int, n2: int) -> dict[str, float]:
    """Difference of two rates with its Newcombe (hybrid score) interval and Fisher's exact p."""
    low, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=ALPHA)
    _, p = fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])
    return {"diff": k1 / n1 - k2 / n2, "diff_low": float(low), "diff_high": float(high), "p": float(p)}


def _pairs_vs_control(table: pd.DataFrame, family: str, control: dict[str, Any]) -> pd.DataFrame:
    factors = list(control)
    is_control = np.logical_and.reduce([table[f] == v for f, v in control.items()])
    treated, controls = table[~is_control], table[is_control]
    on = [*[k for k in CELL_KEY if k != "condition_id"], *[f for f in FACTORS if f not in factors]]
    pairs = treated.merge(controls, on=on, suffixes=("", "_b"))
    return pd.DataFrame(
        {
            "family": family,
            "model": pairs["model"],
            "pack": pairs["pack"],
            "mode": pairs["mode"],
            "a": pairs["condition_id"],
            "b": pairs["condition_id_b"],
            "condition_id": pairs["condition_id"],
            "k_a": pairs["k"],
            "n_a": pairs["n"],
            "k_b": pairs["k_b"],
            "n_b": pairs["n_b"],
        }
    )


def _entry_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Every pair of model entries on a shared condition: labels of one base model form the
    `settings` family (its `model` is the base model), other pairs the `models` family."""
    pairs = table.merge(table, on=["pack", "mode", "condition_id"], suffixes=("", "_b"))
    pairs = pairs[pairs["model"] < pairs["model_b"]]
    same_base = pairs["base_model"] == pairs["base_model_b"]
    return pd.DataFrame(
        {
            "family": np.where(same_base, "settings", "models"),
            "model": pairs["base_model"].where(same_base, pairs["model"] + " vs " + pairs["model_b"]),
            "pack": pairs["pack"],
            "mode": pairs["mode"],
            "a": pairs["model"],
            "b": pairs["model_b"],
            "condition_id": pairs["condition_id"],
            "k_a": pairs["k"],
            "n_a": pairs["n"],
            "k_b": pairs["k_b"],
            "n_b": pairs["n_b"],
        }
    )


COMPARISON_COLUMNS = [
    "family", "model", "pack", "mode", "condition_id", "a", "b", "k_a", "n_a", "rate_a", "k_b", "n_b", "rate_b",
    "diff", "diff_low", "diff_high", "p", "p_holm", "significant",
]  # fmt: skip


def comparisons(cell_table: pd.DataFrame) -> pd.DataFrame:
    """Every condition vs its control (per family) and every pair of model entries on a shared condition.

    `a` is the treated condition (or the first label), `b` the control (or the second label);
    `diff` = rate_a - rate_b. Pairs where either side has no scored sample are left out.
    Holm's correction runs within each family.
    """
    scored = cell_table[cell_table["n"] > 0]
    pairs = pd.concat(
        [_pairs_vs_control(scored, family, control) for family, control in CONTROLS.items()] + [_entry_pairs(scored)],
        ignore_index=True,
    )
    if pairs.empty:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    stats = pd.DataFrame([_compare(*row) for row in pairs[["k_a", "n_a", "k_b", "n_b"]].itertuples(index=False)])
    pairs = pd.concat([pairs.reset_index(drop=True), stats], axis=1)
    pairs["rate_a"] = pairs["k_a"] / pairs["n_a"]
    pairs["rate_b"] = pairs["k_b"] / pairs["n_b"]
    pairs["p_holm"] = pairs.groupby("family")["p"].transform(lambda p: multipletests(p, method="holm")[1])
    pairs["significant"] = pairs["p_holm"] < ALPHA
    pairs["family"] = pd.Categorical(pairs["family"], categories=[*CONTROLS, *ENTRY_FAMILIES], ordered=True)
    pairs = pairs.sort_values(["family", "model", "condition_id", "b"]).astype({"family": str})
    return pairs[COMPARISON_COLUMNS].reset_index(drop=True)


#: regression factors and the level used as reference when it is present
REGRESSION_REFERENCES: dict[str, Any] = {
    "model": None,
    "pack": None,
    "mode": "text",
    "scenario": None,
    "goal": "none-none",
    "urgency": "none",
    "mitigation": "none",
    "scratchpad": True,
    "awareness_notice": False,
}
#: events (of the rarer outcome) per model parameter below which a fit is not attempted
MIN_EVENTS_PER_PARAMETER = 5


def _regression_frame(results: pd.DataFrame) -> pd.DataFrame:
    scored = results[results["harmful"].notna()]
    return pd.DataFrame(
        {
            "harmful": scored["harmful"].astype(int),
            "model": scored["model"].astype(str),
            "pack": scored["pack"].astype(str),
            "mode": scored["mode"].astype(str),
            "scenario": scored["scenario"].astype(str),
            # goal type and value are nested (none/ambiguous have no value), so one factor
            "goal": scored["goal_type"].astype(str) + "-" + scored["goal_value"].astype(str),
            "urgency": scored["urgency"].astype(str),
            "mitigation": scored["mitigation"].astype(str),
            "scratchpad": scored["scratchpad"].astype(bool),
            "awareness_notice": scored["awareness_notice"].astype(bool),
        }
    ).reset_index(drop=True)


def regression(results: pd.DataFrame) -> dict[str, Any]:
    """Logistic regression of harmful on the factors that vary; a note instead when it can't be fitted.

    Returns a dict: `fitted`, `note`, `formula`, `n`, `events`, `design` (each factor's levels,
    reference and counts) and, when fitted, `terms` (coef, odds ratio with 95% CI, p).
    """
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    frame = _regression_frame(results)
    varying = [f for f in REGRESSION_REFERENCES if frame[f].nunique() > 1]
    design = {}
    for factor in varying:
        levels = sorted(frame[factor].unique(), key=str)
        preferred = REGRESSION_REFERENCES[factor]
        reference = preferred if preferred in levels else levels[0]
        counts = frame.groupby(factor)["harmful"].agg(["size", "sum"])
        design[factor] = {
            "reference": reference,
            "levels": {str(level): {"n": int(counts.loc[level, "size"]), "k": int(counts.loc[level, "sum"])} for level in levels},
        }
    terms = [f"C({f}, Treatment(reference={design[f]['reference']!r}))" for f in varying]
    out: dict[str, Any] = {
        "fitted": False,
        "formula": "harmful ~ " + (" + ".join(f"C({f})" for f in varying) or "1"),
        "n": int(len(frame)),
        "events": int(frame["harmful"].sum()),
        "design": design,
        "terms": [],
        "note": "",
    }
    n_params = 1 + sum(len(design[f]["levels"]) - 1 for f in varying)
    rarer = min(out["events"], out["n"] - out["events"])
    separated = [
        f"{f}={level} ({c['k']}/{c['n']} harmful)"
        for f in varying
        for level, c in design[f]["levels"].items()
        if c["k"] in (0, c["n"])
    ]
    if not varying:
        out["note"] = "not fitted: no factor takes more than one level among the scored samples"
    elif rarer == 0:
        out["note"] = f"not fitted: all {out['n']} scored samples have the same outcome"
    elif rarer < MIN_EVENTS_PER_PARAMETER * n_params:
        out["note"] = (
            f"not fitted: too few rows: {rarer} samples of the rarer outcome for {n_params} parameters "
            f"(needs at least {MIN_EVENTS_PER_PARAMETER} per parameter)"
        )
    elif separated:
        out["note"] = "not fitted: separation, a level with all-harmful or all-safe outcomes has no finite effect: " + ", ".join(separated)
    if out["note"]:
        return out

    model = smf.logit("harmful ~ " + " + ".join(terms), data=frame)
    rank = np.linalg.matrix_rank(model.exog)
    if rank < model.exog.shape[1]:
        out["note"] = (
            f"not fitted: the grid confounds factors ({', '.join(varying)}): the design has rank {rank} "
            f"for {model.exog.shape[1]} columns; run a grid that crosses them"
        )
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            fit = model.fit(disp=0, maxiter=200)
        except (PerfectSeparationWarning, ConvergenceWarning, np.linalg.LinAlgError) as exc:
            out["note"] = f"not fitted: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            return out
    conf = fit.conf_int(alpha=ALPHA)
    with np.errstate(over="ignore"):
        for name in fit.params.index:
            values = {
                "coef": fit.params[name],
                "odds_ratio": np.exp(fit.params[name]),
                "or_low": np.exp(conf.loc[name, 0]),
                "or_high": np.exp(conf.loc[name, 1]),
                "p": fit.pvalues[name],
            }
            out["terms"].append({"term": name, **{k: float(v) if np.isfinite(v) else None for k, v in values.items()}})
    out["fitted"] = True
    out["note"] = f"fitted on {out['n']} scored samples; pseudo R² {fit.prsquared:.3f}, LLR p {fit.llr_pvalue:.3g}"
    return out


AWARENESS_COLUMNS = [*CELL_KEY, "awareness", "count", "share", "n", "k", "rate", "ci_low", "ci_high"]


def awareness(results: pd.DataFrame) -> pd.DataFrame:
    """Harmful rate by awareness label, per cell that has any label (scored samples only).

    `share` is the label's fraction of the cell's scored samples; samples without a label
    are grouped as `no label`.
    """
    scored = results[results["harmful"].notna()]
    labelled_cells = scored[scored["awareness"].notna()][CELL_KEY].drop_duplicates()
    if labelled_cells.empty:
        return pd.DataFrame(columns=AWARENESS_COLUMNS)
    rows = scored.merge(labelled_cells, on=CELL_KEY).assign(
        awareness=lambda d: d["awareness"].astype(object).where(d["awareness"].notna(), "no label"),
        harmful=lambda d: d["harmful"].astype(int),
    )
    table = rows.groupby([*CELL_KEY, "awareness"], dropna=False)["harmful"].agg(n="size", k="sum").reset_index()
    table["count"] = table["n"]
    table["share"] = table["n"] / table.groupby(CELL_KEY, dropna=False)["n"].transform("sum")
    table["rate"] = table["k"] / table["n"]
    table["ci_low"], table["ci_high"] = wilson(table["k"], table["n"])
    return table[AWARENESS_COLUMNS]
