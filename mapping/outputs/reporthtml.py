"""``report.html``: the Markdown report as one self-contained HTML page.

The Markdown is converted with markdown-it-py (CommonMark plus tables) with raw HTML disabled, so
any markup inside a name taken from the data is shown as text, never interpreted. Images that
sit beside the report (the static maps) are embedded as data URIs, so the page can be mailed or
opened on its own; no external resource is referenced.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from markdown_it import MarkdownIt

__all__ = ["render_report_html", "write_report_html"]

_CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
  max-width: 1200px; margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.7em; margin-bottom: 0.1em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 13px; display: block; overflow-x: auto; }
th, td { border: 1px solid #d0d7de; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; } tr:nth-child(even) td { background: #fafbfc; }
code { background: #f3f5f7; padding: 0 3px; border-radius: 3px; font-size: 90%; }
blockquote { border-left: 4px solid #ccbb44; margin: 1em 0; padding: 0.2em 1em; background: #fcfbf2; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
"""


def _inline_images(body: str, base: Path) -> str:
    """Replace ``src`` of local PNG images with data URIs (missing files are left as links)."""
    def repl(m: re.Match) -> str:
        src = html.unescape(m.group(1))
        path = base / src
        if "/" in src or "\\" in src or not src.lower().endswith(".png") or not path.is_file():
            return m.group(0)
        return f'src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'

    return re.sub(r'src="([^"]+)"', repl, body)


def _local_link(url: str) -> bool:
    """Only a file beside the report (``map.png``) may become a link or an image: no scheme, no host,
    no absolute or parent path, so ``report.html`` can never reference an external resource."""
    u = url.strip()
    return bool(u) and not re.match(r"^[a-z][a-z0-9+.-]*:", u, re.I) and not u.startswith(("/", "\\")) \
        and ".." not in u and "//" not in u


def render_report_html(markdown_text: str, *, base_dir: Path | None = None, title: str = "Cluster map report") -> str:
    """Convert the report's Markdown to a standalone HTML page.

    Parameters
    ----------
    markdown_text : str
        The content of ``report.md``.
    base_dir : Path, optional
        Folder of ``report.md``; PNG images referenced by file name are embedded from it.
    title : str
        The page title (escaped).

    Returns
    -------
    str
        HTML5 text.
    """
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    md.validateLink = _local_link  # a link or image pointing anywhere else is shown as text
    body = md.render(markdown_text)
    if base_dir is not None:
        body = _inline_images(body, Path(base_dir))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")


def write_report_html(report_md: Path, path: Path | None = None) -> Path:
    """Write ``report.html`` beside ``report.md`` (or to ``path``); returns the path written."""
    report_md = Path(report_md)
    text = report_md.read_text(encoding="utf-8")
    first = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("# ")), "Cluster map report")
    out = Path(path) if path is not None else report_md.with_suffix(".html")
    out.write_text(render_report_html(text, base_dir=report_md.parent, title=first), encoding="utf-8")
    return out
