"""Prefect's start: project-local home, start-up limit, a busy machine, a running server, parent death."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import reaper, startup

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "own_data" / "establishments_2021.csv"


def _env(**extra) -> dict[str, str]:
    """This environment without any Prefect setting (each test names its own), the checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {**env, "PYTHONPATH": str(ROOT), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
        except OSError:
            return True
        if state in "ZX":  # dead, not yet reaped (PID 1 of a container may never reap it)
            return True
        time.sleep(0.2)
    return False


def test_prefect_environment_is_the_projects_own_unless_set(tmp_path, monkeypatch):
    for k in ("PREFECT_HOME", "PREFECT_PROFILES_PATH", startup.TIMEOUT_VARIABLE, "PREFECT_SERVER_ANALYTICS_ENABLED"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    set_now = startup.prefect_environment(tmp_path / "out", 240)
    assert os.environ["PREFECT_HOME"] == str((tmp_path / "out" / ".prefect").resolve())
    assert (tmp_path / "out" / ".prefect").is_dir()
    assert os.environ[startup.TIMEOUT_VARIABLE] == "240" and "PREFECT_PROFILES_PATH" not in set_now
    # What the user set wins; a user's own profiles file is still read.
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "mine"))
    monkeypatch.setenv(startup.TIMEOUT_VARIABLE, "30")
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    assert startup.prefect_environment(tmp_path / "out", 240) == {}
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "mine") and os.environ[startup.TIMEOUT_VARIABLE] == "30"
    monkeypatch.delenv("PREFECT_HOME")
    (tmp_path / "home" / ".prefect").mkdir(parents=True)
    (tmp_path / "home" / ".prefect" / "profiles.toml").write_text("active = 'x'\n")
    assert startup.prefect_environment(tmp_path / "out", 240)["PREFECT_PROFILES_PATH"].endswith("profiles.toml")


def test_start_up_failure_is_one_paragraph_naming_the_setting():
    err = startup.start_up_error(180, 2, "Timed out while attempting to connect.\n stdout: ...")
    text = str(err)
    assert "prefect_startup_timeout_seconds" in text and startup.TIMEOUT_VARIABLE in text
    assert "PREFECT_API_URL" in text and "\n" not in text and "180 s (2 attempts)" in text


def test_execution_section_has_the_start_up_limit_and_retention():
    from mapping.config import load_config
    from mapping.locations import default_config_path

    ex = load_config(default_config_path()).execution
    assert ex.prefect_startup_timeout_seconds >= 120 and ex.keep_runs == 5


_PARENT = """
import subprocess, sys, time
from flows import reaper
reaper.watch()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
grandchild = subprocess.Popen(["sh", "-c", "sleep 300 & wait"])
print(child.pid, grandchild.pid, flush=True)
time.sleep(300)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the parent-death watch needs /proc (Linux)")
def test_processes_of_a_killed_command_die_with_it():
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True, env=_env(),
                              cwd=ROOT)
    try:
        child, grandchild = map(int, parent.stdout.readline().split())
        time.sleep(1.5)  # the watch notes the tree every 0.5 s
        below = reaper.descendants(grandchild)
        assert reaper._stat(child) is not None and below
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert _gone(child, 15) and all(_gone(p, 15) for p in below) and _gone(grandchild, 15)
    finally:
        if parent.poll() is None:
            parent.kill()


def _busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


@pytest.mark.slow
def test_refresh_succeeds_while_every_cpu_is_busy(tmp_path):
    """The default refresh, through the command, with a CPU-bound process on every core."""
    hogs = _busy(os.cpu_count() or 2)
    try:
        res = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--output-root", str(tmp_path / "out")],
                             cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=1800)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert res.returncode == 0, res.stderr[-3000:]
    latest = tmp_path / "out" / "latest"
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["stage_seconds"]["prefect_startup"] > 0
    assert (tmp_path / "out" / ".prefect" / "prefect.db").is_file()  # the project's own Prefect home


@pytest.mark.slow
def test_a_running_server_is_used_and_no_ephemeral_one_starts(prefect_harness, tmp_path):
    """``PREFECT_API_URL`` set: the run (here the README's own-data example) reports to that server."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    res = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--input", str(EXAMPLE), "--output-root",
                          str(tmp_path / "out")], cwd=tmp_path, env=_env(PREFECT_API_URL=api),
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    text = res.stdout + res.stderr
    assert "Starting temporary server" not in text and not (tmp_path / "out" / ".prefect" / "prefect.db").exists()
    assert text.count("note: the input has none of the configured indicators") == 1
    latest = tmp_path / "out" / "input-establishments_2021" / "latest"
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["analysis"]["indicators"] == ["establishments"]
    assert not (tmp_path / "out" / "latest").exists()  # the default's latest is not touched
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    assert any(r.name and r.state and r.state.is_completed() for r in runs)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the parent-death watch needs /proc (Linux)")
def test_killed_run_leaves_no_prefect_server(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--output-root", str(tmp_path / "out")],
                            cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, server = time.monotonic() + 300, None
        while server is None and time.monotonic() < deadline and proc.poll() is None:
            for pid in reaper.descendants(proc.pid):
                try:
                    if b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        server = pid
                except OSError:
                    pass
            time.sleep(0.3)
        assert server is not None, "the run never started Prefect's server"
        time.sleep(1.5)  # let the watch note it
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert _gone(server, 20), f"Prefect server {server} outlived its command"
    finally:
        if proc.poll() is None:
            proc.kill()


class _Setting:
    def __init__(self, value):
        self._value = value

    def value(self):
        return self._value


@pytest.mark.parametrize("failures", [0, 1, 2])
def test_start_api_retries_once_then_names_the_setting(monkeypatch, failures):
    import prefect.server.api.server as srv
    import prefect.settings as ps

    from mapping.errors import MappingError

    calls = []

    class FakeServer:  # Prefect's SubprocessASGIServer, failing its first ``failures`` starts
        def __init__(self, port=None):
            pass

        def start(self, timeout=None):
            calls.append(("start", timeout))
            if sum(c[0] == "start" for c in calls) <= failures:
                raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

        def stop(self):
            calls.append(("stop", None))

    monkeypatch.setattr(srv, "SubprocessASGIServer", FakeServer)
    monkeypatch.setattr(ps, "PREFECT_API_URL", _Setting(None))
    monkeypatch.setattr(ps, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", _Setting(7))
    if failures < 2:
        assert startup.start_api() >= 0
        assert calls == [("start", 7), ("stop", None)] * failures + [("start", 7)]
    else:
        with pytest.raises(MappingError, match=r"within 7 s \(2 attempts\).*prefect_startup_timeout_seconds"):
            startup.start_api()
        assert calls == [("start", 7), ("stop", None)] * 2
    # With PREFECT_API_URL naming a server, nothing is started.
    calls.clear()
    monkeypatch.setattr(ps, "PREFECT_API_URL", _Setting("http://127.0.0.1:4200/api"))
    assert startup.start_api() == 0.0 and calls == []


def test_inputs_are_read_once_before_prefect_and_handed_to_the_flow(tmp_path, monkeypatch):
    """The command reads each input before Prefect starts (to fail fast) and the first stage reuses it."""
    from flows.prepare import prepare_run
    from mapping import pipeline
    from mapping.ingest import read

    calls = []
    real = read.read_input

    def counting(inp, geodata):
        calls.append(str(inp.path))
        return real(inp, geodata)

    monkeypatch.setattr(read, "read_input", counting)
    monkeypatch.setattr(pipeline, "read_input", counting)
    prepared = prepare_run(None, None, output_root=tmp_path / "out")
    assert prepared.config.inputs and len(calls) == len(prepared.config.inputs), calls


def _prefect_server_pids() -> set[int]:
    pids = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"prefect" in cmd and b"server" in cmd and b"start" in cmd:  # a zombie has no command line
                pids.add(int(p.name))
    return pids


def test_serve_server_moves_off_a_taken_port_and_stops_after_the_block(tmp_path, monkeypatch):
    """``clustermap serve``'s local server: a real ``prefect server start``, on a free port when 4200 is taken."""
    import socket
    import urllib.request

    from flows import server

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    before = _prefect_server_pids()
    with socket.socket() as taken:  # a port another program listens on
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with server.local_server(port=port) as api_url:
            assert not api_url.endswith(f":{port}/api")
            with urllib.request.urlopen(f"{api_url}/health", timeout=10) as r:
                assert r.status == 200
            started = _prefect_server_pids() - before
            assert started
    assert all(_gone(pid, 20) for pid in started)
    assert "PREFECT_API_URL" not in os.environ


def test_serve_server_that_never_answers_retries_then_names_the_setting(tmp_path, monkeypatch, capsys):
    from flows import server
    from mapping.errors import MappingError

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    before = _prefect_server_pids()
    with pytest.raises(MappingError, match=r"within 0.5 s \(2 attempts\).*prefect_startup_timeout_seconds"):
        with server.local_server(timeout=0.5):
            pytest.fail("the block must not run")
    assert capsys.readouterr().out.count("trying again") == 1
    assert all(_gone(pid, 20) for pid in _prefect_server_pids() - before)


def test_serve_start_up_limit_has_a_floor_and_follows_the_config(monkeypatch):
    import prefect.settings as ps

    from flows import server

    monkeypatch.setattr(ps, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", _Setting(20))
    assert server.startup_timeout() == server.MIN_TIMEOUT
    monkeypatch.setattr(ps, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", _Setting(240))
    assert server.startup_timeout() == 240
