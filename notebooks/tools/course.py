"""The course page, build/notebooks/export/index.html: every notebook in order with the question it
answers and links to its page, slides, handout PDF, student and instructor notebooks, and the
course PDF. Links are relative, so the folder works opened from disk (file://) and from any static
web server.

Questions come from the README's notebook table (`| \\`NN-name\\` | question | quick setting |`);
a notebook the table does not list yet gets its first heading instead, so a new notebook appears
without editing anything here.

`check_index` opens the page in Chromium twice: from file:// (every link must name a file that
exists in the folder) and from `python3 -m http.server` on 127.0.0.1 (every link must answer
HTTP 200, fetched by the page itself).
"""
from __future__ import annotations

import html
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

TABLE_ROW = re.compile(r"^\|\s*(`[^|]+`)\s*\|\s*([^|]+?)\s*\|")
HEADING = re.compile(r"^\s{0,3}#\s+(.*)$", re.M)


def readme_questions(readme: Path) -> dict[str, str]:
    """Notebook name -> question, from the README's notebook table."""
    found: dict[str, str] = {}
    for line in readme.read_text(encoding="utf-8").split("\n"):
        m = TABLE_ROW.match(line)
        if m:
            for name in re.findall(r"`([^`]+)`", m.group(1)):
                found[name.removesuffix(".ipynb")] = re.sub(r"`([^`]*)`", r"\1", m.group(2))
    return found


def first_heading(notebook: Path) -> str:
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = HEADING.search(cell.source)
            if m:
                return m.group(1).strip()
    return notebook.stem


def build_index(notebooks: list[Path], out: Path, readme: Path, course_pdf: str, folders: tuple[str, str]) -> Path:
    """Write out/index.html for `notebooks` (source paths, in course order)."""
    questions = readme_questions(readme)
    student, instructor = folders
    rows = []
    for nb in notebooks:
        stem = nb.stem
        question = questions.get(stem) or first_heading(nb)
        links = [
            (f"{stem}.html", "page"),
            (f"{stem}.slides.html", "slides"),
            (f"{stem}.pdf", "handout PDF"),
            (f"{student}/{stem}.ipynb", "student notebook"),
            (f"{instructor}/{stem}.ipynb", "instructor notebook"),
        ]
        cells = " ".join(
            f'<a href="{html.escape(href)}">{label}</a>' if (out / href).exists() else f'<span class="missing">{label} (not exported)</span>'
            for href, label in links
        )
        rows.append(f"<tr><td><code>{html.escape(stem)}</code></td><td>{html.escape(question)}</td><td class=\"links\">{cells}</td></tr>")
    course = f'<p><a href="{course_pdf}">The whole course as one PDF</a></p>' if (out / course_pdf).exists() else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>alignmix: AlignMixup lecture notebooks</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .5em; text-align: left; vertical-align: top; }}
td.links a, td.links span {{ margin-right: .8em; white-space: nowrap; }}
.missing {{ color: #999; }}
</style></head>
<body>
<h1>AlignMixup: lecture notebooks</h1>
<p>Each notebook answers one question. <b>Page</b>: the executed notebook; <b>slides</b>: reveal.js
(S opens the speaker notes); <b>handout PDF</b>: for printing; <b>student notebook</b>: exercises
with stubs and checks; <b>instructor notebook</b>: with solutions. Open the notebooks with
<code>npm run lab</code> from the repository.</p>
{course}
<table id="notebooks"><thead><tr><th>notebook</th><th>question</th><th>material</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""
    target = out / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LINKS_JS = "[...document.querySelectorAll('a[href]')].map((a) => a.href)"
HTTP_STATUS_JS = "Promise.all([...document.querySelectorAll('a[href]')].map((a) => fetch(a.href, { method: 'HEAD' }).then((r) => [a.getAttribute('href'), r.status], (e) => [a.getAttribute('href'), String(e)])))"


def check_index(index: Path, notebooks: int, browser, say) -> bool:
    """The course page from file:// and over HTTP (module docstring)."""
    problems: list[str] = []
    links: list[str] = []
    statuses: list[list] = []
    page = browser.page()
    server = None
    try:
        if not page.goto(index.resolve().as_uri(), "document.querySelector('#notebooks')"):
            problems.append("file://: the page did not load")
        else:
            rows = page.evaluate("document.querySelectorAll('#notebooks tbody tr').length")
            if rows != notebooks:
                problems.append(f"file://: {rows} notebook rows, {notebooks} notebooks exported")
            links = page.evaluate(LINKS_JS)
            missing = [u for u in links if not Path(unquote(urlparse(u).path)).exists()]
            problems += [f"file://: link to a missing file {m}" for m in missing]
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(index.parent)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/{index.name}"
        loaded = False
        for _ in range(50):  # the server needs a moment to bind
            if page.goto(url, "document.querySelector('#notebooks')", timeout=5):
                loaded = True
                break
            time.sleep(0.2)
        if not loaded:
            problems.append(f"http: {url} did not load")
        else:
            statuses = page.evaluate(HTTP_STATUS_JS)
            problems += [f"http: {href} answered {status}" for href, status in statuses if status != 200]
    finally:
        page.close()
        if server:
            server.terminate()
            server.wait(timeout=10)
    say(f"{'FAIL' if problems else 'ok  '} {index.name}: {notebooks} notebooks; links resolve from file:// ({len(links)}) and over HTTP ({len(statuses)})")
    for p in problems:
        say(f"     {p}")
    return not problems
