"""A local Prefect server for ``clustermap serve`` when no ``PREFECT_API_URL`` is configured.

``clustermap run`` uses Prefect's ephemeral API (a temporary server inside the command, SQLite in
``$PREFECT_HOME``, nothing to start). That API runs no scheduler, so a *schedule* needs a real
server: when ``PREFECT_API_URL`` is unset, ``clustermap serve`` starts ``prefect server start`` on
127.0.0.1 (same SQLite database), waits until it answers, serves the deployment against it and
stops it on exit. With ``PREFECT_API_URL`` set (production: a Prefect server with PostgreSQL, see
the README), that server is used and nothing is started.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

from flows import startup

__all__ = ["local_server", "configured_api_url", "startup_timeout", "MIN_TIMEOUT"]


def configured_api_url() -> str | None:
    """``PREFECT_API_URL`` from the environment or the active Prefect profile, if any."""
    from prefect.settings import PREFECT_API_URL

    return os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value() or None


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


#: Seconds the server may take at least: ``prefect server start`` (migrations, UI assets) takes longer
#: than the ephemeral API, 10-15 s quiet and over a minute when other work occupies every CPU.
MIN_TIMEOUT = 90.0


def startup_timeout() -> float:
    """The start-up limit in seconds: Prefect's ephemeral limit (set from the config), at least :data:`MIN_TIMEOUT`."""
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    return max(MIN_TIMEOUT, float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()))


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _start(port: int, timeout: float) -> tuple[subprocess.Popen, str, str | None]:
    """Start the server on ``port``; return the process, its API URL and ``None``, or the failure's output."""
    api_url = f"http://127.0.0.1:{port}/api"
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    deadline = time.monotonic() + timeout
    while not _healthy(api_url):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            out = proc.stdout.read() if proc.stdout else ""
            return proc, api_url, out or "(no output)"
        time.sleep(0.5)
    return proc, api_url, None


@contextlib.contextmanager
def local_server(port: int = 4200, timeout: float | None = None, retries: int = 1) -> Iterator[str]:
    """Run ``prefect server start`` on 127.0.0.1 for the duration of the block; yield its API URL.

    Parameters
    ----------
    port : int
        Preferred port; a free one is taken when it is in use (and on each retry).
    timeout : float, optional
        Seconds each attempt may take to answer on ``/health``; default :func:`startup_timeout`.
    retries : int
        Further attempts after a failed start (a busy machine, a port taken in the meantime).

    Raises
    ------
    MappingError
        No attempt answered in time; the message names the setting to raise and Prefect's last output.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    limit = startup_timeout() if timeout is None else float(timeout)
    proc, api_url, failure = None, "", None
    for attempt in range(retries + 1):
        proc, api_url, failure = _start(_free_port(port), limit)
        if failure is None:
            break
        if attempt < retries:
            print(f"the local Prefect server did not start on {api_url} within {limit:g} s; trying again",
                  flush=True)
    if failure is not None:
        raise startup.start_up_error(limit, retries + 1, failure[-300:])
    try:
        print(f"Prefect server with UI at {api_url.removesuffix('/api')} (stopped with this command)", flush=True)
        os.environ["PREFECT_API_URL"] = api_url  # for processes started from here (Dask workers)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        _stop(proc)
