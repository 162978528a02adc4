"""Where the bundled reference files are, and where a run may write.

**Bundled files.** The registries and boundaries (``geodata/``), the default configuration and
reference tables (``config/``) and the default derived data (``data/``) are kept at the top of the
repository. A wheel carries them as package data under ``mapping/_bundled/`` (``pyproject.toml`` maps
the folders there); :func:`bundled_path` finds them with :mod:`importlib.resources` in an installed
package and falls back to the repository's folders in a source checkout (editable install).

**Output roots.** A run writes only inside the project (the repository checkout the code runs from,
or the current working directory) or inside a directory named on the command line
(``--output-root``): :func:`confine_output_root`. Each configuration publishes under its own name
(``<output_root>/<run.name>/latest``); only the default configuration publishes at
``<output_root>/latest``: :func:`named_output_root`.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from mapping.errors import MappingError

__all__ = ["REPO_ROOT", "bundled_path", "default_config_path", "project_roots", "confine_output_root",
           "named_output_root", "RESERVED_NAMES"]

#: The folder above the ``mapping`` package: the repository in a checkout, site-packages when installed.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Folders of the repository shipped as package data (``mapping/_bundled/<folder>`` in a wheel).
BUNDLED_FOLDERS = ("geodata", "config", "data")
#: Names used by the output root itself, so no configuration may publish under them.
RESERVED_NAMES = frozenset({"runs", "cache", "latest"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def bundled_path(folder: str, *parts: str) -> Path:
    """Path of a bundled file, e.g. ``bundled_path("geodata", "regions.csv")``.

    Parameters
    ----------
    folder : str
        One of :data:`BUNDLED_FOLDERS`.
    *parts : str
        The file's path inside that folder.

    Returns
    -------
    Path
        The installed package's copy (``mapping/_bundled/...``) when there is one, else the
        repository's own folder. The path may not exist (a caller reports a missing file).
    """
    if folder not in BUNDLED_FOLDERS:
        raise ValueError(f"{folder!r} is not a bundled folder {BUNDLED_FOLDERS}")
    packaged = resources.files("mapping").joinpath("_bundled", folder)
    base = Path(str(packaged)) if packaged.is_dir() else REPO_ROOT / folder
    return base.joinpath(*parts)


def default_config_path() -> Path:
    """The default configuration (``config/default.toml``, bundled)."""
    return bundled_path("config", "default.toml")


def in_checkout() -> bool:
    """True when the code runs from a source checkout (``pyproject.toml`` beside the package)."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "geodata").is_dir()


def project_roots() -> list[Path]:
    """Folders a run may write into without being told: the checkout (if any) and the working directory."""
    roots = [Path.cwd().resolve()]
    if in_checkout():
        roots.insert(0, REPO_ROOT)
    return roots


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def confine_output_root(output_root: Path, explicit: Path | None = None) -> Path:
    """Refuse an output root outside the project unless it was named on the command line.

    Parameters
    ----------
    output_root : Path
        The configured output root (already absolute, see :func:`mapping.config.load_config`).
    explicit : Path, optional
        The ``--output-root`` given on the command line: it, and folders inside it, are allowed.

    Returns
    -------
    Path
        ``output_root`` resolved (symbolic links followed).

    Raises
    ------
    MappingError
        The resolved root lies outside every allowed folder (it is named, with the allowed ones),
        or exists and is not a directory.
    """
    resolved = Path(output_root).expanduser().resolve()
    allowed = project_roots() + ([Path(explicit).expanduser().resolve()] if explicit is not None else [])
    if not any(_inside(resolved, root) for root in allowed):
        raise MappingError(
            f"run.output_root resolves to {resolved}, outside the project ({', '.join(map(str, allowed))}); "
            f"a run writes only inside the project unless the folder is named on the command line: "
            f"pass --output-root {resolved} if you mean it, or set [run] output_root in the config")
    if resolved.exists() and not resolved.is_dir():
        raise MappingError(f"run.output_root {resolved} exists and is not a directory; set [run] output_root "
                           f"in the config or pass --output-root to a folder")
    return resolved


def named_output_root(output_root: Path, name: str) -> Path:
    """``<output_root>/<name>``: where a configuration other than the default publishes.

    Raises
    ------
    MappingError
        ``name`` is not a plain folder name (letters, digits, ``.``, ``_``, ``-``) or is one of
        :data:`RESERVED_NAMES`.
    """
    if not _NAME.match(name) or name in RESERVED_NAMES or name.strip(".") == "":
        raise MappingError(f"run.name {name!r} cannot name an output folder: use letters, digits, '.', '_' or "
                           f"'-' (not {sorted(RESERVED_NAMES)}); set [run] name in the config")
    return Path(output_root) / name
