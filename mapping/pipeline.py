"""The refresh pipeline's stages, each one call for a Prefect task (see ``flows/refresh.py``).

Every stage takes plain data (the validated config and the previous stages' frames) and
returns plain data; nothing here knows about the workflow engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from mapping.analysis.candidates import candidate_clusters
from mapping.analysis.divergence import divergence, supported_pairs
from mapping.analysis.evidence import (
    pair_evidence,
    robustness_section,
    robustness_summary,
    spatial_evidence,
)
from mapping.analysis.frames import rows
from mapping.analysis.grouping import build_groups
from mapping.analysis.reference import lq_by_reference
from mapping.analysis.relatedness import development_level
from mapping.analysis.specialisation import specialisation
from mapping.analysis.statsummary import statistics_summary
from mapping.analysis.timeseries import analysis_year, with_persistence
from mapping.analysis.validation_report import relatedness_methods_section
from mapping.analysis.verdicts import verdict_summary
from mapping.config import RunConfig
from mapping.errors import MappingError
from mapping.geo import boundaries as bnd
from mapping.ingest import registry as reg
from mapping.ingest import tables
from mapping.ingest.read import harmonise_units, read_input
from mapping.ingest.tidy import select_units
from mapping.ingest.totals import check_classifications, check_totals
from mapping.ledger import FileLedger
from mapping.outputs.deliverables import write_deliverables
from mapping.outputs.gpkg import choose_layer_crs, write_clusters_gpkg
from mapping.outputs.publish import (
    link_or_copy,
    publish_latest,
    software_versions,
    write_csv,
    write_geojson,
    write_manifest,
)
from mapping.outputs.report import render_report
from mapping.outputs.reporthtml import write_report_html
from mapping.outputs.statsreport import statistics_section
from mapping.schema import (
    ACTIVITY_GROUP_COLUMNS,
    CANDIDATE_COLUMNS,
    CONTRACT_VERSION,
    DIVERGENCE_COLUMNS,
    LQ_COLUMNS,
    SUPPORTED_COLUMNS,
)

__all__ = ["Inputs", "Analysis", "load_inputs", "compute_location_quotients", "compute_activity_groups",
           "load_geography", "detect_candidates", "compare_supported", "write_run", "publish_run"]


@dataclass
class Inputs:
    """Validated input rows of the analysis units, with the registries and the row ledger."""

    tidy: pd.DataFrame
    ledgers: list[FileLedger]
    regions: pd.DataFrame
    activities: pd.DataFrame
    content_key: str
    started: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def load_inputs(config: RunConfig, pre_read: dict | None = None) -> Inputs:
    """Read every configured input, validate it and keep one non-overlapping set of units.

    Parameters
    ----------
    config : RunConfig
    pre_read : dict, optional
        ``InputFile.model_dump_json()`` -> :class:`mapping.ingest.read.InputRead` of inputs already read
        in this process (the command line reads them before Prefect starts, to fail fast); they are
        used instead of reading the files again.

    Returns
    -------
    Inputs
        ``tidy`` holds the rows used (activity rows and ``level == "total"`` context rows) with a
        ``file`` column; every row read is in a ledger as used or dropped with a reason.

    Raises
    ------
    MappingError
        Any problem with the files (named with row, column and value), with region codes, or
        when one run mixes classifications of the same level (e.g. OKVED2007 and OKVED2 sections).
    """
    if any(i.url and not Path(i.path).is_file() for i in config.inputs):  # URL inputs not downloaded yet
        from mapping.ingest.fetch import resolve_inputs

        config = resolve_inputs(config)
    regions = reg.load_region_registry(config.geodata.regions)
    activities = reg.load_activity_registry(config.geodata.activities)
    frames, ledgers = [], {}
    for inp in config.inputs:
        if inp.format == "firms":  # establishment records, streamed and aggregated (mapping/ingest/firms.py)
            from mapping.ingest.firms import read_firms

            got = read_firms(inp, config.geodata)
        else:
            got = (pre_read or {}).pop(inp.model_dump_json(), None) or read_input(inp, config.geodata)
            # read_input: any published layout -> tidy rows + ledger (mapping/ingest/read.py)
        label = str(inp.path) + (f" [sheet {inp.sheet}]" if inp.sheet else "")
        if label in ledgers and inp.indicator:  # one folder read for several indicators (e.g. CBP)
            label += f" [{inp.indicator}]"
        got.ledger.file = label
        got.tidy["file"] = label
        frames.append(got.tidy)
        ledgers[label] = got.ledger
    for note in harmonise_units(frames):
        ledgers[note.split(": indicator")[0]].notes.append(note)
    tidy = pd.concat(frames, ignore_index=True)
    activities = _with_finer_okved2(activities, tidy)
    _check_activities(tidy, activities)
    check_classifications(tidy, activities, dict(config.geodata.open_classifications))
    check_totals(tidy, exact=tuple(config.specialisation.exact_totals), ledgers=ledgers)  # parts vs totals
    dup = tidy.duplicated(["year", "region_code", "activity_code", "classification", "level", "indicator"], keep=False)
    if dup.any():
        d = tidy.loc[dup].iloc[0]
        raise MappingError(f"the same year x region x activity x indicator appears in more than one input: "
                           f"{d['year']} {d['region_code']} {d['activity_code']} {d['indicator']} "
                           f"({', '.join(sorted(set(tidy.loc[dup, 'file'])))})")
    kept = select_units(tidy, regions, ledgers, nested=config.geodata.nested_units)
    for ledger in ledgers.values():
        ledger.check()
    key = json.dumps({"inputs": [l.sha256 for l in ledgers.values()], "config": config.resolved_dict()},
                     sort_keys=True, default=str)
    return Inputs(tidy=kept, ledgers=list(ledgers.values()), regions=regions, activities=activities,
                  content_key=hashlib.sha256(key.encode()).hexdigest())


_FINER_OKVED2 = {"group": 4, "class": 5, "subclass": 8}  # length of "10.1", "10.11", "10.11.1"


def _with_finer_okved2(activities: pd.DataFrame, tidy: pd.DataFrame) -> pd.DataFrame:
    """Add OKVED2 groups, classes and subclasses met in the data whose division is in the registry.

    The bundled registry names sections and divisions only; finer codes (e.g. from firm records
    aggregated by class) are hierarchical, so each gets its parent by truncation (``10.11`` ->
    ``10.1`` when present, else the division ``10``) and no name. Codes whose division is unknown
    stay unknown and are refused by the activity check.
    """
    rows = tidy.loc[(tidy["classification"] == "OKVED2") & tidy["level"].isin(list(_FINER_OKVED2))]
    if rows.empty:
        return activities
    known = set(activities.loc[activities["classification"] == "OKVED2", "code"])
    new = []
    for code, level in sorted(set(zip(rows["activity_code"], rows["level"]))):
        if code in known or code[:2] not in known or len(code) != _FINER_OKVED2[level]:
            continue
        parent = next((p for p in (code[:-1].rstrip("."), code[:2]) if p in known or p in {n["code"] for n in new}),
                      code[:2])
        new.append({"classification": "OKVED2", "code": code, "level": level, "parent_code": parent,
                    "name_ru": "", "name_en": ""})
    if not new:
        return activities
    return pd.concat([activities, pd.DataFrame(new)], ignore_index=True)


def _check_activities(tidy: pd.DataFrame, activities: pd.DataFrame) -> None:
    from mapping.errors import format_items

    rows = tidy.loc[tidy["level"] != "total"]
    by_class = rows.groupby("level")["classification"].unique()
    mixed = by_class[by_class.map(len) > 1]
    if not mixed.empty:
        raise MappingError("one run mixes classifications at the same level: " + format_items(
            f"level {lvl}: {sorted(c)}" for lvl, c in mixed.items()) + "; OKVED2007 and OKVED2 letters mean "
            "different activities, so run them separately")
    from mapping.analysis.frames import lookup

    regclasses = set(activities["classification"])
    probe = rows.loc[rows["classification"].isin(regclasses)]
    # Registry membership of each (classification, code), on integer codes (a loop over rows is slow).
    bad = probe.loc[lookup(probe, activities, ["classification", "code"],
                           left_on=["classification", "activity_code"]) < 0]
    if not bad.empty:
        raise MappingError("unknown activity code(s): " + format_items(
            f"{r.file} row {r.source_row}: {r.classification} {r.activity_code!r}"
            for r in bad.drop_duplicates(["classification", "activity_code"]).itertuples()))


@dataclass
class Analysis:
    """Results of the analytic stages for one year, classification and level."""

    lq: pd.DataFrame
    spec: pd.DataFrame
    year: int
    classification: str
    level: str
    #: What the uncertainty step did (mapping.analysis.location_quotient.location_quotient_table).
    uncertainty: dict = field(default_factory=dict)
    #: Regional totals (``level == "total"`` rows of the inputs), e.g. for development level.
    totals: pd.DataFrame | None = None


def compute_location_quotients(inputs: Inputs, config: RunConfig) -> Analysis:
    """Location quotients for every indicator x year, and the combined specialisation of the latest year."""
    s = config.specialisation
    known = tables.read_known_totals(s.known_totals) if s.known_totals else None
    # Against the whole run, or each region's own country ([specialisation] reference; mapping/analysis/reference.py).
    lq, info = lq_by_reference(inputs.tidy, s, country_of=dict(zip(inputs.regions["region_code"],
                                                                   inputs.regions["country"])),
                               activities=inputs.activities, known_totals=known)
    lq = _with_names(lq, inputs)
    sub = rows(lq, (lq["level"] == s.level) & lq["indicator"].isin(s.indicators),
               ["year", "indicator", "classification", "level", "lq"])
    if sub.empty:
        raise MappingError(f"no data for the specialisation indicators {list(s.indicators)} at level "
                           f"{s.level!r}; the inputs have {sorted(set(lq['indicator']))} at "
                           f"{sorted(set(lq['level']))}")
    year = analysis_year(sub, tuple(s.indicators), s.analysis_year)  # every year is read; the map shows one
    classification = str(sub["classification"].iloc[0])
    spec = specialisation(rows(lq, lq["year"] == year, [c for c in _SPECIALISATION_READS if c in lq.columns]),
                          indicators=s.indicators, rule=s.combine, level=s.level)
    spec = with_persistence(spec, lq, indicators=s.indicators, rule=s.combine, level=s.level,
                            persistent_share=s.persistent_share)
    return Analysis(lq=lq, spec=spec, year=year, classification=classification, level=s.level, uncertainty=info,
                    totals=inputs.tidy.loc[inputs.tidy["level"] == "total"].reset_index(drop=True))

#: The LQ columns the combined specialisation reads.
_SPECIALISATION_READS = ["year", "classification", "level", "region_code", "activity_code", "indicator", "specialised",
                         "lq", "specialisation_call", "lq_low", "lq_high", "lq_ci_low", "lq_ci_high", "lq_scope"]


def _with_names(df: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    from mapping.analysis.frames import lookup

    r = inputs.regions.set_index("region_code")
    # The last registry row of a (classification, code) names it, as a dict built from the rows would.
    a = inputs.activities.drop_duplicates(["classification", "code"], keep="last")
    out = df.copy(deep=False)
    # Names of the distinct regions, spread to the rows (mapping millions of rows one by one is slow).
    row_region, regions = pd.factorize(out["region_code"])
    for col, name in (("region_name", "name_ru"), ("region_name_en", "name_en")):
        named = pd.Series(regions).map(r[name])
        out[col] = named.take(row_region).set_axis(out.index).fillna("") if (row_region >= 0).all() \
            else out["region_code"].map(r[name]).fillna("")
    pos = lookup(out, a, ["classification", "code"], left_on=["classification", "activity_code"])
    for col, name in (("activity_name", "name_ru"), ("activity_name_en", "name_en")):
        names = a[name]
        if isinstance(names.dtype, pd.StringDtype) and (pos >= 0).all():
            out[col] = names.take(pos).set_axis(out.index)
        else:
            values = names.to_numpy(dtype=object)
            out[col] = np.where(pos >= 0, values[np.maximum(pos, 0)] if len(values) else "", "").tolist()
    return out[LQ_COLUMNS]


def compute_activity_groups(analysis: Analysis, config: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Relatedness matrix and co-location groups (with their validation evidence)."""
    # Co-location (development level partialled out), input-output links, hierarchy; weights and k
    # chosen on held-out evidence when configured; nulls; fixed categories (mapping/analysis/grouping.py).
    rc = config.relatedness
    control = None
    if rc.development_numerator and rc.development_denominator and analysis.totals is not None:
        control = development_level(analysis.totals, rc.development_numerator, rc.development_denominator,
                                    year=analysis.year)
        control = control if len(control) else None
    use_io = rc.io_table is not None and (rc.io_weight > 0 or rc.weights == "auto")
    return build_groups(analysis.lq, rc, year=analysis.year, level=analysis.level,
                        classification=analysis.classification,
                        activities=(reg.load_activity_registry(config.geodata.activities)
                                    if rc.hierarchy_weight > 0 or use_io or rc.weights == "auto" else None),
                        io_table=tables.read_io_table(rc.io_table) if use_io else None,
                        io_concordance=(tables.read_io_concordance(rc.io_concordance)
                                        if use_io and rc.io_concordance else None),
                        control=control, categories=tables.read_categories(rc.categories, rc.fixed_categories),
                        seed=config.run.seed)


@dataclass
class Geography:
    """Unsplit unit geometries (EPSG:4326) and their land neighbours."""

    units: gpd.GeoDataFrame
    neighbours: pd.DataFrame
    without_geometry: list[str]


def load_geography(inputs: Inputs, config: RunConfig) -> Geography:
    """Build each analysis unit's geometry from the bundled boundaries and find neighbours.

    A unit's geometry is the union of its ``boundary_codes`` (e.g. Tyumen Oblast as a whole is
    Tyumen + Khanty-Mansi + Yamalo-Nenets). Units with no boundary (Crimea, Sevastopol) are listed
    in ``without_geometry`` and keep their rows in every table.
    """
    g = config.geodata
    boundaries = bnd.load_boundaries(g.boundaries, layer=g.boundary_layer, id_column=g.boundary_id_column)
    codes = sorted(set(inputs.tidy["region_code"].unique()))
    r = inputs.regions.set_index("region_code")
    bgeom = boundaries.set_index("region_code").geometry
    rows, missing = [], []
    for code in codes:
        parts = [p for p in str(r.at[code, "boundary_codes"] or "").split(";") if p and p != "nan"]
        parts = [p for p in parts if p in bgeom.index]
        if not parts:
            missing.append(code)
            continue
        geom = bgeom.loc[parts].union_all() if len(parts) > 1 else bgeom.loc[parts[0]]
        rows.append({"region_code": code, "geometry": geom})
    units = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    neighbours = bnd.find_neighbours(units, tolerance_deg=config.geodata.neighbour_tolerance_deg)
    return Geography(units=units, neighbours=neighbours, without_geometry=missing)


def detect_candidates(analysis: Analysis, groups: pd.DataFrame, geography: Geography) -> pd.DataFrame:
    """Candidate clusters of the analysis year (see :func:`mapping.analysis.candidates.candidate_clusters`)."""
    return candidate_clusters(analysis.spec, groups, geography.neighbours)


def compare_supported(analysis: Analysis, inputs: Inputs, config: RunConfig
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Statuses of region x activity pairs and of supported clusters at the data's granularity.

    Returns
    -------
    pairs_status, clusters_status, supported : DataFrame
    """
    acts = inputs.activities
    known = {c: set(g["code"]) for c, g in acts.groupby("classification")}
    supported = tables.load_supported_clusters(config.geodata.supported_clusters,
                                        region_codes=set(inputs.regions["region_code"]), activity_codes=known)
    units = set(analysis.spec["region_code"].unique())
    units_of = {code: reg.expand_to_units(code, inputs.regions, nested=config.geodata.nested_units)
                for code in {c for cs in supported["region_codes"] for c in cs}}
    units_of = {k: [u for u in v if u in units] or v for k, v in units_of.items()}
    to_level = _level_map(acts, analysis.classification, analysis.level)
    pairs = supported_pairs(supported, units_of=units_of, to_level=to_level)
    pairs_status, clusters_status = divergence(analysis.spec, pairs, supported)
    pairs_status = pair_evidence(pairs_status, analysis.spec)  # call, bounds, years of each pair
    if clusters_status.empty:  # a registry with no clusters (e.g. none bundled for the country)
        clusters_status = pd.DataFrame(columns=["cluster_id", "status", "specialised_pairs", "n_pairs", "best_lq",
                                                "best_lq_indicator", "activity_codes"])
    # What the data could test, at which level, and the verdict under every rule (mapping/analysis/verdicts.py).
    pairs_status, clusters_status = _with_verdicts(analysis, acts, supported, units_of, pairs_status,
                                                   clusters_status, config)
    return pairs_status, clusters_status, supported


#: The LQ columns the verdicts read (a row filter of the whole LQ table would copy every column).
_VERDICT_READS = ["year", "indicator", "classification", "level", "region_code", "activity_code", "value", "value_low",
                  "value_high", "flag", "region_total", "national_value", "national_total", "share_of_national",
                  "share_of_national_low", "share_of_national_high", "region_share_low", "region_share_high", "lq",
                  "lq_low", "lq_high", "specialised"]


def _with_verdicts(analysis: Analysis, acts: pd.DataFrame, supported: pd.DataFrame, units_of: dict,
                   pairs_status: pd.DataFrame, clusters_status: pd.DataFrame, config: RunConfig
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    from mapping.analysis.verdicts import cluster_verdicts, pair_verdicts

    s = config.specialisation
    lq = rows(analysis.lq, analysis.lq["classification"] == analysis.classification,
              [c for c in _VERDICT_READS if c in analysis.lq.columns])
    levels = sorted(set(lq["level"].unique()) - {"total"})
    level_maps = {lv: _level_map(acts, analysis.classification, lv) for lv in levels}
    a = acts.loc[acts["classification"] == analysis.classification]
    shared: dict = {}  # the decisions under every rule variant, computed once for both
    verdicts = cluster_verdicts(supported, lq, s, year=analysis.year, analysis_level=analysis.level,
                                units_of=units_of, level_maps=level_maps,
                                activity_levels=dict(zip(a["code"], a["level"])), variants_cache=shared)
    cs = clusters_status.drop(columns=["status"]).merge(verdicts, on="cluster_id", how="left")
    ps = pair_verdicts(pairs_status, lq, s, year=analysis.year, analysis_level=analysis.level, variants_cache=shared)
    trade = _trade_table(analysis, config).set_index("activity_code")["trade_class"]
    ps["trade_class"] = ps["activity_code"].map(trade).fillna("")
    return ps, cs


def _trade_table(analysis: Analysis, config: RunConfig) -> pd.DataFrame:
    """Traded or local, per activity of the analysis level (mapping/analysis/traded.py)."""
    from mapping.analysis.traded import trade_classes

    t = config.traded
    return trade_classes(analysis.lq, year=analysis.year, level=analysis.level, indicator=t.indicator,
                         fallbacks=(config.relatedness.indicator, *config.specialisation.indicators),
                         cutoff=t.gini_cutoff)


def _level_map(acts: pd.DataFrame, classification: str, level: str) -> dict[str, list[str]]:
    """Map every code of ``classification`` to the codes at ``level`` (up via parents, down via children)."""
    a = acts.loc[acts["classification"] == classification].set_index("code")
    parent = a["parent_code"].fillna("").to_dict()
    lvl = a["level"].to_dict()
    out: dict[str, list[str]] = {}
    for code in a.index:
        c = code
        while c and lvl.get(c) != level:
            c = parent.get(c, "")
        if c:
            out[code] = [c]
        else:  # coarser than the data: all descendants at the level
            kids = [k for k in a.index if lvl[k] == level and _ancestor(k, code, parent)]
            out[code] = kids or [code]
    return out


def _ancestor(code: str, anc: str, parent: dict[str, str]) -> bool:
    while code:
        code = parent.get(code, "")
        if code == anc:
            return True
    return False


def write_run(config: RunConfig, inputs: Inputs, analysis: Analysis, matrix: pd.DataFrame, groups: pd.DataFrame,
              geography: Geography, candidates: pd.DataFrame,
              divergence_result: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
              timings: dict[str, float] | None = None, reuse=None) -> Path:
    """Write every output of the contract into a new run folder (not yet published).

    Files are written into ``runs/.<run_id>.partial`` and the folder is renamed to ``runs/<run_id>``
    only when complete, so no reader ever sees a half-written run. The folder is reserved
    exclusively (:func:`mapping.outputs.runlock.reserve_run_dir`), so concurrent runs never share one.
    ``reuse`` (a :class:`mapping.cache.OutputReuse`) links the data files of an identical earlier
    run instead of writing them; only the report and the manifest are then written.

    Returns
    -------
    Path
        The finished run folder.
    """
    from mapping.outputs.runlock import discard_run_dir, release_run_dir, reserve_run_dir

    root = Path(config.run.output_root)
    run_id, tmp, final = reserve_run_dir(root, inputs.content_key)
    try:
        _write_run_folder(config, inputs, analysis, matrix, groups, geography, candidates, divergence_result,
                          timings, reuse, run_id, tmp)
        tmp.rename(final)
    except BaseException:  # failed, refused or interrupted (Ctrl-C): leave no partial folder behind
        discard_run_dir(tmp)
        raise
    release_run_dir(tmp)
    return final


def _write_run_folder(config, inputs, analysis, matrix, groups, geography, candidates, divergence_result,
                      timings, reuse, run_id: str, tmp: Path) -> None:
    """Write every file of the run into the reserved partial folder ``tmp``."""
    restored = reuse.restore(tmp) if reuse is not None else None
    if restored is not None:
        built, counts = restored
    else:
        built, counts = _write_tables(tmp, inputs, analysis, matrix, groups, geography, candidates,
                                      divergence_result, config=config)
        # QGIS styles (.qml + GeoPackage layer_styles), map.html and the static PNG maps.
        counts.update(write_deliverables(tmp, built, geography, analysis, config))
        if reuse is not None:
            reuse.store(tmp, built, counts)
    from mapping.outputs.progress import Laps

    laps = Laps()
    manifest = _manifest(config, inputs, analysis, matrix, groups, geography, timings, built, run_id)
    if reuse is not None:
        manifest["stage_cache"] = reuse.manifest_entry()
    report = render_report(manifest, built, inputs, analysis, config, sections={"methods": [
        robustness_section(manifest, built, analysis, config),  # certain vs possible, stability, hot spots
        relatedness_methods_section(groups.attrs, matrix.attrs),  # weights, k, nulls, development level
        statistics_section(manifest),  # size floors, within-industry LQs, tests, FDR, exact bounds, years
    ]})
    if reuse is not None:
        report += reuse.report_section()
    (tmp / "report.md").write_text(report, encoding="utf-8")
    counts["report.md"] = None
    counts[write_report_html(tmp / "report.md").name] = None
    write_manifest(tmp, manifest, counts)
    laps("report and manifest")


def _write_tables(tmp: Path, inputs: Inputs, analysis: Analysis, matrix: pd.DataFrame, groups: pd.DataFrame,
                  geography: Geography, candidates: pd.DataFrame, divergence_result, config: RunConfig | None = None
                  ) -> tuple[object, dict]:
    """Assemble the layers and write the data files (CSV, GeoJSON, GeoPackage) into ``tmp``."""
    from mapping.outputs import layers
    from mapping.outputs.progress import Laps

    laps = Laps()  # one progress line per step (mapping/outputs/progress.py)
    pairs_status, clusters_status, supported = divergence_result
    lq_out, spatial = analysis.lq, None
    if config is not None:  # Local Moran hot spots onto the LQs, pairs and candidates (mapping/analysis/evidence.py)
        ev = spatial_evidence(analysis, geography, config, pairs_status, candidates)
        lq_out, pairs_status, candidates, spatial = ev.lq, ev.pairs_status, ev.candidates, ev.summary
        laps("spatial evidence")
    if config is not None:  # traded vs local activities (mapping/analysis/traded.py)
        from mapping.analysis.traded import with_trade_class

        candidates, groups = with_trade_class(candidates, groups, _trade_table(analysis, config))
    built = layers.build_layers(inputs, analysis, groups, geography, candidates, pairs_status, clusters_status,
                                supported, matrix,
                                simplify_deg=config.maps.layer_simplify_deg if config is not None else 0.0)
    laps(f"layers ({len(built.divergence_layer)} regions, {len(built.candidates_layer)} candidates)")
    built.headline["robustness"] = robustness_summary(analysis, groups, candidates, pairs_status, spatial)
    built.headline["statistics"] = statistics_summary(analysis, pairs_status, spatial, config) if config else {}
    built.headline["verdicts"] = verdict_summary(clusters_status, analysis.level)  # mapping/analysis/verdicts.py
    laps("summaries")
    counts: dict[str, int] = {}
    counts["location_quotients.csv"] = write_csv(lq_out, tmp / "location_quotients.csv")
    counts["activity_groups.csv"] = write_csv(built.activity_groups[ACTIVITY_GROUP_COLUMNS], tmp / "activity_groups.csv")
    # Four decimals: a relatedness score is a correlation or a rank-scaled weight; more digits are noise
    # (and a 1,000-activity matrix is 1 M cells).
    counts["relatedness.csv"] = write_csv(matrix.round(4).reset_index(), tmp / "relatedness.csv")
    counts["candidate_clusters.csv"] = write_csv(built.candidates_table[CANDIDATE_COLUMNS], tmp / "candidate_clusters.csv")
    # Contract version 2: the pairs behind divergence.geojson (one feature per region), joinable on region_code.
    counts["divergence_pairs.csv"] = write_csv(built.divergence_pairs[DIVERGENCE_COLUMNS], tmp / "divergence_pairs.csv")
    # divergence.csv, the version-1 name of the same table, is kept for its readers: the same file, stored once.
    link_or_copy(tmp / "divergence_pairs.csv", tmp / "divergence.csv")
    counts["divergence.csv"] = counts["divergence_pairs.csv"]
    counts["supported_clusters.csv"] = write_csv(built.supported_table[SUPPORTED_COLUMNS], tmp / "supported_clusters.csv")
    laps(f"CSV tables ({counts['location_quotients.csv']} LQ rows)")
    gj = {"candidate_clusters": built.candidates_layer, "supported_clusters": built.supported_layer,
          "divergence": built.divergence_layer}
    for name, gdf in gj.items():
        counts[f"{name}.geojson"] = write_geojson(gdf, tmp / f"{name}.geojson", id_column="id")
    laps("GeoJSON layers")
    # The GeoPackage in an equal-area CRS of the country (mapping/outputs/gpkg.py).
    crs = choose_layer_crs(geography.units, config.geodata.country if config is not None else None,
                           override=getattr(getattr(config, "maps", None), "projection", None))
    from mapping.geo.credits import boundary_attribution  # the layers' description credits the boundaries

    write_clusters_gpkg(tmp / "clusters.gpkg", built, crs,
                        description=boundary_attribution(config) if config is not None else None)
    laps(f"clusters.gpkg ({crs.name})")
    return built, counts


def _manifest(config: RunConfig, inputs: Inputs, analysis: Analysis, matrix: pd.DataFrame, groups: pd.DataFrame,
              geography: Geography, timings: dict[str, float] | None, built, run_id: str) -> dict:
    return {
        "run_id": run_id,
        "contract_version": CONTRACT_VERSION,
        "started": inputs.started,
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": config.resolved_dict(),
        "seed": config.run.seed,
        "analysis": {"year": analysis.year, "classification": analysis.classification, "level": analysis.level,
                     "indicators": list(config.specialisation.indicators),
                     "rule": config.specialisation.combine or " or ".join(config.specialisation.indicators),
                     "threshold": config.specialisation.threshold,
                     "relatedness": dict(matrix.attrs), "grouping": dict(groups.attrs)},
        "inputs": [l.to_dict() for l in inputs.ledgers],
        "regions_without_geometry": geography.without_geometry,
        "credits": _credits(config),
        "stage_seconds": timings or {},
        "software": software_versions(),
        "headline": built.headline,
    }


def _credits(config: RunConfig) -> list[dict]:
    from mapping.geo.credits import run_credits  # sources and licences of boundaries, registries, data

    return run_credits(config)


def publish_run(run_dir: Path, config: RunConfig) -> Path:
    """Publish a finished run as ``<output_root>/latest`` (atomic, one publisher at a time)."""
    from mapping.outputs.runlock import publish_lock

    with publish_lock(Path(config.run.output_root)):
        return publish_latest(run_dir, Path(config.run.output_root))
