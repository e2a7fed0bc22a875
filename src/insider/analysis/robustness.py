"""Robustness to wording: one cell run on several variants of a pack, with the variant as a cluster.

A *family* is one (model entry, mode, condition) run on two or more variant packs of the same
parent (`variant_of`), each with at least one scored sample. Samples of one variant share its
wording, so they are not independent draws: a pooled k/n with a plain Wilson interval would
count a wording's quirk once per sample. Per family:

- **per variant**: k/n with a Wilson 95% interval;
- **pooled rate and spread**: a beta-binomial random-effects model. Each variant's rate is drawn
  from a beta distribution with mean `rate` and intra-class correlation `icc` (the correlation
  of two samples' outcomes under one wording; the between-variant variance of the rates is
  `icc * rate * (1 - rate)`), and each variant's k is binomial given its rate. Both are fitted
  by maximum likelihood, and each gets a 95% profile-likelihood interval (the values whose
  likelihood ratio against the fit stays below the chi-square(1) 95% point, the other
  parameter re-fitted at each). Unlike a Wald or cluster-robust (GEE) interval it stays
  meaningful at rates of 0 and 1, where those collapse to zero width: all variants at 0% give
  a pooled rate of 0 and an upper bound set by the number of variants (any variant could
  be one whose every sample is harmful), and `icc` is then not identified (null, interval
  [0, 1]). It needs no continuity correction, unlike a random-effects meta-analysis on the
  logit scale. Its intervals are asymptotic in the number of variants: in simulation
  (`tests/test_robustness.py`) 10 variants of 30 to 50 samples covered 93-95% of the time, 5
  variants about 88%.
- **homogeneity**: the Fisher-Freeman-Halton exact test of "every variant has the same rate"
  on the variants x (harmful, safe) table (Fisher's exact test for two variants; for more, a
  Monte Carlo p-value from 9,999 tables with the observed margins, with a fixed seed so a
  report is reproducible). The p-values are Holm-corrected over all families of a report; a
  family whose corrected p is below 0.05 is flagged: its variants disagree.
- **the original**: when the parent pack ran the same cell too, its k/n (`original_k`,
  `original_n`), to set the published wording beside its rewordings; it is not pooled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize_scalar
from scipy.special import betaln, xlog1py, xlogy
from scipy.stats import MonteCarloMethod, chi2, fisher_exact
from statsmodels.stats.multitest import multipletests

from insider.analysis.stats import ALPHA, wilson

#: what makes a family: cells that differ only in which variant of `variant_of` they ran on
FAMILY_KEY = ["model", "base_model", "settings", "mode", "condition_id", "variant_of"]
#: Monte Carlo tables for the homogeneity test of three or more variants, and their seed
RESAMPLES = 9_999
SEED = 20250620
#: the likelihood-ratio cut-off of a 95% profile interval
_CUTOFF = float(chi2.ppf(1 - ALPHA, 1))
#: the fit keeps rates inside (0, 1) and the ICC below 1 by these margins (both reach the
#: boundary in value: a pooled rate of 1e-9 is shown, and is, 0%)
_EDGE = 1e-9
_ICC_MAX = 1 - 1e-6
#: below this ICC the beta-binomial is computed as the binomial it tends to
_ICC_MIN = 1e-7

FAMILY_COLUMNS = [
    *FAMILY_KEY, "variants", "n", "k", "rate", "ci_low", "ci_high", "icc", "icc_low", "icc_high", "sd_between",
    "min_rate", "max_rate", "p", "p_holm", "differ", "original_k", "original_n",
]  # fmt: skip
VARIANT_COLUMNS = [*FAMILY_KEY, "pack", "n", "k", "rate", "ci_low", "ci_high", "realism"]


def _loglik(rate: float, icc: float, k: np.ndarray, n: np.ndarray) -> float:
    """Beta-binomial log-likelihood of the variants' counts, without the constant binomial
    coefficients (scipy.stats.betabinom.logpmf minus log C(n, k); that scipy form is ~8x slower,
    and the fit calls this thousands of times)."""
    rate = min(max(rate, _EDGE), 1 - _EDGE)
    if icc < _ICC_MIN:
        return float((xlogy(k, rate) + xlog1py(n - k, -rate)).sum())
    scale = (1 - icc) / icc
    a, b = rate * scale, (1 - rate) * scale
    return float((betaln(k + a, n - k + b) - betaln(a, b)).sum())


def _best_rate(icc: float, k: np.ndarray, n: np.ndarray) -> float:
    """The profile log-likelihood of an ICC (the rate re-fitted)."""
    found = minimize_scalar(lambda r: -_loglik(r, icc, k, n), bounds=(0, 1), method="bounded", options={"xatol": 1e-8})
    return max(-float(found.fun), _loglik(float(k.sum() / n.sum()), icc, k, n))


def _best_icc(rate: float, k: np.ndarray, n: np.ndarray) -> float:
    """The profile log-likelihood of a pooled rate (the ICC re-fitted; ICC 0 included)."""
    found = minimize_scalar(lambda c: -_loglik(rate, c, k, n), bounds=(0, _ICC_MAX), method="bounded", options={"xatol": 1e-7})
    return max(-float(found.fun), _loglik(rate, 0.0, k, n))


def _profile_interval(profile, estimate: float, best: float, low: float, high: float) -> tuple[float, float]:
    """The values of a parameter whose profile likelihood ratio against the fit is within the cut-off."""

    def excess(value: float) -> float:
        return 2 * (best - profile(value)) - _CUTOFF

    lower = low if estimate <= low or excess(low) <= 0 else brentq(excess, low, estimate, xtol=1e-7)
    upper = high if estimate >= high or excess(high) <= 0 else brentq(excess, estimate, high, xtol=1e-7)
    return float(lower), float(upper)


@dataclass(frozen=True)
class Pooled:
    """The beta-binomial fit of one family."""

    rate: float
    ci_low: float
    ci_high: float
    #: None when every variant is at 0% or every one at 100% (the spread is not identified)
    icc: float | None
    icc_low: float
    icc_high: float

    @property
    def sd_between(self) -> float | None:
        """The standard deviation of the variants' true rates (rate scale)."""
        return None if self.icc is None else float(np.sqrt(self.icc * self.rate * (1 - self.rate)))


def pooled(k: np.ndarray, n: np.ndarray) -> Pooled:
    """Fit the beta-binomial to the variants' harmful counts `k` of scored counts `n` (n > 0 each)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    found = minimize_scalar(lambda c: -_best_rate(c, k, n), bounds=(0, _ICC_MAX), method="bounded", options={"xatol": 1e-7})
    icc, best = float(found.x), -float(found.fun)
    at_zero = _best_rate(0.0, k, n)
    if at_zero >= best:
        icc, best = 0.0, at_zero
    fit = minimize_scalar(lambda r: -_loglik(r, icc, k, n), bounds=(0, 1), method="bounded", options={"xatol": 1e-9})
    rate = float(fit.x) if -fit.fun >= _loglik(k.sum() / n.sum(), icc, k, n) else float(k.sum() / n.sum())
    ci_low, ci_high = _profile_interval(lambda r: _best_icc(r, k, n), rate, best, 0.0, 1.0)
    icc_low, icc_high = _profile_interval(lambda c: _best_rate(c, k, n), icc, best, 0.0, _ICC_MAX)
    degenerate = bool((k == 0).all() or (k == n).all())
    return Pooled(
        rate=0.0 if (k == 0).all() else 1.0 if (k == n).all() else rate,
        ci_low=ci_low,
        ci_high=ci_high,
        icc=None if degenerate else icc,
        icc_low=0.0 if degenerate else icc_low,
        icc_high=1.0 if degenerate or icc_high >= _ICC_MAX else icc_high,
    )


def homogeneity(k: np.ndarray, n: np.ndarray) -> float:
    """p-value of the exact test that every variant has the same rate (1 when all samples agree:
    the margins then allow one table only)."""
    k, n = np.asarray(k, dtype=int), np.asarray(n, dtype=int)
    if k.sum() in (0, n.sum()):
        return 1.0
    table = np.vstack([k, n - k])
    if table.shape[1] == 2:
        return float(fisher_exact(table).pvalue)
    method = MonteCarloMethod(n_resamples=RESAMPLES, rng=np.random.default_rng(SEED))
    return float(fisher_exact(table, method=method).pvalue)


@dataclass
class Robustness:
    """The robustness section: one row per family, one per (family, variant)."""

    families: pd.DataFrame
    variants: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.families.empty


def robustness(cell_table: pd.DataFrame) -> Robustness:
    """Every family of the cell table (cells with a `variant_of`, two or more scored variants)."""
    varied = cell_table[cell_table["variant_of"].notna() & (cell_table["n"] > 0)]
    sizes = varied.groupby(FAMILY_KEY, dropna=False)["pack"].transform("nunique")
    varied = varied[sizes >= 2]
    if varied.empty:
        return Robustness(pd.DataFrame(columns=FAMILY_COLUMNS), pd.DataFrame(columns=VARIANT_COLUMNS))
    rows = []
    for key, group in varied.groupby(FAMILY_KEY, dropna=False, sort=False):
        k, n = group["k"].to_numpy(), group["n"].to_numpy()
        fit = pooled(k, n)
        rates = k / n
        rows.append(
            {
                **dict(zip(FAMILY_KEY, key)),
                "variants": len(group), "n": int(n.sum()), "k": int(k.sum()),
                "rate": fit.rate, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
                "icc": fit.icc, "icc_low": fit.icc_low, "icc_high": fit.icc_high, "sd_between": fit.sd_between,
                "min_rate": float(rates.min()), "max_rate": float(rates.max()), "p": homogeneity(k, n),
            }
        )  # fmt: skip
    families = pd.DataFrame(rows)
    families["p_holm"] = multipletests(families["p"], method="holm")[1]
    families["differ"] = families["p_holm"] < ALPHA
    families = _with_original(families, cell_table)
    families = families.sort_values(["model", "mode", "variant_of", "condition_id"], kind="stable")[FAMILY_COLUMNS].reset_index(drop=True)
    variants = varied.assign(rate=varied["k"] / varied["n"])
    variants["ci_low"], variants["ci_high"] = wilson(variants["k"], variants["n"])
    variants = variants.sort_values([*FAMILY_KEY, "pack"], kind="stable")[VARIANT_COLUMNS].reset_index(drop=True)
    return Robustness(families, variants)


def _with_original(families: pd.DataFrame, cell_table: pd.DataFrame) -> pd.DataFrame:
    """Each family with its parent pack's own k/n when the parent ran too (a cell with no
    `variant_of` whose pack is the parent, by name or by directory name)."""
    originals = cell_table[cell_table["variant_of"].isna() & (cell_table["n"] > 0)]
    parent = originals["pack"].astype(str).map(lambda pack: pack.rstrip("/").rsplit("/", 1)[-1])
    originals = originals.assign(variant_of=parent, original_k=originals["k"], original_n=originals["n"])
    found = originals[[*FAMILY_KEY, "original_k", "original_n"]].drop_duplicates(FAMILY_KEY, keep=False)  # one parent only
    merged = families.merge(found, on=FAMILY_KEY, how="left")
    return merged.astype({"original_k": "Int64", "original_n": "Int64"})


def flag_cells(cell_table: pd.DataFrame, result: Robustness) -> pd.DataFrame:
    """The cell table with `variants_differ`: True on every cell of a family whose variants
    disagree, False on the cells of other families, null on cells in no family."""
    flags = result.families[[*FAMILY_KEY, "differ"]].rename(columns={"differ": "variants_differ"})
    merged = cell_table.drop(columns="variants_differ", errors="ignore").merge(flags, on=FAMILY_KEY, how="left")
    in_family = merged.set_index(FAMILY_KEY + ["pack"]).index.isin(result.variants.set_index(FAMILY_KEY + ["pack"]).index)
    merged["variants_differ"] = merged["variants_differ"].astype("boolean").where(in_family, pd.NA)
    return merged
