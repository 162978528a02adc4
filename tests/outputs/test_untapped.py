"""Ranking of untapped specialisations by signal: a within-industry LQ never alone at the top; traded first."""

from __future__ import annotations

import pandas as pd

from mapping.outputs.untapped import rank_untapped, within_industry_indicators


def _lq_rows():
    """Synthetic LQ rows: gva observes 4 activities, shipments only 1 (a within-industry indicator)."""
    rows = []
    for r in ("R1", "R2", "R3"):
        for a in "ABCD":
            rows.append({"year": 2021, "level": "section", "region_code": r, "activity_code": a, "indicator": "gva",
                         "value": 10.0, "unit": "u", "lq": 1.0, "share_of_national": 0.3, "national_value": 30.0,
                         "specialised": False})
        rows.append({"year": 2021, "level": "section", "region_code": r, "activity_code": "D", "indicator": "shipments",
                     "value": 1.0, "unit": "u", "lq": 1.0, "share_of_national": 0.3, "national_value": 3.0,
                     "specialised": False})
    df = pd.DataFrame(rows)

    def set_(r, a, ind, **kw):
        m = (df["region_code"] == r) & (df["activity_code"] == a) & (df["indicator"] == ind)
        for k, v in kw.items():
            df.loc[m, k] = v

    set_("R1", "D", "shipments", lq=13.6, share_of_national=0.001, specialised=True)  # huge, tiny, within-industry
    set_("R2", "A", "gva", lq=3.0, share_of_national=0.05, specialised=True)
    set_("R3", "B", "gva", lq=2.5, share_of_national=0.001, specialised=True)         # small
    set_("R3", "C", "gva", lq=5.0, share_of_national=0.04, specialised=True)          # local activity
    return df


def _pairs():
    return pd.DataFrame({
        "region_code": ["R1", "R2", "R3", "R3"], "activity_code": ["D", "A", "B", "C"],
        "status": "specialised_not_supported", "lq_max": [13.6, 3.0, 2.5, 5.0],
        "lq_indicator": ["shipments", "gva", "gva", "gva"], "trade_class": ["traded", "traded", "traded", "local"],
        "specialisation_call": ["certain", "certain", "certain", "certain"]})


def test_within_industry_indicator_found_from_coverage():
    assert within_industry_indicators(_lq_rows(), year=2021, level="section") == {"shipments"}


def test_shipments_lq_never_alone_at_the_top_and_local_last():
    r = rank_untapped(_pairs(), _lq_rows(), year=2021, level="section", indicators=("gva", "shipments"))
    order = list(zip(r["region_code"], r["activity_code"]))
    # R2 A: traded, economy-wide, sizeable, certain. R3 B: economy-wide but small. R1 D: shipments only, LQ 13.6.
    assert order == [("R2", "A"), ("R3", "B"), ("R1", "D"), ("R3", "C")]
    top = r.iloc[0]
    assert top["economy_wide"] and top["sizeable"] and top["significant"] and top["signal_text"] == "sizeable, significant"
    assert bool(r.set_index(["region_code", "activity_code"]).loc[("R1", "D"), "within_industry_only"])


def test_a_significance_column_overrides_the_bounds_call():
    lq = _lq_rows().assign(significant=lambda x: x["region_code"] != "R2")
    r = rank_untapped(_pairs(), lq, year=2021, level="section", indicators=("gva", "shipments"))
    assert not r.set_index(["region_code", "activity_code"]).loc[("R2", "A"), "significant"]
    # R3 B (economy-wide, significant, small) now ties R2 A on signals and has the lower LQ.
    assert list(zip(r["region_code"], r["activity_code"]))[:2] == [("R2", "A"), ("R3", "B")]
