"""Inputs given as http(s) URLs: download with timeouts and retries, keep a checksummed local copy.

A refresh resolves every URL input to a local file under ``<output_root>/cache/downloads/`` before
anything else runs (:func:`resolve_inputs`), so the rest of the pipeline only sees local paths and
the stage cache (:mod:`mapping.cache`) keys on the downloaded *content*. A download is

- conditional: the server's ``ETag``/``Last-Modified`` are kept beside the copy and sent back, so an
  unchanged remote file costs one ``304 Not Modified`` round trip;
- bounded: every read has a timeout, every attempt a total deadline, every body the input's
  ``max_bytes`` (checked against ``Content-Length`` and while streaming); connection errors, timeouts, 5xx, 408 and 429 are retried
  with exponential backoff, other 4xx fail at once;
- checksummed: the SHA-256 is computed while streaming, compared with the configured ``sha256`` if
  any, and the file only replaces the previous copy (atomically) when complete and correct.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from mapping.errors import MappingError
from mapping.hashing import sha256_file

__all__ = ["is_url", "fetch_url", "resolve_inputs", "verify_sha256", "download_path", "DOWNLOAD_DIR"]

#: Folder (under the cache folder of the output root) holding downloaded inputs.
DOWNLOAD_DIR = Path("cache") / "downloads"
_URL = re.compile(r"^https?://", re.IGNORECASE)
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_BLOCK = 1 << 20


def is_url(value: object) -> bool:
    """True for an ``http://`` or ``https://`` string."""
    return isinstance(value, str) and bool(_URL.match(value))


def verify_sha256(path: Path, expected: str | None, *, what: str | None = None) -> str:
    """Return the file's SHA-256; raise :class:`MappingError` if it differs from ``expected``."""
    digest = sha256_file(path)
    if expected and digest.lower() != expected.strip().lower():
        raise MappingError(f"{what or path}: SHA-256 is {digest}, the configuration expects {expected}; "
                           "the file changed or the download is corrupt")
    return digest


def _meta_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".meta.json")


def _read_meta(dest: Path) -> dict:
    try:
        return json.loads(_meta_path(dest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def fetch_url(url: str, dest: Path, *, expected_sha256: str | None = None, timeout: float = 60.0,
              retries: int = 3, backoff: float = 1.0, deadline: float | None = None,
              max_bytes: int | None = None) -> tuple[Path, str]:
    """Download ``url`` to ``dest`` (or confirm the local copy is current) and return its SHA-256.

    Parameters
    ----------
    url : str
        An http(s) URL.
    dest : Path
        Local file; its folder is created. A previous copy is replaced atomically, and only by a
        complete download that passed the checksum.
    expected_sha256 : str, optional
        Hex digest the content must have.
    timeout : float
        Seconds for connecting and for each read.
    retries : int
        Extra attempts after a transient failure (connection error, timeout, 408, 429, 5xx).
    backoff : float
        Seconds before the first retry; doubled each time.
    deadline : float, optional
        Seconds one attempt may take in total (a server that trickles bytes never trips the per-read
        ``timeout``); an attempt past it is refused, not retried.
    max_bytes : int, optional
        The largest body accepted: a larger announced ``Content-Length`` is refused before reading, and
        the download stops as soon as it passes the limit; the partial file is never kept.

    Returns
    -------
    path, sha256 : Path, str

    Raises
    ------
    MappingError
        The server refuses the request (other 4xx), every attempt failed, the body is shorter than
        announced, or the checksum differs. The message names the URL and the last error.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    meta = _read_meta(dest) if dest.is_file() else {}
    headers = {"User-Agent": "clustermap (+https://github.com/)"}
    if meta.get("sha256") and meta.get("url") == url:
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
    last_error = "no attempt made"
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            return _attempt(url, dest, headers, meta, expected_sha256, timeout, deadline, max_bytes)
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                digest = sha256_file(dest)
                if digest == meta.get("sha256"):
                    return dest, verify_sha256(dest, expected_sha256, what=url)
                headers.pop("If-None-Match", None), headers.pop("If-Modified-Since", None)
                last_error = "local copy changed since download; fetching again"
                continue
            last_error = f"HTTP {exc.code} {exc.reason}"
            if exc.code not in _RETRY_STATUS:
                break
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException,
                _ShortRead) as exc:
            last_error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    raise MappingError(f"{url}: download failed after {attempt + 1} attempt(s) (timeout {timeout:g} s): {last_error}")


class _ShortRead(Exception):
    """The body ended before the announced Content-Length."""


def _attempt(url: str, dest: Path, headers: dict, meta: dict, expected: str | None,
             timeout: float, deadline: float | None = None, max_bytes: int | None = None) -> tuple[Path, str]:
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    h = hashlib.sha256()
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            if max_bytes is not None and length is not None and length.isdigit() and int(length) > max_bytes:
                raise MappingError(f"{url}: the server announces {length} bytes, over the input's limit of "
                                   f"{max_bytes} bytes (max_bytes); not downloaded")
            got = 0
            # read1: one receive at a time, so the deadline is checked however slowly bytes arrive.
            read = getattr(resp, "read1", resp.read)
            with open(tmp, "wb") as f:
                for block in iter(lambda: read(_BLOCK), b""):
                    f.write(block)
                    h.update(block)
                    got += len(block)
                    if max_bytes is not None and got > max_bytes:
                        raise MappingError(f"{url}: the download passed the input's limit of {max_bytes} bytes "
                                           "(max_bytes); stopped, and the partial file removed")
                    if deadline is not None and time.monotonic() - started > deadline:
                        raise MappingError(f"{url}: the download took over {deadline:g} s in total "
                                           f"({got} bytes received); stopped, and the partial file removed "
                                           "(execution.download_deadline_seconds)")
            if length is not None and got != int(length):
                raise _ShortRead(f"got {got} of {length} bytes")
            etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        digest = h.hexdigest()
        if expected and digest.lower() != expected.strip().lower():
            raise MappingError(f"{url}: SHA-256 of the download is {digest}, the configuration expects "
                               f"{expected}; the remote file changed or the transfer is corrupt")
        os.replace(tmp, dest)
        _meta_path(dest).write_text(json.dumps({"url": url, "sha256": digest, "etag": etag,
                                                "last_modified": modified, "bytes": got}), encoding="utf-8")
        return dest, digest
    finally:
        tmp.unlink(missing_ok=True)


def download_path(root: Path, url: str) -> Path:
    """``<root>/<16 hex of the URL's hash>/<file name from the URL>`` (keeps the suffix for format detection)."""
    name = Path(urllib.parse.urlparse(url).path).name or "input"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return Path(root) / DOWNLOAD_DIR / hashlib.sha256(url.encode()).hexdigest()[:16] / name


def resolve_inputs(config):
    """Return ``config`` with every URL input downloaded and every checksum verified.

    URL inputs get ``path`` = their local copy (``url`` is kept for provenance); an input with a
    ``path`` and a ``sha256`` is verified. Configs without URL inputs or checksums are returned as is.

    Parameters
    ----------
    config : mapping.config.RunConfig

    Returns
    -------
    RunConfig
    """
    execution = getattr(config, "execution", None)
    timeout = float(getattr(execution, "download_timeout_seconds", 60.0))
    retries = int(getattr(execution, "download_retries", 3))
    deadline = getattr(execution, "download_deadline_seconds", None)
    changed, out = False, []
    for inp in config.inputs:
        url, expected = getattr(inp, "url", None), getattr(inp, "sha256", None)
        if url:
            dest = Path(inp.path) if inp.path is not None else download_path(config.run.output_root, str(url))
            fetch_url(str(url), dest, expected_sha256=expected, timeout=timeout, retries=retries,
                      deadline=deadline, max_bytes=getattr(inp, "max_bytes", None))
            inp = inp.model_copy(update={"path": dest})
            changed = True
        elif expected and inp.path is not None:
            if not Path(inp.path).is_file():
                raise MappingError(f"{inp.path}: input file not found")
            verify_sha256(Path(inp.path), expected)
        out.append(inp)
    return config.model_copy(update={"inputs": tuple(out)}) if changed else config
