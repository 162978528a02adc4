"""The dense-array LQ and relatedness agree with the long-table functions of the library."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.fastlq import dense_lq, dense_relatedness, from_long
from mapping.analysis.location_quotient import REASON_TOTAL_UNKNOWN, location_quotients
from mapping.analysis.relatedness import relatedness
from mapping.errors import MappingError


def _tidy(seed: int = 0, regions: int = 30, activities: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for ind in ("employment", "revenue"):
        for r in range(regions):
            for a in range(activities):
                if rng.random() < 0.05:  # absent row
                    continue
                v = float(rng.lognormal(3, 1))
                if rng.random() < 0.08:
                    v = np.nan  # suppressed
                elif rng.random() < 0.05:
                    v = 0.0
                if r == 3:
                    v = 0.0  # a region whose total is zero
                if a == 5 and ind == "revenue":
                    v = 0.0  # an activity with no national value
                rows.append((2021, ind, "u", "OKVED2", "division", f"R{r:02d}", f"{a:02d}", v, ""))
    return pd.DataFrame(rows, columns=["year", "indicator", "unit", "classification", "level", "region_code",
                                       "activity_code", "value", "flag"])


def test_dense_lq_equals_the_long_table_function():
    tidy = _tidy()
    expected = location_quotients(tidy)
    values, present, inds, regs, acts = from_long(tidy)
    got = dense_lq(values, indicators=inds, regions=regs, activities=acts, present=present).to_long(
        values, present=present)
    assert len(got) == len(expected)
    for col in ("indicator", "region_code", "activity_code", "lq_reason", "specialised"):
        assert got[col].tolist() == expected[col].tolist(), col
    for col in ("value", "region_total", "national_value", "national_total", "share_of_national", "lq"):
        np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float), rtol=1e-12,
                                   equal_nan=True, err_msg=col)
    assert set(got["lq_reason"]) == {"", "value missing (suppressed or not published)", "region total is zero",
                                     "national value of the activity is zero", REASON_TOTAL_UNKNOWN}


def test_dense_lq_without_gaps_has_no_reasons_and_refuses_negatives():
    out = dense_lq(np.array([[30.0, 10.0], [10.0, 50.0]]))
    assert out.reason is None and np.allclose(out.lq[0], [[1.875, 0.41666667], [0.41666667, 1.38888889]])
    with pytest.raises(MappingError, match="negative"):
        dense_lq(np.array([[1.0, -1.0], [1.0, 1.0]]))


@pytest.mark.parametrize("measure", ["correlation", "cosine", "proximity"])
def test_dense_relatedness_equals_the_long_table_function(measure):
    lq = location_quotients(_tidy(seed=1, regions=40, activities=15))
    expected = relatedness(lq, indicator="employment", level="division", measure=measure)
    values, _, inds, regs, acts = from_long(lq.rename(columns={"lq": "v"}), value="v")
    got = dense_relatedness(values[inds.index("employment")], measure=measure)
    assert list(expected.index) == acts
    np.testing.assert_allclose(got, expected.to_numpy(), atol=1e-10)


def test_pairwise_correlation_handles_gaps_and_constant_columns():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 6))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[:, 4] = 1.0  # constant: undefined correlation -> 0
    expected = np.array(pd.DataFrame(x).corr(min_periods=5).fillna(0.0).to_numpy())
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(dense_relatedness(x, measure="correlation"), expected, atol=1e-10)


def test_from_long_refuses_duplicates():
    t = _tidy().head(3)
    with pytest.raises(MappingError, match="more than once"):
        from_long(pd.concat([t, t.head(1)]))
