"""Run configuration: one frozen, typed model loaded from TOML and validated on load.

Relative paths in a config file are resolved against the directory that holds the file,
so ``config/default.toml`` can say ``../data/ru_rosstat_2021.csv`` and run from anywhere.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mapping.errors import MappingError

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
REPO_ROOT = Path(__file__).resolve().parents[1]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InputFile(_Frozen):
    """One input table."""

    path: Path
    format: Literal["tidy"] = "tidy"
    source: str | None = Field(default=None, description="Short source id written to the ledger.")


class RunSection(_Frozen):
    name: str = "run"
    output_root: Path = Path("outputs")
    seed: int = 42


class GeodataSection(_Frozen):
    country: str = "RU"
    regions: Path = REPO_ROOT / "geodata" / "regions.csv"
    region_labels: Path = REPO_ROOT / "geodata" / "region_labels.csv"
    activities: Path = REPO_ROOT / "geodata" / "activities.csv"
    boundaries: Path = REPO_ROOT / "geodata" / "ru_regions.gpkg"
    supported_clusters: Path | None = REPO_ROOT / "geodata" / "supported_clusters.csv"
    #: Which level of nested units to keep: the okrugs and remainders ("parts") or their parents.
    nested_units: Literal["parts", "parents"] = "parts"
    #: Tolerance for neighbour detection, in degrees (regions are quantised separately).
    neighbour_tolerance_deg: float = Field(default=0.01, ge=0, le=0.5)


class SpecialisationSection(_Frozen):
    threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0)
    #: Size floor: the region's value must be at least this share of the national value (0-1).
    min_share_of_national: float = Field(default=0.0, ge=0, lt=1)
    #: Size floor: the region's value must be at least this (in the indicator's unit).
    min_value: float = Field(default=0.0, ge=0)
    #: Indicators that count towards a region x activity being specialised.
    indicators: tuple[str, ...] = ("gva", "shipments")
    #: Boolean rule over indicator names (and / or / not, parentheses). Default: any of ``indicators``.
    combine: str | None = None
    #: Classification level the candidates and divergence are computed at.
    level: str = "section"

    @field_validator("indicators")
    @classmethod
    def _non_empty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one indicator is needed")
        return v


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


class ScheduleSection(_Frozen):
    cron: str = "0 6 1 * *"
    timezone: str = "Europe/Moscow"


class RunConfig(_Frozen):
    """Validated configuration of one refresh run."""

    run: RunSection = RunSection()
    inputs: tuple[InputFile, ...]
    geodata: GeodataSection = GeodataSection()
    specialisation: SpecialisationSection = SpecialisationSection()
    relatedness: RelatednessSection = RelatednessSection()
    schedule: ScheduleSection = ScheduleSection()
    source_path: Path | None = None

    def resolved_dict(self) -> dict:
        """JSON-ready dict of the configuration (paths as strings), for the manifest."""
        return self.model_dump(mode="json")


def _resolve_paths(data: dict, base: Path) -> dict:
    """Make every relative path in the raw TOML absolute against ``base``."""
    def fix(p):
        path = Path(p).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())

    data = dict(data)
    if "inputs" in data:
        data["inputs"] = [dict(i, path=fix(i["path"])) if isinstance(i, dict) and "path" in i else i
                          for i in data["inputs"]]
    for section, keys in (("geodata", ("regions", "region_labels", "activities", "boundaries", "supported_clusters")),
                          ("run", ("output_root",))):
        if isinstance(data.get(section), dict):
            sec = dict(data[section])
            for k in keys:
                if isinstance(sec.get(k), str):
                    sec[k] = fix(sec[k])
            data[section] = sec
    return data


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
    raw["source_path"] = str(path.resolve())
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(f"key '{loc}': {err['msg']} (got {err.get('input')!r})")
        raise MappingError(f"{path}: invalid configuration: " + "; ".join(problems)) from None


def with_inputs(config: RunConfig, paths: list[Path]) -> RunConfig:
    """Return a copy of ``config`` whose inputs are the given files (the CLI's ``--input``)."""
    return config.model_copy(update={"inputs": tuple(InputFile(path=Path(p).resolve()) for p in paths)})
