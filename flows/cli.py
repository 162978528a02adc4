"""``clustermap`` command line: run the refresh flow, or check inputs without running it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from mapping.errors import MappingError

DEFAULT_CONFIG = Path("config/default.toml")
app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Regional cluster mapping: location quotients, candidate clusters, divergence maps.")


def _fail(exc: BaseException, debug: bool) -> None:
    if debug:
        raise exc
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


def _config(config: Path, inputs: list[Path] | None):
    from mapping.config import load_config, with_inputs

    cfg = load_config(config)
    return with_inputs(cfg, inputs) if inputs else cfg


@app.command()
def run(config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="TOML run configuration."),
        input: Optional[list[Path]] = typer.Option(None, "--input", "-i",
                                                   help="Tidy input file(s) replacing the config's inputs."),
        debug: bool = typer.Option(False, help="Show the full traceback on errors.")) -> None:
    """Run the refresh flow and publish outputs/latest."""
    called_at = time.perf_counter()
    try:
        cfg = _config(config, input)
    except MappingError as exc:
        _fail(exc, debug)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.refresh import refresh

    try:
        run_dir = refresh(cfg, called_at=called_at)
    except MappingError as exc:
        _fail(exc, debug)
    typer.echo(f"run written to {run_dir}; published as {Path(cfg.run.output_root) / 'latest'}")


@app.command()
def check(config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c"),
          input: Optional[list[Path]] = typer.Option(None, "--input", "-i"),
          debug: bool = typer.Option(False)) -> None:
    """Read and validate the inputs without running the pipeline; print the row ledger."""
    from mapping.pipeline import load_inputs

    try:
        inputs = load_inputs(_config(config, input))
    except MappingError as exc:
        _fail(exc, debug)
    for led in inputs.ledgers:
        d = led.to_dict()
        typer.echo(f"{d['file']}: read {d['rows_read']}, used {d['rows_used']} "
                   f"(context {d['rows_context']}), suppressed cells {d['cells_suppressed']}")
        for reason, n in d["rows_dropped"].items():
            typer.echo(f"  dropped {n}: {reason}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
