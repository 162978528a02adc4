"""Package layout (metadata is in pyproject.toml).

The registries and boundaries (``geodata/``), the default configuration (``config/``) and the default
derived data (``data/``) stay at the top of the repository, their one source of truth; the wheel
carries them as package data under ``mapping/_bundled/<folder>``, where
:func:`mapping.locations.bundled_path` finds them with ``importlib.resources``.
"""

from setuptools import find_packages, setup

BUNDLED = {f"mapping._bundled.{folder}": folder for folder in ("geodata", "config", "data")}

setup(
    packages=find_packages(include=["mapping", "mapping.*", "flows", "flows.*"]) + sorted(BUNDLED),
    package_dir=BUNDLED,
    package_data={name: ["*", "**/*"] for name in BUNDLED},
    exclude_package_data={name: ["__pycache__/*", "*.pyc"] for name in BUNDLED},
)
