"""The robustness statistics on simulated variants: intervals that cover, a test that flags only real spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import betabinom

from insider.analysis.robustness import (
    _loglik,
    flag_cells,
    homogeneity,
    pooled,
    robustness,
)
from insider.analysis.stats import wilson

#: simulated datasets per coverage check: a 95% interval's coverage is then known to about ±1.5 points
DATASETS = 200


def simulate(rng: np.random.Generator, variants: int, per_variant: int, rate: float, icc: float) -> tuple[np.ndarray, np.ndarray]:
    """Harmful counts of `variants` wordings whose true rates are Beta with mean `rate` and ICC `icc`."""
    n = np.full(variants, per_variant)
    if icc == 0:
        return rng.binomial(n, rate), n
    scale = (1 - icc) / icc
    return rng.binomial(n, rng.beta(rate * scale, (1 - rate) * scale, variants)), n


def test_the_likelihood_is_scipys_beta_binomial_up_to_a_constant():
    k, n = np.array([0, 3, 7, 10]), np.array([10, 10, 12, 10])
    scale = (1 - 0.2) / 0.2
    ours = [_loglik(rate, 0.2, k, n) for rate in (0.1, 0.4, 0.8)]
    scipys = [betabinom.logpmf(k, n, rate * scale, (1 - rate) * scale).sum() for rate in (0.1, 0.4, 0.8)]
    assert np.allclose(np.diff(ours), np.diff(scipys))


def test_intervals_cover_a_known_between_variant_spread_at_close_to_95_percent():
    """10 variants of 30 samples, true rate 30% and ICC 0.1 (variant rates spread with SD ~14 points)."""
    rng = np.random.default_rng(7)
    rate, icc = 0.3, 0.1
    covered_rate = covered_icc = covered_naive = 0
    for _ in range(DATASETS):
        k, n = simulate(rng, 10, 30, rate, icc)
        fit = pooled(k, n)
        covered_rate += fit.ci_low <= rate <= fit.ci_high
        covered_icc += fit.icc_low <= icc <= fit.icc_high
        low, high = wilson(k.sum(), n.sum())
        covered_naive += low <= rate <= high
    assert 0.90 <= covered_rate / DATASETS <= 0.99
    assert 0.90 <= covered_icc / DATASETS <= 0.99
    # the check has teeth: a Wilson interval that ignores the variants covers far less often
    assert covered_naive / DATASETS < 0.80


def test_with_no_between_variant_spread_the_icc_interval_holds_zero_and_nothing_is_flagged():
    """80 cells whose variants share one rate (3 to 10 variants, 5 to 40 samples, rates 2% to 95%)."""
    rng = np.random.default_rng(11)
    cells, holds_zero = [], 0
    for i in range(80):
        variants, per_variant = int(rng.integers(3, 11)), int(rng.integers(5, 41))
        k, n = simulate(rng, variants, per_variant, float(rng.choice([0.02, 0.1, 0.3, 0.5, 0.8, 0.95])), 0.0)
        holds_zero += pooled(k, n).icc_low == 0
        cells += [synthetic_cell(f"c{i}", f"v{j}", kj, nj) for j, (kj, nj) in enumerate(zip(k, n))]
    families = robustness(pd.DataFrame(cells)).families
    assert len(families) == 80
    assert not families["differ"].any()
    # and the p-values are not merely rescued by Holm: raw rejections stay near 5%
    assert (families["p"] < 0.05).mean() <= 0.10
    assert holds_zero / 80 >= 0.90


def test_variants_that_disagree_are_flagged_and_their_cells_marked():
    rows = [synthetic_cell("spread", f"v{j}", k, 20) for j, k in enumerate([0, 1, 18, 20, 2, 19])]
    rows += [synthetic_cell("steady", f"v{j}", k, 20) for j, k in enumerate([5, 6, 4, 5, 6, 5])]
    rows.append({**synthetic_cell("original", "builtin", 3, 20), "variant_of": None})
    table = pd.DataFrame(rows)
    result = robustness(table)
    flagged = result.families.set_index("condition_id")["differ"]
    assert flagged.to_dict() == {"spread": True, "steady": False}
    marked = flag_cells(table, result)
    assert marked.loc[marked["condition_id"] == "spread", "variants_differ"].eq(True).all()
    assert marked.loc[marked["condition_id"] == "steady", "variants_differ"].eq(False).all()
    assert marked.loc[marked["condition_id"] == "original", "variants_differ"].isna().all()


def test_all_variants_at_zero_give_a_zero_rate_an_upper_bound_set_by_the_variants_and_no_icc():
    fit = pooled(np.zeros(10, int), np.full(10, 100))
    assert fit.rate == 0 and fit.ci_low == 0
    # ten all-safe variants rule out a rate above 1 - exp(-chi2/2 / 10): any variant could be all-harmful
    assert fit.ci_high == pytest.approx(1 - np.exp(-3.8415 / 2 / 10), abs=1e-3)
    assert fit.icc is None and (fit.icc_low, fit.icc_high) == (0.0, 1.0)
    assert homogeneity(np.zeros(10, int), np.full(10, 100)) == 1.0


def test_all_variants_at_one_mirror_all_at_zero():
    high, low = pooled(np.full(10, 100), np.full(10, 100)), pooled(np.zeros(10, int), np.full(10, 100))
    assert high.rate == 1 and high.ci_high == 1
    assert high.ci_low == pytest.approx(1 - low.ci_high, abs=1e-6)


def test_more_samples_per_variant_do_not_narrow_the_pooled_interval_past_what_the_variants_allow():
    """With a real spread, the interval is set by the number of variants: 100x the samples barely helps."""
    few = pooled(np.array([2, 8, 4, 12, 6]), np.full(5, 20))
    many = pooled(np.array([2, 8, 4, 12, 6]) * 100, np.full(5, 2000))
    assert many.ci_high - many.ci_low > 0.6 * (few.ci_high - few.ci_low)
    assert many.icc > 0.05


def test_the_parent_packs_own_rate_stands_beside_its_variants_unpooled():
    rows = [synthetic_cell("c", f"variants/builtin-v{j}", k, 20) for j, k in enumerate([2, 3, 2])]
    rows.append({**synthetic_cell("c", "builtin", 15, 20), "variant_of": None})
    rows.append({**synthetic_cell("other", "builtin", 9, 20), "variant_of": None})
    family = robustness(pd.DataFrame(rows)).families.iloc[0]
    assert (family["original_k"], family["original_n"], family["k"], family["n"]) == (15, 20, 7, 60)


def test_cells_in_no_family_make_no_section():
    table = pd.DataFrame([synthetic_cell("alone", "v1", 3, 10), {**synthetic_cell("orig", "builtin", 1, 10), "variant_of": None}])
    assert robustness(table).empty


def synthetic_cell(condition: str, pack: str, k: int, n: int) -> dict:
    rate = k / n
    return {
        "model": "m", "base_model": "m", "settings": "{}", "pack": pack, "mode": "text", "condition_id": condition,
        "variant_of": "builtin", "n": int(n), "k": int(k), "rate": rate, "realism": None,
    }  # fmt: skip
