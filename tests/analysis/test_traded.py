"""Traded vs local activities by the locational Gini: hand-computed cases, an independent formula, default data."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapping.analysis.location_quotient import location_quotients
from mapping.analysis.traded import locational_gini, trade_classes, with_trade_class

#: The bundled default data (derived from Rosstat; see data/README.md).
ROOT_DATA = Path(__file__).resolve().parents[2] / "data" / "ru_rosstat_2021.csv"


def _lq(values: dict[tuple[str, str], float]) -> pd.DataFrame:
    """LQ table from ``{(region, activity): value}`` (synthetic)."""
    return location_quotients(pd.DataFrame([
        {"year": 2021, "region_code": r, "activity_code": a, "classification": "X", "level": "section",
         "indicator": "employment", "value": v, "unit": "u", "flag": "", "source": "synthetic"}
        for (r, a), v in values.items()]))


def _gini_pairwise(lq: pd.DataFrame, act: str) -> float:
    """Weighted Gini of the LQs, weights = the regions' shares of the total: sum w_i w_j |r_i - r_j| / 2 (mean LQ 1)."""
    g = lq.loc[lq["activity_code"] == act]
    w = (g["region_total"] / g["region_total"].sum()).to_numpy()
    r = g["lq"].to_numpy()
    mu = float((w * r).sum())
    return sum(w[i] * w[j] * abs(r[i] - r[j]) for i, j in itertools.product(range(len(w)), repeat=2)) / (2 * mu)


def _even_and_concentrated() -> dict:
    """"even" is 10 % of every region; "mine" sits in one of five equal regions."""
    vals = {}
    for i in range(5):
        vals[(f"r{i}", "even")] = 10.0
        vals[(f"r{i}", "mine")] = 45.0 if i == 0 else 0.0
        vals[(f"r{i}", "rest")] = 90.0 - (45.0 if i == 0 else 0.0)
    return vals


def test_gini_zero_when_spread_like_the_economy_and_high_when_concentrated():
    lq = _lq(_even_and_concentrated())
    g = locational_gini(lq, year=2021, indicator="employment", level="section")
    assert g["even"] == pytest.approx(0.0, abs=1e-12)
    # Region 0 holds all of "mine" with 100 / 500 of the total weight: Lorenz area = 0.8 * 0 + 0.2 * 0.5 = 0.1.
    assert g["mine"] == pytest.approx(0.8)


def test_gini_matches_the_pairwise_formula_on_random_data():
    rng = np.random.default_rng(7)
    vals = {(f"r{i}", a): float(rng.integers(1, 100)) for i in range(12) for a in "abcd"}
    lq = _lq(vals)
    g = locational_gini(lq, year=2021, indicator="employment", level="section")
    for act in "abcd":
        assert g[act] == pytest.approx(_gini_pairwise(lq, act), rel=1e-9)


def test_classes_follow_the_cutoff_and_prefer_employment():
    lq = _lq(_even_and_concentrated())
    gva = lq.assign(indicator="gva", value=lq["value"].where(lq["activity_code"] != "even", 0.0))
    t = trade_classes(pd.concat([gva, lq]), year=2021, level="section", fallbacks=("gva",), cutoff=0.3)
    t = t.set_index("activity_code")
    assert t.loc["mine", "trade_class"] == "traded" and t.loc["even", "trade_class"] == "local"
    assert set(t["trade_indicator"]) == {"employment"}
    c, g = with_trade_class(pd.DataFrame({"activity_codes": ["even", "even;mine", "zzz"]}),
                            pd.DataFrame({"activity_code": ["even", "mine"], "group_id": ["G01", "G02"]}),
                            t.reset_index())
    assert c["trade_class"].tolist() == ["local", "traded", ""]
    assert g["trade_class"].tolist() == ["local", "traded"]


def test_default_data_public_services_local_mining_traded():
    tidy = pd.read_csv(ROOT_DATA)
    gva = tidy.loc[(tidy["year"] == 2021) & (tidy["indicator"] == "gva") & (tidy["level"] == "section")]
    lq = location_quotients(gva.assign(flag=gva["flag"].fillna("")))
    t = trade_classes(lq, year=2021, level="section", fallbacks=("gva",)).set_index("activity_code")
    assert set(t["trade_indicator"]) == {"gva"}
    for act in "OPQ":  # public administration, education, health: everywhere, in proportion
        assert t.loc[act, "trade_class"] == "local"
    for act in "ABC":  # agriculture, mining, manufacturing: concentrated
        assert t.loc[act, "trade_class"] == "traded"
    assert t.loc["B", "locational_gini"] == pytest.approx(_gini_pairwise(lq.loc[lq["value"].notna()], "B"), rel=1e-9)
