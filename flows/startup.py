"""Prefect's environment and the start of its local API, set up before a flow runs.

- **Home.** Unless ``PREFECT_HOME`` is set, Prefect's home (its SQLite database and local storage)
  is ``<output_root>/.prefect``: the project's own, so runs never share or lock the database of
  another Prefect user of the account. A ``~/.prefect/profiles.toml`` the user made (e.g. with
  ``prefect config set PREFECT_API_URL=...``) is still read.
- **Start-up.** Without ``PREFECT_API_URL`` Prefect starts a temporary ("ephemeral") API server in a
  subprocess. Its start-up takes 5 s on a quiet machine and 30-50 s when other work occupies every
  CPU, more than Prefect's default limit of 20 s. :func:`start_api` starts it before the flow with the
  configured limit (``[execution] prefect_startup_timeout_seconds``), retries once, and otherwise stops
  with one paragraph naming the setting. With ``PREFECT_API_URL`` set, nothing is started.
- **Clean-up.** :func:`flows.reaper.watch` makes the server die with the command, even on ``kill -9``.

Everything here must run before :mod:`prefect` is first imported: Prefect reads its settings from
the environment once, at import.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from mapping.errors import MappingError

__all__ = ["prefect_environment", "start_api", "start_up_error", "TIMEOUT_VARIABLE"]

#: Prefect's own setting for the ephemeral API's start-up limit (seconds).
TIMEOUT_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def prefect_environment(output_root: Path, startup_timeout: float) -> dict[str, str]:
    """Set the defaults of Prefect's environment variables for this process and its children.

    Parameters
    ----------
    output_root : Path
        The run's top output root; Prefect's home defaults to ``<output_root>/.prefect``.
    startup_timeout : float
        Seconds the ephemeral API may take to start (used unless the variable is already set).

    Returns
    -------
    dict of str to str
        The variables this call set (those already in the environment are left alone).
    """
    wanted = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", TIMEOUT_VARIABLE: str(int(startup_timeout))}
    if "PREFECT_HOME" not in os.environ:
        home = Path(output_root).resolve() / ".prefect"
        home.mkdir(parents=True, exist_ok=True)
        wanted["PREFECT_HOME"] = str(home)
        user_profiles = Path.home() / ".prefect" / "profiles.toml"
        if user_profiles.is_file():  # keep the user's profiles (an API URL set with `prefect config set`)
            wanted["PREFECT_PROFILES_PATH"] = str(user_profiles)
    set_now = {k: v for k, v in wanted.items() if k not in os.environ}
    os.environ.update(set_now)
    return set_now


def start_up_error(timeout: float, attempts: int, detail: str) -> MappingError:
    """The one-paragraph start-up error (ephemeral API here, ``clustermap serve``'s server in flows/server.py)."""
    return MappingError(
        f"the local Prefect API server did not start within {timeout:g} s ({attempts} attempts); the machine is "
        f"probably busy. Raise [execution] prefect_startup_timeout_seconds in the config (or set {TIMEOUT_VARIABLE}), "
        f"or point PREFECT_API_URL at a running Prefect server (`prefect server start`). Prefect said: "
        f"{' '.join(detail.split())[:300]}")


def start_api(retries: int = 1) -> float:
    """Start Prefect's ephemeral API now (unless ``PREFECT_API_URL`` names a server); return the seconds taken.

    The flow then uses the running server (Prefect keeps one per process).

    Raises
    ------
    MappingError
        The server did not answer within the limit, ``retries + 1`` times.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    if PREFECT_API_URL.value():
        return 0.0
    timeout = int(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    t = time.perf_counter()
    for attempt in range(retries + 1):
        server = SubprocessASGIServer()
        try:
            server.start(timeout=timeout)
            return round(time.perf_counter() - t, 3)
        except Exception as exc:  # RuntimeError on the time-out, httpx errors on a bad answer
            server.stop()  # Prefect leaves the half-started process running; the next try needs a fresh one
            if attempt == retries:
                raise start_up_error(timeout, retries + 1, str(exc)) from None
    raise AssertionError("unreachable")
