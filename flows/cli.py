"""``clustermap`` command line: run the refresh flow, or check inputs without running it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from mapping.errors import MappingError, user_error

DEFAULT_CONFIG = Path("config/default.toml")
app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Regional cluster mapping: location quotients, candidate clusters, divergence maps.")


def _fail(exc: BaseException, debug: bool) -> None:
    """Exit 2 with one paragraph for the user's input, configuration and environment errors (disk full,
    permissions, memory); anything else, and everything with ``--debug``, keeps its traceback."""
    err = user_error(exc)
    if debug or err is None:
        raise exc
    typer.echo("error: " + " ".join(str(err).split()), err=True)  # one paragraph
    raise typer.Exit(code=2)


def _config(config: Path, inputs: list[Path] | None, fmt: str | None = None, options: list[str] | None = None):
    from mapping.config import load_config, with_inputs
    from mapping.ingest.read import parse_options

    cfg = load_config(config)
    return with_inputs(cfg, inputs, format=fmt, options=parse_options(options)) if inputs else cfg


class _NoMappingTraceback:
    """Logging filter: the user's input errors are reported in one paragraph, not as a traceback."""

    def filter(self, record) -> bool:
        if record.exc_info and user_error(record.exc_info[1]) is not None:
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_tracebacks() -> None:
    import logging

    for name in ["", *logging.root.manager.loggerDict]:
        logger = logging.getLogger(name)
        for handler in getattr(logger, "handlers", []):
            handler.addFilter(_NoMappingTraceback())


_FORMAT_HELP = "Layout of every --input (default: detected): tidy, wide, annex, gva_structure, grp, emiss, cbp, customs."
_OPTION_HELP = "Reading option for every --input, KEY=VALUE (sheet=2.3., years=2021, indicator=employment, unit=...)."


@app.command()
def run(config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="TOML run configuration."),
        input: Optional[list[Path]] = typer.Option(None, "--input", "-i",
                                                   help="Input file(s) replacing the config's inputs."),
        format: Optional[str] = typer.Option(None, "--format", "-f", help=_FORMAT_HELP),
        option: Optional[list[str]] = typer.Option(None, "--option", "-o", help=_OPTION_HELP),
        debug: bool = typer.Option(False, help="Show the full traceback on errors.")) -> None:
    """Run the refresh flow and publish outputs/latest."""
    called_at = time.perf_counter()
    try:
        cfg = _config(config, input, format, option)
    except Exception as exc:  # noqa: BLE001 - _fail re-raises what is not the user's
        _fail(exc, debug)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.refresh import refresh

    if not debug:
        _quiet_tracebacks()

    try:
        run_dir = refresh(cfg, called_at=called_at)
    except Exception as exc:  # noqa: BLE001 - _fail re-raises what is not the user's
        _fail(exc, debug)
    typer.echo(f"run written to {run_dir}; published as {Path(cfg.run.output_root) / 'latest'}")


@app.command()
def check(config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c"),
          input: Optional[list[Path]] = typer.Option(None, "--input", "-i"),
          format: Optional[str] = typer.Option(None, "--format", "-f", help=_FORMAT_HELP),
          option: Optional[list[str]] = typer.Option(None, "--option", "-o", help=_OPTION_HELP),
          debug: bool = typer.Option(False)) -> None:
    """Read and validate the inputs and the geodata without running the pipeline; print the row ledger."""
    from mapping.ingest.geocheck import check_geodata
    from mapping.ledger import format_ledger
    from mapping.pipeline import load_inputs

    try:
        cfg = _config(config, input, format, option)
        inputs = load_inputs(cfg)
        geo = check_geodata(cfg, inputs.tidy["region_code"])  # registries, labels, boundaries and their fit
    except Exception as exc:  # noqa: BLE001 - _fail re-raises what is not the user's
        _fail(exc, debug)
    for led in inputs.ledgers:
        for line in format_ledger(led.to_dict()):
            typer.echo(line)
    for line in geo.lines:
        typer.echo("geodata: " + line)
    for line in geo.warnings:
        typer.echo("geodata warning: " + line)


@app.command()
def serve(config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="TOML run configuration."),
          name: Optional[str] = typer.Option(None, help="Deployment name (default: the config's run.name)."),
          debug: bool = typer.Option(False, help="Show the full traceback on errors.")) -> None:
    """Serve the refresh flow as a Prefect deployment on the config's [schedule] cron (runs until Ctrl-C)."""
    try:
        _config(config, None)  # fail here, in one paragraph, on a bad config
    except Exception as exc:  # noqa: BLE001 - _fail re-raises what is not the user's
        _fail(exc, debug)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.refresh import serve as serve_refresh

    serve_refresh(config, name=name)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
