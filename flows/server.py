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

__all__ = ["local_server", "configured_api_url"]


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


@contextlib.contextmanager
def local_server(port: int = 4200, timeout: float = 90.0) -> Iterator[str]:
    """Run ``prefect server start`` on 127.0.0.1 for the duration of the block; yield its API URL.

    Raises
    ------
    RuntimeError
        The server did not answer within ``timeout`` seconds (its output is in the message).
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = _free_port(port)
    api_url = f"http://127.0.0.1:{port}/api"
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(api_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"the local Prefect server did not start on {api_url}: {out[-2000:]}")
            time.sleep(0.5)
        print(f"Prefect server with UI at http://127.0.0.1:{port} (stopped with this command)", flush=True)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            os.environ["PREFECT_API_URL"] = api_url  # for processes started from here (Dask workers)
            yield api_url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
