"""``clustermap`` command line: run the refresh flow, or check inputs without running it."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer

from mapping.errors import MappingError, user_error

#: None = the bundled config/default.toml (mapping.locations.default_config_path).
DEFAULT_CONFIG = None
app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Regional cluster mapping: location quotients, candidate clusters, divergence maps.")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"clustermap {version('clustermap')}")
        except PackageNotFoundError:  # a checkout on PYTHONPATH without an install
            from mapping import __version__

            typer.echo(f"clustermap {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Regional cluster mapping: location quotients, candidate clusters, divergence maps."""


def _fail(exc: BaseException, debug: bool) -> None:
    """Exit 2 with one paragraph for the user's input, configuration and environment errors (disk full,
    permissions, memory); anything else, and everything with ``--debug``, keeps its traceback."""
    err = user_error(exc)
    if debug or err is None:
        raise exc
    typer.echo("error: " + " ".join(str(err).split()), err=True)  # one paragraph
    raise typer.Exit(code=2)


def _config(config: Path | None, inputs: list[Path] | None, fmt: str | None = None,
            options: list[str] | None = None):
    from mapping.config import load_config, with_inputs
    from mapping.ingest.read import parse_options
    from mapping.locations import default_config_path

    cfg = load_config(config if config is not None else default_config_path())
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
_ROOT_HELP = ("Output root (default: the config's run.output_root; without --config, ./outputs). "
              "Any folder named here is allowed.")


@app.command()
def run(config: Optional[Path] = typer.Option(DEFAULT_CONFIG, "--config", "-c",
                                             help="TOML run configuration (default: the bundled default.toml)."),
        input: Optional[list[Path]] = typer.Option(None, "--input", "-i",
                                                   help="Input file(s) replacing the config's inputs."),
        format: Optional[str] = typer.Option(None, "--format", "-f", help=_FORMAT_HELP),
        option: Optional[list[str]] = typer.Option(None, "--option", "-o", help=_OPTION_HELP),
        output_root: Optional[Path] = typer.Option(None, "--output-root", help=_ROOT_HELP),
        debug: bool = typer.Option(False, help="Show the full traceback on errors.")) -> None:
    """Run the refresh flow and publish <output root>/latest (other configs: <output root>/<name>/latest)."""
    from flows import reaper, startup
    from flows.prepare import prepare_run

    called_at = time.perf_counter()
    # Reading a large input (the US CBP folders: 4,500 files) takes seconds: say what is happening.
    typer.echo("checking the configuration and reading the inputs ...")
    try:  # configuration, output folder and inputs, all before Prefect starts
        prepared = prepare_run(config, input, format=format, options=option, output_root=output_root)
    except Exception as exc:  # noqa: BLE001 - _fail re-raises what is not the user's
        _fail(exc, debug)
    typer.echo(f"inputs read and checked in {time.perf_counter() - called_at:.1f} s")
    for note in prepared.notes:
        typer.echo(note)
    cfg = prepared.config
    startup.prefect_environment(prepared.top_root, cfg.execution.prefect_startup_timeout_seconds)
    reaper.watch()  # Prefect's server dies with this command, even on kill -9
    from flows.refresh import refresh

    try:
        startup_seconds = {"startup_checks": round(time.perf_counter() - called_at, 3),
                           "startup_prefect_api": startup.start_api()}
    except MappingError as exc:
        _fail(exc, debug)

    if not debug:
        _quiet_tracebacks()

    try:
        run_dir = refresh(cfg, called_at=called_at, startup_seconds=startup_seconds)
    except Exception as exc:  # noqa: BLE001 - _fail re-raises what is not the user's
        _fail(exc, debug)
    typer.echo(f"run written to {run_dir}; published as {Path(cfg.run.output_root) / 'latest'}")


@app.command()
def check(config: Optional[Path] = typer.Option(DEFAULT_CONFIG, "--config", "-c"),
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
def serve(config: Optional[Path] = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="TOML run configuration."),
          name: Optional[str] = typer.Option(None, help="Deployment name (default: the config's run.name)."),
          output_root: Optional[Path] = typer.Option(None, "--output-root", help=_ROOT_HELP),
          debug: bool = typer.Option(False, help="Show the full traceback on errors.")) -> None:
    """Serve the refresh flow as a Prefect deployment on the config's [schedule] cron (runs until Ctrl-C)."""
    from flows import reaper, startup
    from flows.prepare import place_outputs
    from mapping.locations import default_config_path

    try:
        cfg = _config(config, None)  # fail here, in one paragraph, on a bad config
        default = config is None or Path(config).resolve() == default_config_path().resolve()
        placed, top = place_outputs(cfg, default=default, output_root=output_root, cwd_default=config is None)
    except Exception as exc:  # noqa: BLE001 - _fail re-raises what is not the user's
        _fail(exc, debug)
    config = config if config is not None else default_config_path()
    startup.prefect_environment(top, cfg.execution.prefect_startup_timeout_seconds)
    reaper.watch()  # the local Prefect server dies with this command, even on kill -9
    from flows.refresh import serve as serve_refresh

    try:
        serve_refresh(config, name=name, output_root=placed.run.output_root)
    except MappingError as exc:  # the local server did not start
        _fail(exc, debug)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
