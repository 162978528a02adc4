"""URL inputs have a total deadline and a size limit: a server that trickles bytes, or sends far more than
``max_bytes``, is cut off, and no partial file is kept (local HTTP server, synthetic bodies)."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from mapping.errors import MappingError
from mapping.ingest.fetch import fetch_url


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "trickle"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        if self.mode == "big-announced":
            self.send_header("Content-Length", str(200 * 1024**2))
        self.end_headers()
        try:
            if self.mode == "trickle":  # one byte every 50 ms: never a read timeout, forever in total
                for _ in range(2000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            else:  # an unannounced (or announced) large body, streamed
                block = b"y" * 65536
                for _ in range(200 * 16):
                    self.wfile.write(block)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture()
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _no_files(folder):
    return [p.name for p in folder.iterdir()] == []


def test_trickling_server_hits_the_total_deadline(server, tmp_path):
    _Handler.mode = "trickle"
    with pytest.raises(MappingError, match=r"took over 0.5 s in total"):
        fetch_url(server + "/slow.csv", tmp_path / "slow.csv", timeout=5, retries=0, deadline=0.5)
    assert _no_files(tmp_path)


@pytest.mark.parametrize("mode", ["big", "big-announced"])
def test_download_stops_at_max_bytes_without_keeping_the_partial_file(server, tmp_path, mode):
    _Handler.mode = mode
    with pytest.raises(MappingError, match=r"limit of 1048576 bytes \(max_bytes\)"):
        fetch_url(server + "/big.csv", tmp_path / "big.csv", timeout=5, retries=2, max_bytes=1024**2)
    assert _no_files(tmp_path)
