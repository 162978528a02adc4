"""The vectorised helpers of mapping/analysis/frames.py against the pandas operations and Python text they
replace, and the specialisation table built on them against a pivot-table reference."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mapping.analysis.frames import fixed_text, group_codes, join_text, lookup, wide_first
from mapping.analysis.rules import evaluate_call_rule
from mapping.analysis.specialisation import specialisation, specialised_only, specialised_variants


def test_fixed_text_is_python_formatting_for_ties_signs_and_extremes():
    rng = np.random.default_rng(3)
    x = np.concatenate([
        rng.lognormal(0, 3, 20000),
        np.arange(0, 4000) / 2000.0,  # exact and near halves of the third decimal (0.0005, 0.0015, ...)
        [0.0625, 0.0005, 0.0015, 2.5e-4, 1.9995, 0.9995, 123456789.0005, 0.0, -0.0, -1.2345, -0.0004,
         np.inf, -np.inf, np.nan, 1e15, 1e20, 5e-324, 2.0 ** 50 / 1000, 2.0 ** 52],
    ])
    expected = [None if np.isnan(v) else f"{v:.3f}" for v in x]
    assert fixed_text(x).to_pylist() == expected
    assert fixed_text(np.array([2.5, np.nan]), decimals=0).to_pylist() == [f"{2.5:.0f}", None]


def test_join_text_leaves_out_null_pieces_and_keeps_empty_rows():
    a = pa.array(["a", None, None, "b"])
    b = pa.array(["x", "y", None, None])
    assert join_text([a, b], ";").to_pylist() == ["a;x", "y", "", "b"]  # the all-null row stays, empty
    assert join_text([a], ";").to_pylist() == ["a", "", "", "b"]
    assert join_text([a, b, a], "--").to_pylist() == ["a--x--a", "y", "", "b--b"]


def test_group_codes_number_groups_as_groupby_does():
    df = pd.DataFrame({"y": [2021, 2020, 2021, 2020, 2021], "r": ["b", "a", "a", "a", "b"],
                       "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    codes, uniques = group_codes(df, ["y", "r"])
    assert codes.tolist() == df.groupby(["y", "r"], sort=True).ngroup().tolist()
    assert list(uniques.itertuples(index=False, name=None)) == [(2020, "a"), (2021, "a"), (2021, "b")]
    assert uniques["y"].dtype == df["y"].dtype and uniques["r"].dtype == df["r"].dtype
    codes, uniques = group_codes(df, ["y", "r"], sort=False)
    assert codes.tolist() == [0, 1, 2, 1, 0]  # first appearance
    assert list(uniques.itertuples(index=False, name=None)) == [(2021, "b"), (2020, "a"), (2021, "a")]


def test_lookup_is_a_left_merge_row_match():
    left = pd.DataFrame({"k": ["a", "b", "c", None, "a"], "j": [1, 1, 2, 3, 2]})
    right = pd.DataFrame({"k": ["c", "a", "a", None], "j": [2, 1, 1, 3], "v": [10, 20, 30, 40]})
    # first matching row of right; -1 without a match; a missing key matches a missing key (as merge)
    assert lookup(left, right, ["k", "j"]).tolist() == [1, -1, 0, 3, -1]
    merged = left.merge(right.drop_duplicates(["k", "j"]), on=["k", "j"], how="left")
    got = lookup(left, right, ["k", "j"])
    assert [right["v"][p] if p >= 0 else None for p in got] == [None if pd.isna(v) else v for v in merged["v"]]
    other = left.rename(columns={"k": "key"})
    assert lookup(other, right, ["k", "j"], left_on=["key", "j"]).tolist() == [1, -1, 0, 3, -1]


def test_wide_first_is_pivot_first_with_repeats_and_gaps():
    long = pd.DataFrame({"r": [0, 0, 1, 1, 1, 2], "c": [0, 1, 0, 0, 1, 1],
                         "v": [1.0, np.nan, np.nan, 5.0, 6.0, 7.0]})  # (1, 0) twice: the first non-missing wins
    got = wide_first(long["r"].to_numpy(), 3, long["c"].to_numpy(), 2, long["v"].to_numpy())
    ref = long.pivot_table(index="r", columns="c", values="v", aggfunc="first", dropna=False).to_numpy()
    np.testing.assert_array_equal(got, ref)


# --------------------------------------------------------------------------- specialisation vs a pivot reference

_KEYS = ["year", "classification", "level", "region_code", "activity_code"]


def _reference(lq, indicators, rule):
    """The combined table as pivot tables and per-row Python give it (the implementation before integer codes)."""
    sub = lq.loc[lq["level"].eq("s") & lq["indicator"].isin(indicators)]
    wf = sub.pivot_table(index=_KEYS, columns="indicator", values="specialised", aggfunc="first")
    wl = sub.pivot_table(index=_KEYS, columns="indicator", values="lq", aggfunc="first", dropna=False).reindex(wf.index)
    flags = {c: wf[c].fillna(False).astype(bool) for c in wf.columns}
    calls = {c: (f.astype(int) * 2) for c, f in flags.items()}
    out = pd.DataFrame(index=wf.index)
    out["specialised"] = (evaluate_call_rule(rule, calls) == 2).reindex(out.index).fillna(False).astype(bool)
    out["lq_max"] = wl.max(axis=1, skipna=True)
    has = wl.notna().any(axis=1)
    out["lq_indicator"] = ""
    out.loc[has, "lq_indicator"] = wl.loc[has].idxmax(axis=1, skipna=True)
    out["lq_by_indicator"] = [";".join(f"{c}={v:.3f}" for c, v in zip(wl.columns, row) if not np.isnan(v))
                              for row in wl.to_numpy(dtype=float)]
    out["indicators_specialised"] = [";".join(c for c in wf.columns if flags[c].loc[k]) for k in out.index]
    code = {"no": 0, "possible": 1, "certain": 2}
    wc = sub.pivot_table(index=_KEYS, columns="indicator", values="specialisation_call", aggfunc="first")
    ccalls = {c: wc[c].reindex(out.index).map(code).fillna(0).astype(int) for c in wc.columns}
    comb = evaluate_call_rule(rule, ccalls).reindex(out.index).fillna(0).astype(int)
    out["specialisation_call"] = comb.map({v: k for k, v in code.items()})
    lo = sub.pivot_table(index=_KEYS, columns="indicator", values="lq_low", aggfunc="first",
                         dropna=False).reindex(out.index)
    hi = sub.pivot_table(index=_KEYS, columns="indicator", values="lq_high", aggfunc="first",
                         dropna=False).reindex(out.index)
    ref = out["lq_indicator"].copy()
    none = (ref == "") & hi.notna().any(axis=1)
    ref[none] = hi.loc[none].replace(np.inf, np.finfo(float).max).idxmax(axis=1, skipna=True)
    agree = pd.DataFrame({c: ccalls[c].to_numpy() == comb.to_numpy() for c in ccalls}, index=out.index)
    score = wl.reindex(columns=agree.columns).fillna(-1.0).where(agree, -np.inf)
    has = agree.any(axis=1)
    ref[has] = score.loc[has].idxmax(axis=1)
    for name, w in (("lq_low", lo), ("lq_high", hi)):
        out[name] = [w.at[k, r] if r in w.columns else np.nan for k, r in zip(out.index, ref)]
    out["call_indicator"] = ref
    return out.reset_index()


@pytest.mark.parametrize("rule", ["a or b or c", "a and (b or not c)"])
def test_specialisation_matches_the_pivot_reference(rule):
    # SYNTHETIC: 3 indicators x 6 regions x 5 activities x 2 levels, with absent rows, missing LQs,
    # suppressed cells (no point LQ, an upper bound only) and every call.
    rng = np.random.default_rng(11)
    rows = []
    for ind in "abc":
        for r in range(6):
            for act in range(5):
                for level in ("s", "d"):
                    if rng.random() < 0.15:
                        continue  # the indicator has no row for this cell
                    lq = float(rng.choice([np.nan, rng.lognormal(0, 1), 2.0, 2.0005]))
                    hi = np.inf if np.isnan(lq) and rng.random() < 0.5 else (np.nan if np.isnan(lq) else lq * 1.1)
                    rows.append({"year": 2021, "classification": "X", "level": level, "indicator": ind,
                                 "region_code": f"R{r}", "activity_code": f"A{act}", "lq": lq,
                                 "lq_low": lq * 0.9 if not np.isnan(lq) else 0.0, "lq_high": hi,
                                 "specialised": bool(lq >= 2.0),
                                 "specialisation_call": str(rng.choice(["no", "possible", "certain"]))})
    lq = pd.DataFrame(rows).sample(frac=1.0, random_state=1).reset_index(drop=True)  # any row order
    got = specialisation(lq, indicators=("a", "b", "c"), rule=rule, level="s")
    ref = _reference(lq, ("a", "b", "c"), rule)
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_exact=True)
    only = specialised_only(lq, indicators=("a", "b", "c"), rule=rule, level="s")
    pd.testing.assert_frame_equal(only, got[only.columns], check_exact=True)
    flipped = ~lq["specialised"]
    both = specialised_variants(lq, {"same": lq["specialised"], "flipped": flipped}, indicators=("a", "b", "c"),
                                rule=rule, level="s")
    assert both["same"].tolist() == got["specialised"].tolist()
    alt = specialised_only(lq.assign(specialised=flipped), indicators=("a", "b", "c"), rule=rule, level="s")
    assert both["flipped"].tolist() == alt["specialised"].tolist()


def test_permuted_rows_are_a_permutation_per_column():
    # The null of the grouping validation shuffles each column with Generator.permuted (one call); the
    # draws are those of a permutation per column, so the nulls stay as they were.
    x = np.random.default_rng(0).normal(size=(40, 7))
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(np.column_stack([a.permutation(x[:, j]) for j in range(7)]), b.permuted(x, axis=0))
    assert a.random() == b.random()
