"""Everything ``clustermap run`` checks before Prefect starts: configuration, output folder, inputs.

A bad configuration or input is reported in about a second, once, instead of after the Prefect API
has started (see ``benchmarks/bench_fail_fast.py``). In order:

1. the configuration is loaded (the bundled ``config/default.toml`` when none is given) and
   ``--input`` files replace its inputs;
2. the output folder is placed: the default configuration publishes at ``<output_root>/latest``,
   any other configuration or ``--input`` run at ``<output_root>/<name>/latest`` (its own runs,
   cache and retention); the root must lie inside the project or be named with ``--output-root``
   (:mod:`mapping.locations`);
3. the inputs are read (each file with its reader first, which is quick to import, then the whole
   ingest stage, whose result goes to the stage cache so that the flow reuses it);
4. with ``--input``, when the file has none of the configured specialisation indicators, the run takes
   the indicators it has (one line says so) and relatedness uses one of them.
"""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass, field
from pathlib import Path

from mapping.config import KNOWN_INDICATORS, RunConfig
from mapping.locations import confine_output_root, default_config_path, named_output_root

__all__ = ["Prepared", "prepare_run", "place_outputs", "own_data_indicators", "input_run_name"]

#: Preferred level when the configured one is absent from the data, coarsest first.
_LEVELS = ("section", "division", "group", "class")


@dataclass
class Prepared:
    """A run ready for the flow: its configuration, Prefect's home root and lines to show the user."""

    config: RunConfig
    top_root: Path
    notes: list[str] = field(default_factory=list)


def input_run_name(paths: list[Path]) -> str:
    """Output folder name of an ``--input`` run: ``input-<first file's stem>`` (``+N`` for more files)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(paths[0]).stem).strip("._-")[:60] or "file"
    return f"input-{stem}" + (f"+{len(paths) - 1}" if len(paths) > 1 else "")


def place_outputs(cfg: RunConfig, *, default: bool, output_root: Path | None,
                  cwd_default: bool) -> tuple[RunConfig, Path]:
    """Set ``cfg.run.output_root`` to where this run publishes (see the module docstring).

    Parameters
    ----------
    cfg : RunConfig
    default : bool
        The run is the default configuration without ``--input``: it publishes at the root.
    output_root : Path, optional
        ``--output-root`` from the command line (allowed anywhere).
    cwd_default : bool
        No ``--config`` was given: the root is ``./outputs`` of the working directory.

    Returns
    -------
    config, top_root : RunConfig, Path
        The updated configuration and the root itself (Prefect's home goes there).
    """
    if output_root is not None:
        root = Path(output_root).expanduser().resolve()
    elif cwd_default:
        root = Path.cwd().resolve() / "outputs"
    else:
        root = Path(cfg.run.output_root)
    root = confine_output_root(root, explicit=output_root)
    target = root if default else named_output_root(root, cfg.run.name)
    return cfg.model_copy(update={"run": cfg.run.model_copy(update={"output_root": target})}), root


def own_data_indicators(cfg: RunConfig, tidy) -> tuple[RunConfig, str | None]:
    """With the configured indicators absent from the data, use the indicators the data has.

    Parameters
    ----------
    cfg : RunConfig
    tidy : pandas.DataFrame
        The tidy rows read (``indicator``, ``level`` columns).

    Returns
    -------
    config, note : RunConfig, str or None
        ``cfg`` unchanged and None when a configured indicator has rows at the configured level;
        otherwise ``specialisation.indicators`` = the data's indicators (any of them decides),
        ``specialisation.level`` = the data's level when the configured one is absent, and
        ``relatedness.indicator`` one of them, with a one-line note.
    """
    rows = tidy.loc[tidy["level"] != "total"]
    s = cfg.specialisation
    if rows.empty or rows.loc[(rows["level"] == s.level) & rows["indicator"].isin(s.indicators)].shape[0]:
        return cfg, None
    levels = set(rows["level"])
    level = s.level if s.level in levels else next((lv for lv in _LEVELS if lv in levels), sorted(levels)[0])
    present = set(rows.loc[rows["level"] == level, "indicator"])
    order = {name: i for i, name in enumerate(KNOWN_INDICATORS)}
    indicators = tuple(sorted(present, key=lambda x: (order.get(x, len(order)), x)))
    rel = cfg.relatedness.indicator if cfg.relatedness.indicator in present else indicators[0]
    spec = s.model_copy(update={"indicators": indicators, "combine": None, "level": level})
    cfg = cfg.model_copy(update={"specialisation": spec,
                                 "relatedness": cfg.relatedness.model_copy(update={"indicator": rel})})
    where = "" if level == s.level else f" at level {level!r} (none at {s.level!r})"
    note = (f"note: the input has none of the configured indicators {list(s.indicators)}; specialisation uses "
            f"{list(indicators)}{where} (any of them), relatedness uses {rel!r} "
            f"(set [specialisation] indicators/combine and [relatedness] indicator in a config to choose)")
    return cfg, note


def _read_inputs(cfg: RunConfig):
    """Read the inputs the way the flow's first stage will (cached for it); return (plan, Inputs)."""
    from mapping import cache

    plan = cache.plan_refresh(cfg)
    read = {}
    if not cache.has_entry(plan, "load_inputs"):
        from mapping.ingest.read import read_input  # light import: a bad file fails before the pipeline's

        for inp in plan.config.inputs:
            if inp.format != "firms":
                read[inp.model_dump_json()] = read_input(inp, plan.config.geodata)
    from mapping import pipeline

    # The files just read are handed over, not read a second time.
    inputs, _ = cache.run_stage(plan, "load_inputs", functools.partial(pipeline.load_inputs, pre_read=read),
                                plan.config, on_hit=cache.restamp_inputs)
    return plan, inputs


def prepare_run(config: Path | None, inputs: list[Path] | None, *, format: str | None = None,
                options: list[str] | None = None, output_root: Path | None = None) -> Prepared:
    """Steps 1-4 of the module docstring.

    Raises
    ------
    MappingError
        A bad configuration, output root or input (one paragraph naming file, row, column, value).
    """
    from mapping.config import load_config, with_inputs

    path = Path(config) if config is not None else default_config_path()
    cfg = load_config(path)
    if inputs:
        from mapping.ingest.read import parse_options

        cfg = with_inputs(cfg, inputs, format=format, options=parse_options(options))
        cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": input_run_name(inputs)})})
    default = not inputs and path.resolve() == default_config_path().resolve()
    cfg, top = place_outputs(cfg, default=default, output_root=output_root, cwd_default=config is None)
    notes = []
    _, read = _read_inputs(cfg)
    if inputs:
        cfg, note = own_data_indicators(cfg, read.tidy)
        notes += [note] if note else []
    return Prepared(config=cfg, top_root=top, notes=notes)
