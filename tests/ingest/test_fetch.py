"""URL inputs: timeouts, retries with backoff, conditional requests and checksums (local HTTP server)."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from pathlib import Path

import pytest

from mapping.config import RunConfig
from mapping.errors import MappingError
from mapping.ingest.fetch import fetch_url, resolve_inputs

BODY = b"year,region_code\n2021,RU-MOW\n"
SHA = hashlib.sha256(BODY).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    plan: list = []  # per request: "ok", "500", "404", "slow", "short"
    seen: list = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        what = self.plan.pop(0) if self.plan else "ok"
        self.seen.append((self.path, what, self.headers.get("If-None-Match")))
        if what == "ok" and self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        if what in ("500", "404"):
            self.send_response(int(what))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if what == "slow":
            time.sleep(1.5)
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(BODY) + (10 if what == "short" else 0)))
        self.end_headers()
        self.wfile.write(BODY)


@pytest.fixture()
def server():
    _Handler.plan, _Handler.seen = [], []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Handler
    srv.shutdown()
    srv.server_close()


def test_download_is_checksummed_and_then_confirmed_with_304(server, tmp_path):
    base, h = server
    dest = tmp_path / "d" / "data.csv"
    path, digest = fetch_url(f"{base}/data.csv", dest, expected_sha256=SHA, backoff=0)
    assert path.read_bytes() == BODY and digest == SHA
    path, digest = fetch_url(f"{base}/data.csv", dest, expected_sha256=SHA, backoff=0)
    assert digest == SHA and h.seen[-1][2] == '"v1"'  # conditional request, answered 304


def test_transient_failures_are_retried_with_backoff(server, tmp_path):
    base, h = server
    h.plan = ["500", "short", "ok"]
    t = time.perf_counter()
    path, _ = fetch_url(f"{base}/x.csv", tmp_path / "x.csv", retries=3, backoff=0.05)
    assert path.read_bytes() == BODY and [w for _, w, _ in h.seen] == ["500", "short", "ok"]
    assert time.perf_counter() - t >= 0.05 + 0.1  # waited 0.05 s, then 0.1 s


def test_a_client_error_is_not_retried(server, tmp_path):
    base, h = server
    h.plan = ["404"]
    with pytest.raises(MappingError, match=r"x\.csv: download failed after 1 attempt\(s\).*HTTP 404"):
        fetch_url(f"{base}/x.csv", tmp_path / "x.csv", retries=3, backoff=0)
    assert len(h.seen) == 1


def test_timeouts_give_up_after_the_retries(server, tmp_path):
    base, h = server
    h.plan = ["slow", "slow"]
    with pytest.raises(MappingError, match=r"after 2 attempt\(s\) \(timeout 0.3 s\)"):
        fetch_url(f"{base}/x.csv", tmp_path / "x.csv", timeout=0.3, retries=1, backoff=0)


def test_checksum_mismatch_keeps_the_previous_copy(server, tmp_path):
    base, _ = server
    dest = tmp_path / "x.csv"
    dest.write_bytes(b"previous good copy")
    with pytest.raises(MappingError, match="SHA-256 of the download is"):
        fetch_url(f"{base}/x.csv", dest, expected_sha256="0" * 64, retries=0)
    assert dest.read_bytes() == b"previous good copy" and not list(tmp_path.glob(".*.part"))


def test_resolve_inputs_downloads_url_inputs_and_verifies_local_checksums(server, tmp_path):
    base, _ = server
    local = tmp_path / "local.csv"
    local.write_bytes(BODY)
    cfg = RunConfig.model_validate({"run": {"output_root": str(tmp_path / "out")},
                                    "execution": {"download_retries": 0},
                                    "inputs": [{"url": f"{base}/remote.csv", "sha256": SHA},
                                               {"path": str(local), "sha256": SHA}]})
    resolved = resolve_inputs(cfg)
    remote = resolved.inputs[0]
    assert remote.url.endswith("remote.csv") and Path(remote.path).read_bytes() == BODY
    assert str(remote.path).startswith(str(tmp_path / "out" / "cache" / "downloads"))
    local.write_bytes(BODY + b"tampered")
    with pytest.raises(MappingError, match="local.csv: SHA-256 is"):
        resolve_inputs(cfg)
