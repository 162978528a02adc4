"""False-discovery control of hot spots and the test behind every LQ at or above the threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control, poisson

from mapping.analysis.significance import bh_adjust, fdr_summary, threshold_tests
from mapping.analysis.spatial import local_moran


def test_bh_adjust_matches_scipy_and_keeps_nan():
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 0.002, size=10)])
    np.testing.assert_allclose(bh_adjust(p), false_discovery_control(p, method="bh"), rtol=1e-12)
    q = bh_adjust([0.01, np.nan, 0.02])
    assert np.isnan(q[1]) and q[0] == pytest.approx(0.02) and q[2] == pytest.approx(0.02)  # m = 2, not 3


def _grid(n: int):
    """Synthetic n x n lattice: codes 'r_c' and rook neighbour pairs."""
    codes = [f"{r}_{c}" for r in range(n) for c in range(n)]
    pairs = [(f"{r}_{c}", f"{r + dr}_{c + dc}") for r in range(n) for c in range(n)
             for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)) if 0 <= r + dr < n and 0 <= c + dc < n]
    return codes, pd.DataFrame(pairs, columns=["region_code", "neighbour_code"])


def test_fdr_on_a_synthetic_map_with_known_hot_spots():
    # Synthetic (labelled): a 20 x 20 lattice of pure noise with two planted 3 x 3 hot spots = 18 true HH
    # regions. Far from them (Chebyshev distance > 1 from a planted block) every "significant" region
    # is a false discovery by construction.
    n = 20
    codes, nb = _grid(n)
    rng = np.random.default_rng(11)
    y = pd.Series(rng.lognormal(0, 0.3, size=n * n), index=codes)
    true, near = set(), set()
    for r0, c0 in ((3, 3), (13, 12)):
        for r in range(r0 - 1, r0 + 4):
            for c in range(c0 - 1, c0 + 4):
                (true if (r0 <= r < r0 + 3 and c0 <= c < c0 + 3) else near).add(f"{r}_{c}")
    y[list(true)] += 6.0
    lq = pd.DataFrame({"year": 2021, "indicator": "x", "classification": "S", "level": "section",
                       "region_code": codes, "activity_code": "A", "lq": y.to_numpy(), "specialised": True})
    units = pd.DataFrame({"region_code": codes})
    common = dict(indicators=("x",), level="section", year=2021, activities=["A"], permutations=9999, seed=1)
    raw = local_moran(lq, units, nb, alpha=0.05, **common).set_index("region_code")
    fdr = local_moran(lq, units, nb, alpha=0.05, fdr_q=0.05, **common).set_index("region_code")
    far = [c for c in codes if c not in true and c not in near]
    sig_raw = raw["hotspot"].isin(["HH", "LL", "HL", "LH"])
    sig_fdr = fdr["hotspot"].isin(["HH", "LL", "HL", "LH"])
    # Chance alone: about 5 % of the 382 null regions at p < 0.05 unadjusted.
    assert sig_raw[far].sum() >= 8
    assert (raw.loc[list(true), "hotspot"] == "HH").all()
    # After Benjamini-Hochberg: the planted hot spots with at least 3 of 4 planted neighbours (the
    # 5-cell cross of each block) are all found; block corners (2 of 4) are weaker evidence.
    strong = [c for c in true if sum(f"{int(c.split('_')[0]) + dr}_{int(c.split('_')[1]) + dc}" in true
                                     for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))) >= 3]
    assert len(strong) == 10 and (fdr.loc[strong, "hotspot"] == "HH").all()
    # ... and chance discoveries (almost) vanish.
    false = sig_fdr[far].sum()
    assert false <= 2 and false / max(sig_fdr.sum(), 1) <= 0.1
    # q-values are the BH adjustment of the map's p-values.
    np.testing.assert_allclose(fdr["local_moran_q"].to_numpy(), bh_adjust(fdr["local_moran_p"].to_numpy()))
    s = fdr_summary(fdr.reset_index(), alpha=0.05, fdr_q=0.05)
    assert s["tests"] == n * n and s["expected_by_chance"] == pytest.approx(20.0)
    assert s["significant_unadjusted"] == sig_raw.sum() and s["significant_fdr"] == sig_fdr.sum()


def test_threshold_tests_garwood_for_counts_and_bounds_for_shares():
    t = pd.DataFrame({
        "indicator": ["establishments", "establishments", "gva", "gva", "gva"],
        "value": [6.0, 40.0, 50.0, 50.0, 5.0], "flag": "",
        "region_total": [20.0, 100.0, 100.0, 100.0, 100.0],
        "national_value": [100.0, 400.0, 100.0, 100.0, 100.0],
        "national_total": [1000.0, 1000.0, 1000.0, 1000.0, 1000.0],
        "lq": [3.0, 2.5, 5.0, 5.0, 0.5], "lq_cutoff": 2.0,
        "lq_low": [3.0, 2.5, 1.9, 2.1, 0.4], "lq_ci_low": [1.10, 1.79, np.nan, np.nan, np.nan]})
    r = threshold_tests(t, count_indicators=("establishments",))
    assert r["lq_test"].tolist() == ["garwood", "garwood", "bounds", "bounds", ""]
    # 6 of 20 where 2 were expected at LQ 1: at LQ 2 the mean is 4; P(X >= 6 | 4) by hand from the pmf.
    assert r["lq_test_p"].iloc[0] == pytest.approx(1 - sum(np.exp(-4) * 4 ** k / np.prod(range(1, k + 1))
                                                         for k in range(6)))
    assert r["lq_test_p"].iloc[1] == pytest.approx(poisson.sf(39, 80.0))
    assert r["lq_test_passed"].tolist()[:4] == [False, False, False, True]
    assert pd.isna(r["lq_test_passed"].iloc[4]) and np.isnan(r["lq_test_p"].iloc[2])
