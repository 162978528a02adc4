"""Candidate clusters (merging across neighbours) and divergence statuses on known cases."""

import pandas as pd

from mapping.analysis.candidates import candidate_clusters
from mapping.analysis.divergence import divergence, supported_pairs


def _spec(rows):
    return pd.DataFrame([{"region_code": r, "activity_code": a, "specialised": s, "lq_max": lq,
                          "lq_indicator": "gva", "lq_by_indicator": f"gva={lq}",
                          "indicators_specialised": "gva" if s else ""} for r, a, s, lq in rows])


GROUPS = pd.DataFrame({"activity_code": ["C", "J", "M", "B"], "group_id": ["G01", "G01", "G02", "G03"]})
NEIGH = pd.DataFrame({"region_code": ["RU-SPE", "RU-LEN"], "neighbour_code": ["RU-LEN", "RU-SPE"]})


def test_neighbours_sharing_a_specialised_activity_merge():
    spec = _spec([("RU-SPE", "J", True, 2.5), ("RU-SPE", "C", True, 1.9), ("RU-LEN", "C", True, 2.1),
                  ("RU-KGD", "C", True, 3.0), ("RU-SPE", "M", False, 1.0)])
    c = candidate_clusters(spec, GROUPS, NEIGH).set_index("candidate_id")
    assert set(c.index) == {"G01:RU-KGD", "G01:RU-LEN"}
    merged = c.loc["G01:RU-LEN"]
    assert merged["region_codes"] == "RU-LEN;RU-SPE" and merged["cross_regional"]
    assert merged["activity_codes"] == "C;J" and merged["max_lq"] == 2.5
    assert not c.loc["G01:RU-KGD", "cross_regional"]  # Kaliningrad has no land neighbour here


def test_neighbours_in_one_group_without_a_shared_activity_stay_apart():
    # Same group, neighbours, but Saint Petersburg is specialised in J and Leningrad Oblast in C only.
    spec = _spec([("RU-SPE", "J", True, 2.5), ("RU-LEN", "C", True, 2.1)])
    c = candidate_clusters(spec, GROUPS, NEIGH)
    assert sorted(c["candidate_id"]) == ["G01:RU-LEN", "G01:RU-SPE"] and not c["cross_regional"].any()


def test_activities_below_random_pairs_are_not_joined():
    spec = _spec([("RU-SPE", "J", True, 2.5), ("RU-SPE", "C", True, 2.1)])
    unlinked = GROUPS.assign(linked=[[] for _ in range(len(GROUPS))])
    c = candidate_clusters(spec, unlinked, NEIGH)
    assert sorted(c["activity_codes"]) == ["C", "J"] and len(set(c["candidate_id"])) == 2
    linked = GROUPS.assign(linked=[["J"] if a == "C" else (["C"] if a == "J" else []) for a in GROUPS["activity_code"]])
    assert candidate_clusters(spec, linked, NEIGH)["activity_codes"].tolist() == ["C;J"]


def test_every_multi_region_candidate_is_contiguous_and_shares_an_activity():
    # SYNTHETIC chain of regions R0-R1-R2-R3; R1 and R2 specialised in different activities of one group.
    neigh = pd.DataFrame({"region_code": ["R0", "R1", "R1", "R2", "R2", "R3"],
                          "neighbour_code": ["R1", "R0", "R2", "R1", "R3", "R2"]})
    spec = _spec([("R0", "C", True, 2.0), ("R1", "C", True, 2.2), ("R2", "J", True, 2.4), ("R3", "J", True, 2.6)])
    c = candidate_clusters(spec, GROUPS, neigh)
    assert sorted(c["region_codes"]) == ["R0;R1", "R2;R3"]
    for r in c.itertuples():
        regs = r.region_codes.split(";")
        acts = {m["region_code"]: m["activity_code"] for m in r.members}
        for a in regs:  # each region has a neighbour in the candidate specialised in the same activity
            assert len(regs) == 1 or any(b in regs and acts[b] == acts[a]
                                         for b in neigh.loc[neigh["region_code"] == a, "neighbour_code"])


def test_neighbours_in_different_groups_do_not_merge():
    spec = _spec([("RU-SPE", "J", True, 2.5), ("RU-LEN", "B", True, 2.1)])
    c = candidate_clusters(spec, GROUPS, NEIGH)
    assert sorted(c["candidate_id"]) == ["G01:RU-SPE", "G03:RU-LEN"]
    assert not c["cross_regional"].any()


def test_activity_without_group_is_a_singleton_group():
    c = candidate_clusters(_spec([("RU-SPE", "Q", True, 4.0)]), GROUPS, NEIGH)
    assert c["candidate_id"].tolist() == ["S-Q:RU-SPE"]


def _supported():
    return pd.DataFrame({"cluster_id": ["K1", "K2", "K3"], "region_codes": [["RU-SPE"], ["RU-ARK"], ["RU-TA"]],
                         "activity_codes": [["26", "62"], ["30"], ["20"]]})


def test_divergence_statuses_known_cases():
    to_level = {"26": ["C"], "62": ["J"], "30": ["C"], "20": ["C"]}
    units_of = {"RU-ARK": ["RU-ARK-X", "RU-NEN"]}
    pairs = supported_pairs(_supported(), units_of=units_of, to_level=to_level)
    assert set(zip(pairs["cluster_id"], pairs["region_code"], pairs["activity_code"])) == {
        ("K1", "RU-SPE", "C"), ("K1", "RU-SPE", "J"), ("K2", "RU-ARK-X", "C"), ("K2", "RU-NEN", "C"),
        ("K3", "RU-TA", "C")}
    spec = _spec([("RU-SPE", "J", True, 2.2), ("RU-SPE", "C", False, 1.1), ("RU-ARK-X", "C", False, 1.3),
                  ("RU-NEN", "C", False, 0.1), ("RU-TA", "C", False, 1.9), ("RU-TA", "B", True, 5.0)])
    pairs_status, clusters = divergence(spec, pairs, _supported())
    st = pairs_status.set_index(["region_code", "activity_code"])["status"]
    assert st[("RU-SPE", "J")] == "aligned"
    assert st[("RU-SPE", "C")] == "supported_not_specialised"
    assert st[("RU-TA", "B")] == "specialised_not_supported"
    assert st[("RU-TA", "C")] == "supported_not_specialised"
    assert len(st) == 6 and st.index.is_unique  # exactly one status per pair
    cs = clusters.set_index("cluster_id")
    assert cs.loc["K1", "status"] == "aligned" and cs.loc["K1", "specialised_pairs"] == "RU-SPE:J"
    assert cs.loc["K2", "status"] == "supported_not_specialised" and cs.loc["K2", "n_pairs"] == 2
    assert cs.loc["K3", "best_lq"] == 1.9


def test_candidate_columns_agree_with_their_member_rows():
    """Each candidate's aggregates (computed on runs of rows sorted by candidate) recomputed row by row
    from its members and the specialisation table (SYNTHETIC random data, several indicators and calls)."""
    import numpy as np

    rng = np.random.default_rng(11)
    regions = [f"R{i:02d}" for i in range(30)]
    acts = [f"A{j}" for j in range(12)]
    spec = pd.DataFrame([(r, a) for r in regions for a in acts], columns=["region_code", "activity_code"])
    n = len(spec)
    spec["specialised"] = rng.random(n) < 0.4
    spec["lq_max"] = np.where(rng.random(n) < 0.1, np.nan, rng.uniform(1, 6, n))
    spec["indicators_specialised"] = rng.choice(["employment", "gva;employment", "", "wages"], n)
    spec["specialisation_call"] = rng.choice(["certain", "possible"], n, p=[0.8, 0.2])
    spec["years_specialised"] = rng.integers(1, 5, n)
    spec["single_year"] = rng.random(n) < 0.3
    groups = pd.DataFrame({"activity_code": acts, "group_id": [f"G{j % 3 + 1:02d}" for j in range(12)]})
    nb = [(regions[i], regions[i + 1]) for i in range(29) if i % 7 != 6]
    neighbours = pd.DataFrame(nb + [(b, a) for a, b in nb], columns=["region_code", "neighbour_code"])
    out = candidate_clusters(spec, groups, neighbours)
    assert out["n_regions"].gt(1).any() and out["n_pairs"].gt(1).any()
    by_key = spec.set_index(["region_code", "activity_code"])
    for row in out.itertuples():
        m = pd.DataFrame(row.members)
        rows = by_key.loc[list(zip(m["region_code"], m["activity_code"]))]
        assert row.region_codes == ";".join(sorted(set(m["region_code"])))
        assert row.n_regions == len(set(m["region_code"])) and row.cross_regional == (row.n_regions > 1)
        assert row.activity_codes == ";".join(sorted(set(m["activity_code"])))
        assert row.indicators == ";".join(sorted({i for v in rows["indicators_specialised"] for i in v.split(";") if i}))
        lq = rows["lq_max"].to_numpy()
        assert (np.isnan(row.max_lq) and np.isnan(lq).all()) or row.max_lq == np.nanmax(lq)
        assert row.n_pairs == len(m) and row.n_certain_pairs == int((rows["specialisation_call"] == "certain").sum())
        assert row.specialisation_call == ("certain" if row.n_certain_pairs == row.n_pairs else "possible")
        assert row.years_specialised == rows["years_specialised"].max()
        assert row.single_year == bool(rows["single_year"].all())
        assert row.group_id == groups.set_index("activity_code").loc[m["activity_code"].iloc[0], "group_id"]
    assert out["members"].map(len).sum() == spec["specialised"].sum()
