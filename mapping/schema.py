"""Column contracts: the tidy input schema and the output contract's columns.

Columns are added here, never renamed (``../shared/docs/output-contract.md``).
"""

from __future__ import annotations

import pandera.pandas as pa

__all__ = [
    "TIDY_COLUMNS",
    "TIDY_OPTIONAL_COLUMNS",
    "TIDY_SCHEMA",
    "LQ_COLUMNS",
    "ACTIVITY_GROUP_COLUMNS",
    "CANDIDATE_COLUMNS",
    "SUPPORTED_COLUMNS",
    "DIVERGENCE_COLUMNS",
    "DIVERGENCE_REGION_COLUMNS",
    "CONTRACT_VERSION",
    "STATUSES",
    "FLAGS",
]

#: The tidy long input: one row per year x region x activity x indicator.
TIDY_COLUMNS = ["year", "region_code", "activity_code", "classification", "level", "indicator",
                "value", "unit", "flag", "source"]
#: Optional columns: bounds of the true value where the cell is rounded, suppressed or a range
#: (e.g. a US CBP size-class letter "C" = 100-249 employees). Empty = no bound known.
TIDY_OPTIONAL_COLUMNS = ["value_low", "value_high"]
#: Cell flags: "" plain; suppressed (confidential/not available, value empty); absent ("-", value 0);
#: derived (computed from other published figures); rounded; range (only bounds known: value_low/value_high).
FLAGS = ("", "suppressed", "absent", "derived", "rounded", "range")
LEVELS = ("section", "division", "group", "class", "subclass", "naics2", "naics3", "naics4",
          "naics5", "naics6", "total")

TIDY_SCHEMA = pa.DataFrameSchema(
    {
        "year": pa.Column(int, pa.Check.in_range(1900, 2100)),
        "region_code": pa.Column(str, pa.Check.str_length(min_value=1)),
        "activity_code": pa.Column(str, pa.Check.str_length(min_value=1)),
        "classification": pa.Column(str, pa.Check.str_matches(r"^[A-Z][A-Z0-9]*$")),
        "level": pa.Column(str, pa.Check.isin(LEVELS)),
        "indicator": pa.Column(str, pa.Check.str_matches(r"^[a-z][a-z0-9_]*$")),
        "value": pa.Column(float, pa.Check.ge(0), nullable=True),
        "unit": pa.Column(str, pa.Check.str_length(min_value=1)),
        "flag": pa.Column(str, pa.Check.isin(FLAGS)),
        "source": pa.Column(str),
        "value_low": pa.Column(float, pa.Check.ge(0), nullable=True, required=False),
        "value_high": pa.Column(float, pa.Check.ge(0), nullable=True, required=False),
    },
    strict=False,
    coerce=True,
)

LQ_COLUMNS = ["year", "indicator", "unit", "classification", "level", "region_code", "region_name",
              "region_name_en", "activity_code", "activity_name", "activity_name_en", "value", "flag",
              "region_total", "national_value", "national_total", "share_of_national", "lq", "lq_reason",
              "specialised"]

ACTIVITY_GROUP_COLUMNS = ["classification", "level", "activity_code", "activity_name", "activity_name_en",
                          "group_id", "group_label", "measure", "method", "indicator", "n_regions",
                          "relatedness_own_group", "relatedness_best_other_group", "best_other_group",
                          "validation_margin", "silhouette", "top_related"]

CANDIDATE_COLUMNS = ["candidate_id", "group_id", "group_label", "region_codes", "region_names",
                     "region_names_en", "n_regions", "cross_regional", "federal_districts",
                     "activity_codes", "activity_names", "activity_names_en", "indicators", "max_lq",
                     "year", "classification", "level", "supported_cluster_ids", "has_geometry"]

SUPPORTED_COLUMNS = ["cluster_id", "name_ru", "name_en", "programme", "support_group", "selected_year",
                     "region_codes", "region_names", "activity_codes", "cluster_activity_codes",
                     "granularity_note", "status", "specialised_pairs", "n_pairs", "best_lq",
                     "best_lq_indicator", "year", "has_geometry"]

DIVERGENCE_COLUMNS = ["divergence_id", "region_code", "region_name", "region_name_en", "federal_district",
                      "activity_code", "activity_name", "activity_name_en", "classification", "level",
                      "year", "status", "specialised", "supported_cluster_ids", "supported_cluster_names",
                      "group_id", "lq_max", "lq_indicator", "lq_by_indicator", "has_geometry"]

STATUSES = ("aligned", "supported_not_specialised", "specialised_not_supported", "not_testable", "no_data")

#: Version of ../shared/docs/output-contract.md the run folder follows (``manifest.json``'s ``contract_version``).
CONTRACT_VERSION = 2
#: The ``divergence`` layer of contract version 2: one feature per region (``id`` = ``<region_code>:<year>``);
#: ``n_<status>`` counts its pairs of each status, ``activities_<status>`` names them, ``status_mix`` is the
#: statuses present, sorted, joined with ``+`` (mapping/outputs/statusmix.py). The pairs themselves are
#: ``DIVERGENCE_COLUMNS`` (``divergence_pairs.csv``, the GeoPackage's ``divergence_pairs`` table).
DIVERGENCE_REGION_COLUMNS = (
    ["id", "region_code", "region_name", "region_name_en", "federal_district", "year", "classification", "level",
     "status_mix", "n_pairs"]
    + [f"n_{s}" for s in ("aligned", "supported_not_specialised", "specialised_not_supported", "not_testable",
                          "no_data")]
    + [f"activities_{s}" for s in ("aligned", "supported_not_specialised", "specialised_not_supported",
                                   "not_testable", "no_data")]
    + ["supported_cluster_ids", "lq_max"])

# Robustness evidence, added (never renamed): bounds, calls and intervals (mapping/analysis/uncertainty.py,
# mapping/analysis/rules.py), years (mapping/analysis/timeseries.py), hot spots (mapping/analysis/spatial.py), grouping
# stability and fixed categories (mapping/analysis/relatedness.py). See README "Robust specialisation".
LQ_COLUMNS += ["value_low", "value_high", "lq_low", "lq_high", "lq_ci_low", "lq_ci_high", "specialisation_call",
               "rule", "lq_cutoff", "eco_stars", "years_specialised", "n_years", "lq_change",
               "local_moran_i", "local_moran_p", "hotspot"]
ACTIVITY_GROUP_COLUMNS += ["stability", "data_group_id", "category"]
CANDIDATE_COLUMNS += ["group_name", "specialisation_call", "n_pairs", "n_certain_pairs", "years_specialised", "single_year",
                      "hotspot_pairs"]
DIVERGENCE_COLUMNS += ["specialisation_call", "call_indicator", "lq_low", "lq_high", "lq_ci_low", "lq_ci_high",
                       "years_specialised", "n_years", "lq_change", "single_year", "hotspot", "local_moran_p"]
# Statistics a ministry can act on (mapping/analysis/significance.py, location_quotient.py): where each region
# total comes from, cells the size floors remove, the test behind each LQ >= threshold, the LQ's scope
# (economy or within one industry), false-discovery-adjusted hot spots.
LQ_COLUMNS += ["region_total_source", "below_size_floor", "lq_test", "lq_test_p", "lq_test_passed", "lq_scope",
               "local_moran_q"]
DIVERGENCE_COLUMNS += ["persistent", "lq_scope", "within_industry_only", "local_moran_q"]
CALLS = ("certain", "possible", "no")

# Verdicts a reader can act on (mapping/analysis/verdicts.py): what the data could test, at which level, the highest
# LQ attainable, and the verdict under every specialisation rule.
SUPPORTED_COLUMNS += ["tested_level", "tested_activities", "attainable_lq_max", "verdicts_by_rule", "robust",
                      "rule_dependence"]
DIVERGENCE_COLUMNS += ["attainable_lq_max", "specialised_by_rule", "robust"]
# Traded vs local activities by their locational Gini (mapping/analysis/traded.py).
ACTIVITY_GROUP_COLUMNS += ["locational_gini", "trade_class"]
CANDIDATE_COLUMNS += ["trade_class"]
DIVERGENCE_COLUMNS += ["trade_class"]
