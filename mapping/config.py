"""Run configuration: one frozen, typed model loaded from TOML and validated on load.

Relative paths in a config file are resolved against the directory that holds the file,
so ``config/default.toml`` can say ``../data/ru_rosstat_2021.csv`` and run from anywhere.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mapping.errors import MappingError
from mapping.locations import REPO_ROOT, bundled_path  # noqa: F401 - REPO_ROOT re-exported for callers

__all__ = [
    "DEFAULT_THRESHOLD",
    "InputFile",
    "RunConfig",
    "load_config",
]

#: The policy anchor: "twice the national average".
DEFAULT_THRESHOLD = 2.0
#: Indicators the pipeline knows; others are accepted but reported as extensions.
KNOWN_INDICATORS = ("employment", "revenue", "exports", "gva", "establishments", "rd_expenditure", "shipments", "payroll")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


#: Input formats (see ``mapping/ingest/read.py``); "auto" detects the format from the file.
INPUT_FORMATS = ("auto", "tidy", "wide", "annex", "gva_structure", "grp", "emiss", "cbp", "customs", "firms")


class InputFile(_Frozen):
    """One input table and how to read it (options a layout does not need are ignored; see data/README.md)."""

    #: Local file; for a ``url`` input, where the download is kept (default under the output root's cache).
    path: Path | None = None
    #: http(s) URL to download the input from (timeouts, retries, checksum: mapping/ingest/fetch.py).
    url: str | None = Field(default=None, pattern=r"^https?://")
    #: Expected SHA-256 (hex) of the file; the run stops if the content differs.
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    #: "firms": establishment records aggregated to region x OKVED2 ``level`` (mapping/ingest/firms.py).
    format: Literal["auto", "tidy", "wide", "annex", "gva_structure", "grp", "emiss", "cbp", "customs",
                    "firms"] = "auto"
    source: str | None = Field(default=None, description="Short source id written to the ledger.")
    #: Workbook sheet (annex tables: "2.3."; GRP workbook: "Total").
    sheet: str | None = None
    #: Years to keep; empty = the file's years of its newest classification.
    years: tuple[int, ...] = ()
    indicator: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    #: Unit of the values as wanted in the run ("million RUB", "thousand persons"); converted from the
    #: file's own unit when both are given and differ only in scale; required when the file states none.
    unit: str | None = None
    classification: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9]*$")
    level: str | None = None
    #: Activity code for a table without an activity dimension (annex sheet, GRP): default "TOTAL".
    activity: str | None = None
    #: NAICS levels to read from a CBP folder ("naics2" ... "naics6", "total"); empty = all.
    levels: tuple[str, ...] = ()
    #: Column mapping, tidy role -> source column, e.g. CBP {value = "emp", range = "empflag"}.
    columns: dict[str, str] = Field(default_factory=dict)
    #: EMISS breakdown to keep when a file has several (e.g. "ВСЕГО (по всем формам собственности)").
    breakdown: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    decimal: Literal[".", ","] | None = None
    #: Customs: HS -> OKVED2 concordance (default config/hs_okved2.csv). GVA structure: GRP workbook.
    concordance: Path | None = None
    grp: Path | None = None
    #: Text that is neither a number nor a known marker: stop ("error") or read as suppressed.
    unparsed: Literal["error", "suppressed"] = "error"
    #: Files (and, for .xlsx, their uncompressed content) larger than this are refused before loading.
    max_bytes: int = Field(default=2 * 1024**3, gt=0)


    @model_validator(mode="before")
    @classmethod
    def _url_in_path(cls, data):
        """``path = "https://..."`` means ``url``; an input needs a path or a URL."""
        if isinstance(data, dict):
            p = data.get("path")
            if isinstance(p, str) and p.lower().startswith(("http://", "https://")) and not data.get("url"):
                data = {**{k: v for k, v in data.items() if k != "path"}, "url": p}
            if data.get("path") is None and not data.get("url"):
                raise ValueError("an input needs a 'path' or a 'url'")
        return data


class RunSection(_Frozen):
    name: str = "run"
    output_root: Path = Path("outputs")
    seed: int = 42


class GeodataSection(_Frozen):
    country: str = "RU"
    regions: Path = bundled_path("geodata", "regions.csv")
    region_labels: Path = bundled_path("geodata", "region_labels.csv")
    activities: Path = bundled_path("geodata", "activities.csv")
    boundaries: Path = bundled_path("geodata", "ru_regions.gpkg")
    supported_clusters: Path | None = bundled_path("geodata", "supported_clusters.csv")
    #: Which level of nested units to keep: the okrugs and remainders ("parts") or their parents.
    nested_units: Literal["parts", "parents"] = "parts"
    #: Tolerance for neighbour detection, in degrees (regions are quantised separately).
    neighbour_tolerance_deg: float = Field(default=0.01, ge=0, le=0.5)
    #: Column of the boundary file holding the ids that ``boundary_codes`` refer to (e.g. "NUTS_ID"),
    #: and the layer to read (default the first). GeoPackage and GeoJSON are both read.
    boundary_id_column: str = "region_code"
    boundary_layer: str | None = None
    #: Vocabulary of the run's outputs; empty = from the region registry's metadata file
    #: (``<registry>.meta.toml``, see geodata/REGIONS.md), else neutral words.
    group_name: str | None = None          # the grouping level above regions: "federal district"
    source_language: str | None = None     # ISO 639-1 of the sources' names ("ru", "en", "de")
    #: Credits (source, licence, attribution) per file role, overriding the files' metadata, e.g.
    #: ``[geodata.credits.boundaries] attribution = "Boundaries: (c) EuroGeographics"``.
    credits: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: Classifications whose codes are not in the activity registry, with the regular expression every
    #: code must match (e.g. ``{ NACE2 = '[A-U]|\\d{2}' }``); any other unregistered classification is refused.
    open_classifications: dict[str, str] = Field(default_factory=dict)

    @field_validator("credits")
    @classmethod
    def _credit_keys(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        roles = ("boundaries", "regions", "activities", "supported_clusters", "data")
        keys = ("title", "source", "licence", "attribution", "note", "url")
        bad = [f"credits.{r}" for r in v if r not in roles]
        bad += [f"credits.{r}.{k}" for r, d in v.items() for k in d if k not in keys]
        if bad:
            raise ValueError(f"unknown {', '.join(bad)}: roles are {', '.join(roles)}; keys {', '.join(keys)}")
        return v


class RoundingSection(_Frozen):
    """Cells of ``indicator`` with ``flag`` are known to +- ``half_width`` x base (see mapping/analysis/uncertainty.py)."""

    indicator: str
    flag: str = "derived"
    half_width: float = Field(default=0.0005, ge=0)
    relative_to: Literal["region_total", "value", "absolute"] = "region_total"


class SpecialisationSection(_Frozen):
    threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0, allow_inf_nan=False)
    #: Size floor: the region's value must be at least this share of the national value (0-1); one
    #: number for every indicator or a table ``{gva = 0.001}`` (indicators not named: no floor).
    min_share_of_national: float | dict[str, float] = 0.0
    #: Size floor: the region's value must be at least this (in the indicator's unit); number or table.
    min_value: float | dict[str, float] = 0.0
    #: Indicators whose regional total is one industry's, not the economy's (shipments: industrial
    #: production B-E): their LQs are "within_industry" (``lq_scope``), never alone a headline.
    within_industry: tuple[str, ...] = ("shipments",)
    #: Year of the map: "latest_common" (latest year every specialisation indicator has), "latest", or a year.
    analysis_year: int | Literal["latest", "latest_common"] = "latest_common"
    #: A specialisation is persistent when it held in at least this share of the years observed
    #: (and in at least 2 of them); see mapping/analysis/timeseries.py.
    persistent_share: float = Field(default=0.75, gt=0, le=1)
    #: Indicators that count towards a region x activity being specialised.
    indicators: tuple[str, ...] = ("gva", "shipments")
    #: Boolean rule over indicator names (and / or / not, parentheses). Default: any of ``indicators``.
    combine: str | None = None
    #: Classification level the candidates and divergence are computed at.
    level: str = "section"
    #: Levels whose LQs are computed and published in location_quotients.csv (default: every level of
    #: the inputs). Levels read but not listed still bound their children's suppressed cells, e.g. the
    #: US run reads NAICS 3- to 5-digit files only for that and computes LQs at 6 digits.
    lq_levels: tuple[str, ...] | None = None
    #: The "national" reference of the LQ: "all" the regions of the run (one country, or the pooled
    #: countries of a multi-country run) or each region's own "country" (registry column ``country``).
    reference: Literal["all", "country"] = "all"
    #: Named rule (mapping/analysis/rules.py): "threshold" (LQ >= threshold), "cmp_percentile" (US Cluster
    #: Mapping Project) or "eco_stars" (European Cluster Observatory). Size floors apply first.
    rule: Literal["threshold", "cmp_percentile", "eco_stars"] = "threshold"
    cmp_lq_percentile: float = Field(default=75.0, gt=0, lt=100)
    cmp_min_lq: float = Field(default=1.0, ge=0)
    cmp_size_percentile: float = Field(default=25.0, ge=0, lt=100)
    cmp_size_indicators: tuple[str, ...] = ("employment", "establishments")
    eco_top_share: float = Field(default=0.10, gt=0, lt=1)
    eco_min_stars: int = Field(default=2, ge=1, le=3)
    #: Uncertainty (mapping/analysis/uncertainty.py): rounding of flagged cells, e.g. Rosstat GVA shares.
    rounded: tuple[RoundingSection, ...] = ()
    #: Indicators whose region ``total`` row is the exact sum of its activities (e.g. GRP for gva).
    exact_totals: tuple[str, ...] = ()
    #: Tidy files of national totals (any region code), used only to bound suppressed cells.
    known_totals: tuple[Path, ...] = ()
    known_totals_tolerance: float = Field(default=1e-3, ge=0, lt=1)
    #: Point value of a ``range`` cell: the midpoint of its (narrowed) bounds, or missing.
    range_point: Literal["midpoint", "missing"] = "midpoint"
    #: Count indicators that get a small-count (Poisson) interval for the LQ.
    count_indicators: tuple[str, ...] = ("establishments",)
    confidence: float = Field(default=0.95, gt=0, lt=1)

    @field_validator("min_share_of_national", "min_value")
    @classmethod
    def _floor_range(cls, v, info):
        vals = v.values() if isinstance(v, dict) else [v]
        top = 1.0 if info.field_name == "min_share_of_national" else float("inf")
        if any(not (0 <= x < top) for x in vals):
            raise ValueError(f"a size floor must be >= 0{' and < 1' if top == 1.0 else ''}")
        return v

    @field_validator("indicators")
    @classmethod
    def _non_empty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one indicator is needed")
        return v

    @model_validator(mode="after")
    def _combine_names_indicators(self):
        if self.combine is not None:
            _check_rule(self.combine, self.indicators)
        if self.lq_levels is not None and self.level not in self.lq_levels:
            raise ValueError(f"lq_levels {list(self.lq_levels)} must include the analysis level {self.level!r}")
        return self


class RelatednessSection(_Frozen):
    indicator: str = "gva"
    measure: Literal["correlation", "cosine", "proximity"] = "correlation"
    method: Literal["agglomerative", "spectral"] = "agglomerative"
    #: Number of co-location groups, or "auto": the silhouette-best k in [min_groups, max_groups].
    n_groups: int | Literal["auto"] = "auto"
    min_groups: int = Field(default=3, ge=2)
    max_groups: int = Field(default=8, ge=2)
    #: Activities at least this related are "related" when forming candidates.
    min_relatedness: float = Field(default=0.3, ge=-1, le=1)
    #: Weights of the relatedness sources (mapping/analysis/relatedness.py::combined_relatedness): co-location,
    #: closeness in the classification hierarchy, input-output links (needs ``io_table``).
    colocation_weight: float = Field(default=1.0, ge=0)
    hierarchy_weight: float = Field(default=0.0, ge=0)
    io_weight: float = Field(default=0.0, ge=0)
    #: CSV ``from_code, to_code, value`` of intermediate flows between activities (optional;
    #: geodata/io_*.csv, built by scripts/build_io_tables.py).
    io_table: Path | None = None
    #: CSV ``io_code, activity_code``: the classification codes of each input-output industry (optional;
    #: without it the table's codes are the run's activity codes).
    io_concordance: Path | None = None
    #: "auto": weights of the sources and k chosen on held-out evidence (split-half co-location,
    #: input-output links left out; mapping/analysis/validation.py); "config": the weights above.
    weights: Literal["config", "auto"] = "config"
    #: "rank": each source on its percentile scale before the weighted mean; "raw": values as they are.
    combine_scale: Literal["raw", "rank"] = "raw"
    #: Development level partialled out of co-location: log(numerator / denominator) of the regions'
    #: totals of two indicators (e.g. gva / employment = GVA per worker); empty = none.
    development_numerator: str = ""
    development_denominator: str = ""
    #: Permutations of each null (activity labels; regions within activity, at most 19 above 200 activities).
    null_permutations: int = Field(default=99, ge=0)
    #: Candidates join only activities at least as related as this quantile of all pairs (random pairs).
    link_quantile: float = Field(default=0.5, ge=0, le=1)
    #: Bootstrap resamples of regions for the grouping's stability (0 = skip).
    stability_resamples: int = Field(default=50, ge=0)
    #: Fixed mapping of activities to cluster categories: CSV ``activity_code, category`` and/or inline.
    categories: Path | None = None
    fixed_categories: dict[str, str] = Field(default_factory=dict)
    #: When a fixed mapping exists, candidates use it ("fixed") or the data-driven groups ("data").
    use_grouping: Literal["fixed", "data"] = "fixed"


class SpatialSection(_Frozen):
    """Local Moran's I on each specialised activity's LQ (mapping/analysis/spatial.py)."""

    enabled: bool = True
    permutations: int = Field(default=999, ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    #: Benjamini-Hochberg false-discovery control per indicator x activity map (mapping/analysis/significance.py).
    fdr: bool = True
    fdr_q: float = Field(default=0.05, gt=0, lt=1)


class TradedSection(_Frozen):
    """Traded vs local activities by their locational Gini (mapping/analysis/traded.py)."""

    #: Indicator to measure dispersion on; empty = employment where present, else the relatedness indicator.
    indicator: str | None = None
    #: Locational Gini at or above which an activity is traded (concentrated in a subset of regions).
    gini_cutoff: float = Field(default=0.30, ge=0, le=1)
    #: Rank untapped specialisations and candidate clusters on traded activities only (local ones listed apart).
    rank_traded_only: bool = True


class ScheduleSection(_Frozen):
    cron: str = "0 6 1 * *"
    timezone: str = "Europe/Moscow"

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        return _check_cron(v)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        return _check_timezone(v)


class ExecutionSection(_Frozen):
    """How a refresh runs; nothing here changes a result (so the stage cache ignores it)."""

    #: "default": Prefect's thread pool; "dask": the heavy stages on a Dask cluster (prefect-dask).
    task_runner: Literal["default", "dask"] = "default"
    #: Dask scheduler address ("tcp://host:8786"); empty = start a local cluster of ``dask_workers``.
    dask_address: str = ""
    dask_workers: int = Field(default=2, ge=1)
    #: Reuse stage results whose inputs, configuration and code are unchanged (mapping/cache.py).
    cache: bool = True
    #: Cached results kept per stage (least recently used dropped).
    cache_entries: int = Field(default=8, ge=1)
    download_timeout_seconds: float = Field(default=60.0, gt=0)
    download_retries: int = Field(default=3, ge=0)
    #: Seconds one download attempt may take in total (the timeout above is per read).
    download_deadline_seconds: float = Field(default=900.0, gt=0, allow_inf_nan=False)
    #: Seconds Prefect's local (ephemeral) API may take to start; a busy 2-CPU machine needs 30-50 s.
    #: PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, when set, wins (see flows/startup.py).
    prefect_startup_timeout_seconds: float = Field(default=180.0, gt=0)
    #: Complete runs kept per output folder (older ones and the cache entries only they used are removed).
    keep_runs: int = Field(default=5, ge=1)


class MapsSection(_Frozen):
    """The web map and static maps (mapping/outputs/webmap.py, mapping/outputs/staticmaps.py)."""

    #: Optional base-map tile URL template (".../{z}/{x}/{y}.png"); empty = no tiles, map.html works offline.
    tiles: str | None = None
    #: Attribution the tile provider requires (needed with ``tiles``).
    tiles_attribution: str | None = None
    #: Web-map simplification tolerance in degrees.
    simplify_deg: float = Field(default=0.02, ge=0, le=1)
    #: Simplification tolerance of the published layers (GeoJSON, GeoPackage), in degrees (~2 km north-south
    #: at 0.02), applied to the region outlines together so shared borders stay shared; islets smaller than a
    #: tolerance-sized square are left out (each region keeps its largest part). 0 = the boundary file's detail.
    layer_simplify_deg: float = Field(default=0.02, ge=0, le=1)
    #: Projected CRS of the static maps and of ``clusters.gpkg`` (``EPSG:3576``, a PROJ string, WKT); empty =
    #: an Albers equal-area projection for the country (RU, US) or centred on the data (mapping/geo/cartography.py).
    projection: str | None = None
    #: Static-map insets as [title, [region codes]] pairs; empty = the country's defaults (Moscow, Saint
    #: Petersburg for RU) plus far-flung units (mapping/outputs/staticmaps.py).
    insets: list[tuple[str, list[str]]] | None = None


class RunConfig(_Frozen):
    """Validated configuration of one refresh run."""

    run: RunSection = RunSection()
    inputs: tuple[InputFile, ...]
    geodata: GeodataSection = GeodataSection()
    specialisation: SpecialisationSection = SpecialisationSection()
    relatedness: RelatednessSection = RelatednessSection()
    spatial: SpatialSection = SpatialSection()
    traded: TradedSection = TradedSection()
    schedule: ScheduleSection = ScheduleSection()
    execution: ExecutionSection = ExecutionSection()
    maps: MapsSection = MapsSection()
    source_path: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _download_paths(cls, data):
        """Give each URL input without a ``path`` its download location under the output root."""
        if not isinstance(data, dict) or not data.get("inputs"):
            return data
        from mapping.ingest.fetch import download_path

        run = data.get("run") or {}
        root = Path((run.get("output_root") if isinstance(run, dict) else run.output_root) or "outputs")
        fixed = []
        for inp in data["inputs"]:
            url = inp.get("url") if isinstance(inp, dict) else getattr(inp, "url", None)
            path = inp.get("path") if isinstance(inp, dict) else getattr(inp, "path", None)
            if isinstance(path, str) and path.lower().startswith(("http://", "https://")) and not url:
                url, path, inp = path, None, {**inp, "url": path, "path": None}
            if url and path is None:
                dest = download_path(root, url)
                inp = {**inp, "path": dest} if isinstance(inp, dict) else inp.model_copy(update={"path": dest})
            fixed.append(inp)
        return {**data, "inputs": fixed}

    def resolved_dict(self) -> dict:
        """JSON-ready dict of the configuration (paths as strings), for the manifest."""
        return self.model_dump(mode="json")


def _resolve_paths(data: dict, base: Path) -> dict:
    """Make every relative path in the raw TOML absolute against ``base``.

    A relative path with nothing at ``base`` is tried against the bundled ``config/`` folder, so a copy
    of ``config/default.toml`` placed anywhere still finds the bundled registries and data.
    """
    fallback = bundled_path("config")

    def fix(p, keep_missing=False):
        if isinstance(p, str) and p.lower().startswith(("http://", "https://")):
            return p  # a URL input (mapping/ingest/fetch.py)
        path = Path(p).expanduser()
        if path.is_absolute():
            return str(path)
        here = (base / path).resolve()
        if not keep_missing and not here.exists() and (fallback / path).resolve().exists():
            return str((fallback / path).resolve())
        return str(here)

    data = dict(data)
    if "inputs" in data:
        data["inputs"] = [dict(i, path=fix(i["path"])) if isinstance(i, dict) and "path" in i else i
                          for i in data["inputs"]]
        data["inputs"] = [dict(i, **{k: fix(i[k]) for k in ("concordance", "grp") if isinstance(i.get(k), str)})
                          if isinstance(i, dict) else i for i in data["inputs"]]
    for section, keys in (("geodata", ("regions", "region_labels", "activities", "boundaries", "supported_clusters")),
                          ("run", ("output_root",)), ("specialisation", ("known_totals",)),
                          ("relatedness", ("io_table", "io_concordance", "categories"))):
        if isinstance(data.get(section), dict):
            sec = dict(data[section])
            for k in keys:
                if isinstance(sec.get(k), str):
                    sec[k] = fix(sec[k], keep_missing=k == "output_root")
                elif isinstance(sec.get(k), list):
                    sec[k] = [fix(x) if isinstance(x, str) else x for x in sec[k]]
            data[section] = sec
    return data


def _require_geodata(raw: dict, path: Path) -> None:
    """Name the key to set when a registry or boundary file named by the config is nowhere to be found."""
    geo = raw.get("geodata")
    for key, value in (geo.items() if isinstance(geo, dict) else ()):
        if key in ("regions", "region_labels", "activities", "boundaries", "supported_clusters") \
                and isinstance(value, str) and not Path(value).exists():
            raise MappingError(f"{path}: [geodata] {key}: no file at {value} (relative paths are resolved beside "
                               f"the config, then against the bundled {bundled_path('config')}); set [geodata] "
                               f"{key} in the config to the file's path")


def load_config(path: str | Path) -> RunConfig:
    """Load and validate a TOML run configuration.

    Parameters
    ----------
    path : str or Path
        A TOML file (see ``config/default.toml``). Relative paths inside it are resolved
        against the file's directory.

    Returns
    -------
    RunConfig
        Frozen, validated configuration.

    Raises
    ------
    MappingError
        The file is missing, is not TOML, or a value is invalid; the message names the file,
        the key and the value.
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"{path}: config file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from None
    raw = _resolve_paths(raw, path.parent.resolve())
    _require_geodata(raw, path)
    raw["source_path"] = str(path.resolve())
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(f"key '{loc}': {err['msg']} (got {err.get('input')!r})")
        raise MappingError(f"{path}: invalid configuration: " + "; ".join(problems)) from None


def with_inputs(config: RunConfig, paths: list[Path], *, format: str | None = None,
                options: dict | None = None) -> RunConfig:
    """Return a copy of ``config`` whose inputs are the given files (the CLI's ``--input``).

    ``format`` and ``options`` (InputFile fields such as ``sheet`` or ``indicator``) apply to every file.
    """
    extra = dict(options or {})
    if format:
        extra["format"] = format
    try:
        inputs = tuple(InputFile.model_validate({"path": Path(p).resolve(), **extra}) for p in paths)
    except ValidationError as exc:
        problems = [f"option '{'.'.join(str(x) for x in e['loc'])}': {e['msg']} (got {e.get('input')!r})"
                    for e in exc.errors()]
        raise MappingError("invalid --format/--option: " + "; ".join(problems)) from None
    return config.model_copy(update={"inputs": inputs})


# --------------------------------------------------------------------------- checks of single settings

_CRON_ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                 "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}


def _check_rule(rule: str, indicators: tuple[str, ...]) -> None:
    """``combine`` must parse and name only ``indicators`` (an unknown name would silently be false)."""
    import ast

    try:
        tree = ast.parse(rule, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"combine {rule!r} is not a rule of indicator names, and, or, not and parentheses "
                         f"({exc.msg} at character {exc.offset})") from None
    allowed = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Name, ast.Load)
    other = sorted({type(n).__name__ for n in ast.walk(tree) if not isinstance(n, allowed)})
    if other:
        raise ValueError(f"combine {rule!r}: only indicator names, and, or, not and parentheses are allowed "
                         f"(found {', '.join(other)})")
    unknown = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(indicators))
    if unknown:
        raise ValueError(f"combine {rule!r} names {unknown}, which are not in specialisation.indicators "
                         f"{list(indicators)}; add them there or correct the rule")


def _check_cron(cron: str) -> str:
    """A five-field cron expression (or ``@daily`` and the like), as the scheduler will read it."""
    import datetime as dt

    from cronsim import CronSim, CronSimError

    expr = _CRON_ALIASES.get(cron.strip().lower(), cron.strip())
    if any(f.upper() in ("H", "R") or f.upper().startswith(("H(", "R(")) for f in expr.split()):
        raise ValueError(f"cron {cron!r}: random and hashed fields (H, R) are not supported")
    try:
        CronSim(expr, dt.datetime(2020, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"cron {cron!r} is not a valid cron expression ({exc}); e.g. '0 6 1 * *' "
                         "is 06:00 on the first of each month") from None
    return cron


def _check_timezone(name: str) -> str:
    """An IANA time zone name such as ``Europe/Moscow``."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"timezone {name!r} is not an IANA time zone name (e.g. 'Europe/Moscow', 'UTC')") from None
    return name
