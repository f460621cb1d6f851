"""Great Expectations' Data Docs made self-contained: a version folder is an archive that must
open on a machine with no network.

GX's pages load Bootstrap, bootstrap-table, jQuery, Font Awesome, Vega and a logo from CDNs;
its index builds its list with JavaScript from those CDNs (blank offline), and the status of
each expectation is a web-font icon (pass and fail look alike offline). ``make_offline``:

- removes every remote stylesheet, script and image from the pages GX rendered (their content
  is server-side HTML and stays as GX wrote it: expectations, observed values, failing rows);
- replaces each status icon by a text badge (``✔ passed``, ``✖ failed``, ``⚠ error``);
- links a stylesheet and a small script of the project's own (``static/offline.css``,
  ``static/offline.js``: the "Failed only" filter GX wrote for jQuery, without it);
- writes the index as a plain HTML table (``index.html``): one row per validation with its
  status, table, source, rows, checks and failures, linked to GX's page; one row per suite.

No page of the site references anything outside the site folder afterwards.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

STATIC = Path(__file__).with_name("data_docs_static")
_REMOTE_TAG = re.compile(
    r"""<script[^>]*\bsrc=["']https?://[^"']*["'][^>]*>\s*</script>\s*"""
    r"""|<link[^>]*\bhref=["']https?://[^"']*["'][^>]*>\s*""",
    re.IGNORECASE,
)
_REMOTE_IMG = re.compile(r"""<img[^>]*\bsrc=["']https?://[^"']*["'][^>]*>""", re.IGNORECASE | re.DOTALL)
# GX's newsletter footer: an advertisement, and the one outbound link of a page.
_FOOTER = re.compile(r"<footer>\s*<p>Stay current on everything GX.*?</footer>\s*", re.DOTALL)
# GX's jQuery code, replaced by static/offline.js.
_JQUERY_SCRIPT = re.compile(r"<script>(?:(?!</script>).)*\$\((?:(?!</script>).)*</script>\s*", re.DOTALL)
_ICON = re.compile(r"""<i class="fas fa-[\w-]+ text-(success|danger|warning)"[^>]*></i>""")
BADGES = {"success": ("passed", "✔"), "danger": ("failed", "✖"), "warning": ("error", "⚠")}
REMOTE_REF = re.compile(r"""(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)


def _badge(match: re.Match[str]) -> str:
    word, mark = BADGES[match.group(1)]
    return f'<span class="status status-{word}" title="{word}">{mark} {word}</span>'


def offline_page(text: str, root: str) -> str:
    """One GX page without remote assets, its icons as text, linked to the local assets
    (``root``: the relative path from the page to the site folder, ending in ``/``)."""
    text = _REMOTE_TAG.sub("", text)
    text = _REMOTE_IMG.sub('<span class="ge-logo">Great Expectations</span>', text)
    text = _JQUERY_SCRIPT.sub("", text)
    text = _FOOTER.sub("", text)
    text = _ICON.sub(_badge, text)
    head = (
        f'<link rel="stylesheet" href="{root}static/offline.css">\n'
        f'<script src="{root}static/offline.js" defer></script>\n'
    )
    return text.replace("</head>", head + "</head>", 1)


def make_offline(site: Path, validations: list[dict[str, Any]], suites: list[str]) -> Path:
    """Rewrite the GX site in ``site`` to work offline and write its index (see module doc).

    ``validations``: one dict per validation (suite, source, success, evaluated, failed, rows,
    run_name, run_time, page: the page's path relative to ``site``)."""
    static = site / "static"
    static.mkdir(exist_ok=True)
    for name in ("offline.css", "offline.js"):
        (static / name).write_text((STATIC / name).read_text(encoding="utf-8"), encoding="utf-8")
    for page in site.rglob("*.html"):
        if page == site / "index.html":
            continue
        depth = len(page.relative_to(site).parts) - 1
        page.write_text(offline_page(page.read_text(encoding="utf-8"), "../" * depth), encoding="utf-8")
    index = site / "index.html"
    index.write_text(index_page(validations, suites), encoding="utf-8")
    _normal_permissions(site)
    return index


def index_page(validations: list[dict[str, Any]], suites: list[str]) -> str:
    """The site's index: every validation with its status, as HTML with no script."""
    e = html.escape
    passed = sum(1 for v in validations if v["success"])
    rows = []
    for v in validations:
        word, mark = ("passed", "✔") if v["success"] else ("failed", "✖")
        rows.append(
            f'<tr class="validation validation-{word}">'
            f'<td><span class="status status-{word}">{mark} {word}</span></td>'
            f'<td><a href="{e(v["page"])}">{e(v["suite"])}</a></td>'
            f'<td>{e(str(v["source"]))}</td>'
            f'<td class="num">{e(str(v["rows"]))}</td>'
            f'<td class="num">{v["evaluated"]}</td>'
            f'<td class="num">{v["failed"]}</td>'
            f'<td>{e(str(v["run_time"]))}</td>'
            "</tr>"
        )
    suite_rows = "".join(
        f'<li><a href="expectations/{e(s)}.html">{e(s)}</a></li>' for s in sorted(suites)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Data Docs | imgpipeline</title>
<link rel="shortcut icon" href="static/images/favicon.ico" type="image/x-icon">
<link rel="stylesheet" href="static/offline.css">
</head>
<body class="index">
<h1>Data Docs | imgpipeline</h1>
<p>Great Expectations validation results of this run: every check made before the version was
published. {passed} of {len(validations)} validations passed. Each table links to its page of
expectations and observed values.</p>
<h2>Validation Results</h2>
<table id="validations" class="table">
<thead><tr><th>status</th><th>table (suite)</th><th>source</th><th>rows</th><th>checks</th><th>failed</th><th>run time</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<h2>Expectation Suites</h2>
<ul id="suites">{suite_rows}</ul>
</body>
</html>
"""


def _normal_permissions(site: Path) -> None:
    """Folders and files as the process's umask makes them (a temporary folder is 0700)."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [site, *site.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
