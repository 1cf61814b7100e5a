"""Handouts: each exported notebook page printed to PDF by Chromium, one course PDF, and their check.

Printing (`print_handout`): the page (NAME.html, the alignmix-lab template, whose print CSS sets A4,
hides prompts, wraps code and keeps figures, formulas, tables and headings whole) is laid out at
the printed column's width (PAGE_COLUMN_PX), so the plots, which follow their container's width,
are drawn for the paper; alignmixFit caps a plot's height at one page. Chromium prints plotly's
SVG as vector paths.

The check (`check_pdf`) looks at the printed pages, not at the HTML: the same page is printed a
second time with a marker bar over the top edge of each figure (magenta) and over its bottom edge
(green). The bars take no room, so both prints break pages at the same places. `pdftoppm` (poppler-utils)
renders that marker copy without anti-aliasing, and on every page each magenta line must be
followed by a green one spanning the same columns, with ink between them. A figure cut by a page
break leaves a line without its partner, an empty figure leaves no ink, and a figure missing
from the print leaves fewer frames than the page has figures: each of these fails, naming the
notebook, page and figure.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

PAGE_COLUMN_PX = 688  # A4 (210 mm) less 2 x 14 mm margins, at 96 CSS px per inch
PAGE_HEIGHT_PX = 1000  # plots are capped below one printed page (297 mm less margins = 1016 px)
FIGURES = ".alignmix-plot, .jp-RenderedImage"
TOP, BOTTOM = b"\xff\x00\xff", b"\x00\xff\x00"
# Marker bars drawn over the first and last 6 px of each figure: absolutely placed pseudo-elements,
# so they take no room and the marker print breaks pages where the handout does.
MARKERS_CSS = "".join(
    f"{sel} {{ position: relative; }} "
    f"{sel}::before, {sel}::after {{ content: ''; position: absolute; left: 0; right: 0; height: 6px; z-index: 10000; }} "
    f"{sel}::before {{ top: 0; background: #ff00ff; }} {sel}::after {{ bottom: 0; background: #00ff00; }} "
    for sel in FIGURES.split(", ")
)
RENDER_DPI = 36
READY_JS = (
    "window.MathJax && MathJax.startup && MathJax.startup.document"
    " && !document.querySelector('.alignmix-plot:not(.js-plotly-plot)')"
)
FOOTER = (
    '<div style="font-size:7px;width:100%;text-align:center;color:#555">'
    '<span class="title"></span> · <span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def print_handout(page, html: Path, pdf: Path) -> tuple[bytes, int] | None:
    """Print `html` to `pdf`; returns (the marker print for check_pdf, number of figures), None if the page never got ready."""
    page.viewport(PAGE_COLUMN_PX, PAGE_HEIGHT_PX)
    if not page.goto(html.resolve().as_uri(), READY_JS):
        return None
    page.evaluate("MathJax.startup.promise")
    page.call("Emulation.setEmulatedMedia", {"media": "print"})
    page.evaluate(f"window.alignmixFit({{ page: true, maxPlotHeight: {PAGE_HEIGHT_PX - 80} }})")
    options = {"displayHeaderFooter": True, "headerTemplate": "<span></span>", "footerTemplate": FOOTER}
    pdf.write_bytes(page.pdf(**options))
    figures = page.evaluate(f"document.querySelectorAll({FIGURES!r}).length")
    page.evaluate(f"(() => {{ const s = document.createElement('style'); s.textContent = {MARKERS_CSS!r}; document.head.appendChild(s); }})()")
    marked = page.pdf(**options)
    page.call("Emulation.setEmulatedMedia", {"media": ""})
    return marked, figures


def ppm_pages(pdf: bytes, dpi: int = RENDER_DPI) -> list[tuple[int, int, bytes]]:
    """(width, height, RGB bytes) of each page, rendered by pdftoppm without anti-aliasing."""
    with tempfile.TemporaryDirectory(prefix="alignmix-pdf-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-aa", "no", "-aaVector", "no", str(src), str(Path(tmp) / "page")], check=True)
        pages = []
        for f in sorted(Path(tmp).glob("page-*.ppm"), key=lambda p: int(p.stem.split("-")[-1])):
            data = f.read_bytes()
            # P6 header: magic, width, height, maxval, each followed by whitespace.
            fields, at = [], 0
            while len(fields) < 4:
                while data[at : at + 1].isspace():
                    at += 1
                end = at
                while not data[end : end + 1].isspace():
                    end += 1
                fields.append(data[at:end])
                at = end
            width, height = int(fields[1]), int(fields[2])
            pages.append((width, height, data[at + 1 :]))
        return pages


def marker_lines(width: int, height: int, rgb: bytes, colour: bytes) -> list[tuple[int, int, int]]:
    """Horizontal runs of `colour` at least a tenth of the page wide: (row, first column, last column), one per line."""
    lines: list[tuple[int, int, int]] = []
    stride = 3 * width
    for y in range(height):
        row = rgb[y * stride : (y + 1) * stride]
        columns = [x for x in range(width) if row[3 * x : 3 * x + 3] == colour] if colour in row else []
        if len(columns) >= width // 10:
            if lines and lines[-1][0] >= y - 1:  # the same line, a row further down
                lines[-1] = (y, lines[-1][1], lines[-1][2])
            else:
                lines.append((y, columns[0], columns[-1]))
    return lines


def ink(width: int, rgb: bytes, top: int, bottom: int, left: int, right: int) -> float:
    """Share of non-white bytes in the box (rows top..bottom, columns left..right, exclusive)."""
    stride, total, dark = 3 * width, 0, 0
    for y in range(top + 1, bottom):
        seg = rgb[y * stride + 3 * (left + 1) : y * stride + 3 * right]
        total += len(seg)
        dark += len(seg) - seg.count(b"\xff")
    return dark / total if total else 0.0


def check_pdf(name: str, marked: bytes, figures: int, say) -> bool:
    """The handout check (module docstring) on the marker print of one notebook."""
    pages = ppm_pages(marked)
    problems = []
    frames = 0
    blank = [n + 1 for n, (w, h, rgb) in enumerate(pages) if rgb.count(b"\xff") > 0.9995 * len(rgb)]
    if blank:
        problems.append(f"blank page(s) {blank}")
    for n, (w, h, rgb) in enumerate(pages, start=1):
        tops, bottoms = marker_lines(w, h, rgb, TOP), marker_lines(w, h, rgb, BOTTOM)
        for y, x0, x1 in tops:
            partner = next((b for b in bottoms if b[0] > y and abs(b[1] - x0) <= 2 and abs(b[2] - x1) <= 2), None)
            if partner is None:
                problems.append(f"page {n}: a figure starting at {100 * y / h:.0f}% of the page is cut off (no bottom edge on this page)")
                continue
            bottoms.remove(partner)
            frames += 1
            share = ink(w, rgb, y, partner[0], x0, x1)
            if share < 0.005:
                problems.append(f"page {n}: the figure at {100 * y / h:.0f}% of the page is empty ({100 * share:.2f}% ink)")
        for y, _, _ in bottoms:
            problems.append(f"page {n}: a figure ending at {100 * y / h:.0f}% of the page began on an earlier page (split)")
    if frames != figures:
        problems.append(f"{frames} whole figures on the pages, the page has {figures}")
    say(f"{'FAIL' if problems else 'ok  '} {name}.pdf: {len(pages)} pages, {frames}/{figures} figures whole and drawn (checked on pages rendered by pdftoppm)")
    for p in problems:
        say(f"     {name}.pdf {p}")
    return not problems


def unite(pdfs: list[Path], target: Path) -> None:
    """One PDF of the course (poppler's pdfunite)."""
    subprocess.run(["pdfunite", *map(str, pdfs), str(target)], check=True)
