"""Weights and k chosen on held-out evidence, scores against nulls, development level (SYNTHETIC planted data)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from mapping.analysis.grouping import build_groups
from mapping.analysis.location_quotient import location_quotients
from mapping.analysis.relatedness import combine_relatedness, hierarchy_closeness, rank_scale, relatedness
from mapping.analysis.validation import HeldOut, comembership_corr, mantel_test, select_weights_k, tree_baseline
from mapping.analysis.validation_report import relatedness_methods_section
from mapping.config import RelatednessSection

N_GROUPS, SIZE = 4, 6


def _codes():
    """SYNTHETIC 6-digit codes whose 3-digit prefixes cut across the planted groups: prefix p holds
    three activities of planted group p and three of group p + 1."""
    codes, truth = [], []
    for g in range(N_GROUPS):
        for i in range(SIZE):
            prefix = 100 + (g if i < 3 else (g - 1) % N_GROUPS)
            codes.append(f"{prefix}{g}{i:02d}")
            truth.append(g)
    order = np.argsort(codes)  # the matrices come sorted by code
    return [codes[i] for i in order], np.array(truth)[order]


def _planted_lq(n_regions=60, seed=3, shuffle=False):
    """SYNTHETIC LQs: activities of a planted group share a regional factor (or, shuffled, none)."""
    rng = np.random.default_rng(seed)
    codes, truth = _codes()
    f = rng.lognormal(0, 0.8, size=(n_regions, N_GROUPS))
    vals = f[:, truth] * rng.lognormal(0, 0.35, size=(n_regions, len(codes))) * 100
    if shuffle:
        vals = np.column_stack([rng.permutation(vals[:, j]) for j in range(vals.shape[1])])
    rows = [{"year": 2021, "indicator": "employment", "unit": "persons", "classification": "X", "level": "naics6",
             "region_code": f"R{r:03d}", "activity_code": c, "value": vals[r, j], "flag": ""}
            for r in range(n_regions) for j, c in enumerate(codes)]
    return location_quotients(pd.DataFrame(rows)), codes, truth


def _planted_io(codes, truth, seed=5):
    """SYNTHETIC input-output links: within-group pairs strong, others weak, with noise."""
    rng = np.random.default_rng(seed)
    n = len(codes)
    m = np.where(truth[:, None] == truth[None, :], 0.3, 0.02) * rng.lognormal(0, 0.5, (n, n))
    m = np.maximum(m, m.T)
    np.fill_diagonal(m, 1.0)
    return m


def test_comembership_corr_hand_computed():
    held = np.array([[1, 0.9, 0.1], [0.9, 1, 0.2], [0.1, 0.2, 1]])
    # pairs (0,1) same group 0.9; (0,2), (1,2) different 0.1, 0.2 -> point-biserial of [1,0,0] with [.9,.1,.2]
    assert comembership_corr([0, 0, 1], held) == pytest.approx(np.corrcoef([1, 0, 0], [0.9, 0.1, 0.2])[0, 1])


def _corr_per_block(held, labels):
    """The point-biserial score with one indexing per group (the simple form of ``HeldOut.corr``)."""
    h = np.asarray(held, dtype=float)
    ok = ~np.isnan(h)
    np.fill_diagonal(ok, False)
    h0, okf = np.where(ok, h, 0.0), ok.astype(float)
    iu = np.triu_indices(len(h), k=1)
    v = h[iu][ok[iu]]
    m, sh, shh = len(v), float(v.sum()), float((v * v).sum())
    lab = pd.factorize(np.asarray(labels))[0]
    order = np.argsort(lab, kind="stable")
    ss = sxy = 0.0
    for idx in np.split(order, np.flatnonzero(np.diff(lab[order])) + 1):
        if len(idx) > 1:
            ss += float(okf[np.ix_(idx, idx)].sum())
            sxy += float(h0[np.ix_(idx, idx)].sum())
    ss, sxy = ss / 2, sxy / 2
    den = (m * ss - ss * ss) * (m * shh - sh * sh)
    return float("nan") if m < 3 or den <= 0 else float((m * sxy - ss * sh) / np.sqrt(den))


@pytest.mark.parametrize("gaps", [False, True])
def test_heldout_corr_equals_per_block_sums_bit_for_bit(gaps):
    """The one-gather block sums give the per-group loop's score exactly (same summation order)."""
    rng = np.random.default_rng(3)
    for n in (2, 7, 150, 333):
        h = rng.normal(size=(n, n)) * 100
        h = (h + h.T) / 2
        if gaps:
            h[rng.random((n, n)) < 0.15] = np.nan
        held = HeldOut(h)
        for k in (1, 2, 5, 60):
            labels = [f"G{x}" for x in rng.integers(0, k, n)]
            a, b = held.corr(labels), _corr_per_block(h, labels)
            assert (np.isnan(a) and np.isnan(b)) or a == b


def test_selection_recovers_planted_groups_better_than_the_prefix():
    lq, codes, truth = _planted_lq()
    wide = relatedness(lq, indicator="employment", level="naics6")
    assert list(wide.index) == codes
    x = lq.pivot_table(index="region_code", columns="activity_code", values="lq")[codes].to_numpy()
    others = {"io": _planted_io(codes, truth), "hierarchy": hierarchy_closeness(codes).to_numpy()}
    sel = select_weights_k(x, others, control=None, measure="correlation", min_regions=5, k_min=2, k_max=10, seed=1)
    assert sel["k"] == N_GROUPS and not sel["k_at_edge"]
    # the misleading tree gets less weight than the planted evidence
    assert sel["weights"]["hierarchy"] < sel["weights"]["colocation"] + sel["weights"]["io"]
    comps = {"colocation": wide, "io": pd.DataFrame(others["io"], index=codes, columns=codes),
             "hierarchy": pd.DataFrame(others["hierarchy"], index=codes, columns=codes)}
    m = combine_relatedness(comps, sel["weights"], scale="rank")
    from mapping.analysis.validation import average_tree, cut

    labels = cut(average_tree(m.to_numpy()), [sel["k"]])[sel["k"]]
    prefix = tree_baseline(codes)
    assert prefix == [c[:3] for c in codes]
    assert adjusted_rand_score(truth, labels) > 0.9 > adjusted_rand_score(truth, prefix)


def test_k_on_the_edge_widens_the_range():
    lq, codes, truth = _planted_lq()
    x = lq.pivot_table(index="region_code", columns="activity_code", values="lq")[codes].to_numpy()
    sel = select_weights_k(x, {}, control=None, measure="correlation", min_regions=5, k_min=2, k_max=3, seed=1)
    assert sel["widened"] and sel["k_range"][1] > 3 and sel["k"] == N_GROUPS


def test_scores_do_not_beat_their_null_on_shuffled_regions():
    lq, codes, truth = _planted_lq(shuffle=True)  # SYNTHETIC: regions permuted within each activity
    rc = RelatednessSection(indicator="employment", weights="auto", combine_scale="rank", min_groups=2,
                            max_groups=8, stability_resamples=0, null_permutations=49)
    _, groups = build_groups(lq, rc, year=2021, level="naics6", classification="X", seed=3)
    rows = {r["score"]: r for r in groups.attrs["validation"]["scores"] if r["grouping"] == "data"}
    held = [r for s, r in rows.items() if s.startswith("held-out co-location")]
    assert held and not any(r["beats_null"] for r in held)
    assert not rows["in-sample share of activities closest to their own group"]["beats_null"]
    # the planted data beat the same nulls
    lq2, _, _ = _planted_lq()
    _, g2 = build_groups(lq2, rc, year=2021, level="naics6", classification="X", seed=3)
    rows2 = {r["score"]: r for r in g2.attrs["validation"]["scores"] if r["grouping"] == "data"}
    assert all(r["beats_null"] and r["p_value"] <= 0.05 for s, r in rows2.items() if s.startswith("held-out"))
    text = relatedness_methods_section(g2.attrs, {})
    assert "beside their nulls" in text and "k = " in text


def test_mantel_null_on_random_labels():
    rng = np.random.default_rng(0)
    held = rank_scale(np.corrcoef(rng.normal(size=(30, 20)), rowvar=False))
    res = mantel_test(rng.integers(0, 4, 20), held, n_perm=99, seed=1)
    assert res["p_value"] > 0.05 and not res["beats_null"] and abs(res["null_mean"]) < 0.05


def test_development_level_is_partialled_out():
    # SYNTHETIC: activities P and Q both fall with productivity z and are otherwise unrelated; R and S share a factor.
    rng = np.random.default_rng(4)
    n = 80
    z = rng.normal(0, 1, n)
    f = rng.lognormal(0, 0.5, n)
    vals = {"P": np.exp(-0.8 * z + rng.normal(0, 0.2, n)), "Q": np.exp(-0.8 * z + rng.normal(0, 0.2, n)),
            "R": f * rng.lognormal(0, 0.2, n), "S": f * rng.lognormal(0, 0.2, n), "T": rng.lognormal(0, 0.3, n)}
    rows = [{"year": 2021, "indicator": "gva", "unit": "rub", "classification": "X", "level": "section",
             "region_code": f"R{r:03d}", "activity_code": a, "value": v[r] * 100, "flag": ""}
            for a, v in vals.items() for r in range(n)]
    lq = location_quotients(pd.DataFrame(rows))
    control = pd.Series(z, index=[f"R{r:03d}" for r in range(n)])
    raw = relatedness(lq, indicator="gva")
    part = relatedness(lq, indicator="gva", control=control)
    assert raw.loc["P", "Q"] > 0.6 and abs(part.loc["P", "Q"]) < 0.3
    assert part.loc["R", "S"] > 0.4 > abs(part.loc["P", "Q"])
    assert part.attrs["control_r2"]["P"] > 0.5 > part.attrs["control_r2"]["R"]
    from mapping.analysis.validation import development_by_group

    wide = lq.pivot_table(index="region_code", columns="activity_code", values="lq")
    dev = development_by_group(wide, control, pd.Series({"P": "G1", "Q": "G1", "R": "G2", "S": "G2", "T": "G3"}),
                               part)
    by = {d["group_id"]: d for d in dev}
    assert by["G1"]["explained_by_development"] and by["G1"]["mean_corr"] < -0.5
    assert not by["G2"]["explained_by_development"]
