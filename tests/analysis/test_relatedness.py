"""Relatedness measures and grouping on small hand-made and planted (synthetic) structures."""

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.location_quotient import location_quotients
from mapping.analysis.grouping import group_activities
from mapping.analysis.relatedness import relatedness
from mapping.errors import MappingError

SEED = 7


def _planted(n_regions=40, groups=(("A", "B", "C"), ("D", "E", "F"), ("G", "H", "I")), seed=SEED):
    """SYNTHETIC data with known groups: activities of a group share a regional factor."""
    rng = np.random.default_rng(seed)
    rows = []
    factors = rng.lognormal(0, 1.0, size=(n_regions, len(groups)))
    for r in range(n_regions):
        for g, acts in enumerate(groups):
            for a in acts:
                v = factors[r, g] * rng.lognormal(0, 0.15) * 100
                rows.append({"year": 2021, "indicator": "employment", "unit": "persons", "classification": "X",
                             "level": "section", "region_code": f"R{r:03d}", "activity_code": a, "value": v,
                             "flag": ""})
    return location_quotients(pd.DataFrame(rows))


@pytest.mark.parametrize("measure", ["correlation", "cosine", "proximity"])
def test_matrix_is_symmetric_with_unit_diagonal(measure):
    m = relatedness(_planted(), indicator="employment", measure=measure)
    assert m.shape == (9, 9)
    np.testing.assert_allclose(m.to_numpy(), m.to_numpy().T)
    np.testing.assert_allclose(np.diag(m.to_numpy()), 1.0)
    assert m.attrs["measure"] == measure


def test_proximity_hand_computed():
    # 4 regions; LQ>=1 pattern: A in r0,r1; B in r0; C in r2,r3. P(A|B)=1, P(B|A)=0.5 -> 0.5.
    lq = pd.DataFrame({"region_code": ["r0", "r1", "r2", "r3"] * 3,
                       "activity_code": ["A"] * 4 + ["B"] * 4 + ["C"] * 4,
                       "lq": [1.5, 1.2, 0.1, 0.2, 3.0, 0.5, 0.1, 0.9, 0.2, 0.3, 2.0, 1.1],
                       "share_of_national": 0.25, "indicator": "e", "level": "section", "year": 2021})
    m = relatedness(lq, indicator="e", measure="proximity", min_regions=4)
    assert m.loc["A", "B"] == pytest.approx(0.5)
    assert m.loc["A", "C"] == pytest.approx(0.0)


@pytest.mark.parametrize("method", ["agglomerative", "spectral"])
def test_grouping_recovers_planted_groups(method):
    m = relatedness(_planted(), indicator="employment", measure="correlation")
    g = group_activities(m, method=method, n_groups="auto", min_groups=2, max_groups=6, seed=SEED)
    labels = dict(zip(g["activity_code"], g["group_id"]))
    assert g.attrs["n_groups"] == 3
    for trio in (("A", "B", "C"), ("D", "E", "F"), ("G", "H", "I")):
        assert len({labels[a] for a in trio}) == 1
    assert (g["validation_margin"] > 0).all()  # every activity is closer to its own group
    assert g["group_id"].iloc[0] == "G01"  # numbered by first activity code: stable


def test_own_group_relatedness_is_mean_to_group_mates():
    m = relatedness(_planted(), indicator="employment", measure="correlation")
    g = group_activities(m, n_groups=3)
    # Hand-check the margin of one activity against the matrix.
    a = g.set_index("activity_code")
    mates = [x for x in a.index if a.at[x, "group_id"] == a.at["A", "group_id"] and x != "A"]
    assert a.at["A", "relatedness_own_group"] == pytest.approx(m.loc["A", mates].mean())


def test_errors_name_the_problem():
    lq = _planted()
    with pytest.raises(MappingError, match="not one of"):
        relatedness(lq, indicator="employment", measure="jaccard")
    with pytest.raises(MappingError, match="no LQs for indicator 'exports'"):
        relatedness(lq, indicator="exports")
    with pytest.raises(MappingError, match="n_groups must be between"):
        group_activities(relatedness(lq, indicator="employment"), n_groups=20)


def test_rank_scale_is_the_share_of_pairs_strictly_below_with_ties_and_gaps():
    import numpy as np

    from mapping.analysis.relatedness import rank_scale

    rng = np.random.default_rng(3)
    x = np.round(rng.random((60, 60)), 1)  # many ties
    x[rng.random((60, 60)) < 0.2] = np.nan
    got = rank_scale(x)
    iu = np.triu_indices(60, k=1)
    v = x[iu]
    ok = ~np.isnan(v)
    below = np.array([(v[ok] < a).sum() for a in v[ok]]) / (ok.sum() - 1)  # the definition, pair by pair
    assert np.array_equal(got[iu][ok], below)
    assert np.isnan(got[iu][~ok]).all() and (np.diag(got) == 1.0).all()
    assert np.array_equal(got, got.T, equal_nan=True)
