"""Lecture slides from executed notebooks: slide structure, fitting, and the overflow check.

Slide structure (`slide_notebook`), per cell, first rule that applies:
  1. `metadata.slideshow.slide_type` set in the notebook (slide / subslide / fragment / skip / notes / -)
     is kept as the author wrote it;
  2. tags: `notes` -> speaker notes (reveal.js notes plugin, key S), `slide-skip` -> not on slides;
  3. markdown: a cell that opens with a heading starts a slide; the cells of the final "Exercises"
     section (`exercises.EXERCISES_HEADING`) stay off the slides, except their heading;
  4. code: the input is hidden unless the cell is tagged `slide-code`; stderr is dropped; a cell
     whose outputs include a figure (plotly placeholder or image) starts a subslide, so the figure
     gets a slide of its own; a cell left with nothing to show is skipped, except that outputs
     holding only a script (the setup cell's plotly bundle) stay on the page, invisible.
Long markdown is cut into blocks (paragraphs, lists, display formulas; never inside a code fence
or a $$ block) and the blocks are packed onto subslides by an estimate of their height at
1280x720. `fit_slides` then measures every slide in Chromium and re-packs the slides that still
overflow with a smaller budget (a few rounds), so a notebook added later needs no hand layout.

In the page (templates/alignmix-reveal), `alignmixFit` sizes what can be sized: a plot's height is
set to the room left on its slide (never under MIN_PLOT px), display formulas, tables and code
wider than the slide are scaled down. What cannot shrink (text) is the packing's job.

`slide_report` measures one slide deck in a browser page: for every slide, the content box of the
present slide (the union of its elements' boxes) against the viewport, and any element that clips
its own content (overflow hidden/auto with more content than room).
"""
from __future__ import annotations

import copy
import re

SLIDE_W, SLIDE_H = 1280, 720
# Estimated heights at the slide's logical size (font sizes set in templates/alignmix-reveal).
LINE_PX, CHARS_PER_LINE, BLOCK_GAP_PX = 32, 115, 18
HEADING_PX = {1: 80, 2: 66, 3: 56}
FORMULA_PX, TABLE_ROW_PX, STREAM_LINE_PX, CODE_LINE_PX = 64, 44, 26, 26
BUDGET_PX = 580  # of the 720: reveal's margin, padding, slide number
MAX_STREAM_LINES = 14  # a longer printout shows its last lines on slides (the handout has all)

FIGURE = re.compile(r'class="alignmix-plot"|<img\b')
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s")


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def explicit_type(cell) -> str | None:
    return cell.metadata.get("slideshow", {}).get("slide_type")


def markdown_blocks(source: str) -> list[str]:
    """Blocks of a markdown text split at blank lines, never inside ``` fences or $$ ... $$, nor before a display formula."""
    blocks, current, fence, math = [], [], False, False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = not fence
        elif not fence and stripped.count("$$") % 2 == 1:
            math = not math
        if not stripped and not fence and not math:
            if current:
                blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    # A display formula stays with the sentence that leads into it.
    kept: list[str] = []
    for block in blocks:
        if kept and block.lstrip().startswith(("$$", "\\[", "\\begin")):
            kept[-1] += "\n\n" + block
        else:
            kept.append(block)
    return kept


def block_height(block: str) -> int:
    m = HEADING.match(block)
    if m and "\n" not in block.strip():
        return HEADING_PX.get(len(m.group(1)), 50)
    height = 0
    for line in block.split("\n"):
        if line.strip().startswith("$$") or line.strip().startswith("\\["):
            height += FORMULA_PX
        elif line.strip().startswith("|"):
            height += TABLE_ROW_PX
        elif line.strip():
            height += LINE_PX * max(1, -(-len(line) // CHARS_PER_LINE))
    return height + BLOCK_GAP_PX


def visible_outputs(cell) -> list:
    """The outputs a slide shows: stderr dropped, long stdout cut to its last lines."""
    kept = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            if out.get("name") != "stdout":
                continue
            lines = out.get("text", "").rstrip("\n").split("\n")
            if len(lines) > MAX_STREAM_LINES:
                out = copy.deepcopy(out)
                out["text"] = "\n".join(["…", *lines[-MAX_STREAM_LINES:]]) + "\n"
        kept.append(out)
    return kept


def html_of(out) -> str:
    return out.get("data", {}).get("text/html", "") if out.get("output_type") in ("display_data", "execute_result") else ""


def script_only(out) -> bool:
    html = html_of(out).strip()
    return html.startswith("<script") and html.endswith("</script>") and html.count("<script") == 1


def output_height(out) -> int:
    if out.get("output_type") == "stream":
        return STREAM_LINE_PX * out.get("text", "").count("\n") + BLOCK_GAP_PX
    html = html_of(out)
    if script_only(out):
        return 0
    if FIGURE.search(html):
        return 300  # plots are sized to the room left (alignmixFit), at least MIN_PLOT px
    if "<table" in html:
        return TABLE_ROW_PX * (html.count("<tr") + 1) + BLOCK_GAP_PX
    text = out.get("data", {}).get("text/plain", "")
    return STREAM_LINE_PX * (text.count("\n") + 1) + BLOCK_GAP_PX


def slide_notebook(nb, exercises_heading: str, budget: dict[int, float] | None = None):
    """
    A copy of `nb` laid out as slides (rules in the module docstring). `budget` maps a source cell
    index to a factor on BUDGET_PX for the blocks cut from that cell and the cells packed after it
    (fit_slides lowers it where a slide overflowed). Each cell of the result records its source
    cell in metadata.slideshow.data.source, which reveal's template writes on the <section> as
    data-source, so a measured slide can be traced back.
    """
    import nbformat

    budget = budget or {}
    out = copy.deepcopy(nb)
    cells = []
    used = 0.0  # estimated height on the current subslide
    in_exercises = False
    for index, cell in enumerate(nb.cells):
        factor = budget.get(index, 1.0)
        room = BUDGET_PX * factor
        kind = explicit_type(cell)
        cell_tags = tags(cell)
        if cell.cell_type == "markdown" and HEADING.match(cell.source):
            level = len(HEADING.match(cell.source).group(1))
            if level <= 2:
                in_exercises = cell.source.lstrip().split("\n")[0].lstrip("# ").strip().lower() == exercises_heading.lower()
        if kind is None and "notes" in cell_tags:
            kind = "notes"
        if kind is None and ("slide-skip" in cell_tags or (in_exercises and not HEADING.match(cell.source))):
            kind = "skip"
        if kind in ("skip", "notes"):
            cells.append(with_type(cell, kind, index))
            continue
        if cell.cell_type == "markdown":
            blocks = markdown_blocks(cell.source) or [cell.source]
            first_type = kind or ("slide" if HEADING.match(cell.source) else None)
            for n, block in enumerate(blocks):
                h = block_height(block)
                if n == 0 and first_type in ("slide", "subslide"):
                    slide_type, used = first_type, h
                elif used + h > room and used > 0:
                    slide_type, used = "subslide", h
                else:
                    slide_type, used = (kind if n == 0 and kind else "-"), used + h
                piece = nbformat.v4.new_markdown_cell(block, metadata=copy.deepcopy(cell.metadata))
                cells.append(with_type(piece, slide_type, index))
        elif cell.cell_type == "code":
            show_code = "slide-code" in cell_tags
            outputs = visible_outputs(cell)
            shown_outputs = [o for o in outputs if not script_only(o)]
            if not show_code and not shown_outputs:
                # Nothing to see; outputs that are scripts the page needs (plotly bundle) stay, invisible.
                cells.append(with_type(code_piece(cell, outputs, False), kind or "-" if outputs else "skip", index))
                continue
            for n, group in enumerate(output_groups(outputs, split=not show_code)):
                piece = code_piece(cell, group, show_code and n == 0, n)
                h = sum(output_height(o) for o in group)
                if show_code and n == 0:
                    h += CODE_LINE_PX * (cell.source.count("\n") + 1) + BLOCK_GAP_PX
                has_figure = any(FIGURE.search(html_of(o)) for o in group)
                if kind and n == 0:
                    slide_type = kind
                    used = h if kind in ("slide", "subslide") else used + h
                elif has_figure or (used + h > room and used > 0):
                    slide_type, used = "subslide", h
                if has_figure:
                    used = room  # the figure is sized to the rest of its slide: nothing follows it there
                else:
                    slide_type, used = "-", used + h
                cells.append(with_type(piece, slide_type, index))
        else:
            cells.append(with_type(copy.deepcopy(cell), kind or "-", index))
    out.cells = cells
    return out


def output_groups(outputs: list, split: bool) -> list[list]:
    """Outputs cut so that each figure is alone in its group (so on a subslide of its own)."""
    if not split:
        return [outputs]
    groups: list[list] = []
    for out in outputs:
        figure = FIGURE.search(html_of(out)) is not None
        if figure or not groups or groups[-1][-1:] and FIGURE.search(html_of(groups[-1][-1])):
            groups.append([out])
        else:
            groups[-1].append(out)
    return groups


def code_piece(cell, outputs: list, show_code: bool, part: int = 0):
    """A copy of a code cell with `outputs`, its input hidden unless `show_code`."""
    piece = copy.deepcopy(cell)
    piece.outputs = outputs
    if "id" in piece and part:
        piece.id = f"{piece.id}-{part}"
    if not show_code:
        piece.metadata.setdefault("transient", {})["remove_source"] = True
    return piece


def with_type(cell, slide_type: str, source_index: int):
    show = cell.metadata.setdefault("slideshow", {})
    show["slide_type"] = slide_type
    show["data"] = {"source": str(source_index)}
    return cell


# In-page measurement of every slide, at the page's viewport. Returns a list of
# {h, v, source, title, width, height, overflow: [..], clipped: [..]} for every slide.
MEASURE_JS = r"""
(async () => {
  const R = window.Reveal;
  R.configure({ transition: 'none', backgroundTransition: 'none' });
  const vw = innerWidth, vh = innerHeight, slack = 1;
  const out = [];
  const horizontals = [...document.querySelectorAll('.reveal .slides > section')];
  for (let h = 0; h < horizontals.length; h++) {
    const verticals = horizontals[h].querySelectorAll(':scope > section');
    const count = verticals.length || 1;
    for (let v = 0; v < count; v++) {
      R.slide(h, v, Number.MAX_SAFE_INTEGER);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      if (window.alignmixFit) await window.alignmixFit();
      const slide = R.getCurrentSlide();
      const box = { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity };
      const clipped = [];
      // MathJax's assistive MathML is clipped to 1 px on purpose: not content.
      const shown = (el) => {
        if (el.closest('aside.notes, mjx-assistive-mml') || (el.closest('svg') && el.tagName.toLowerCase() !== 'svg')) return null;
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) return null;
        const style = getComputedStyle(el);
        return style.visibility === 'hidden' || style.display === 'none' ? null : r;
      };
      for (const el of slide.querySelectorAll('*')) {
        const r = shown(el);
        if (!r) continue;
        box.left = Math.min(box.left, r.left); box.top = Math.min(box.top, r.top);
        box.right = Math.max(box.right, r.right); box.bottom = Math.max(box.bottom, r.bottom);
        const style = getComputedStyle(el);
        if (!/(hidden|auto|scroll|clip)/.test(style.overflowX + style.overflowY)) continue;
        if (el.scrollWidth <= el.clientWidth + slack && el.scrollHeight <= el.clientHeight + slack) continue;
        if (el.matches('.js-plotly-plot *, mjx-container *')) continue;
        // Clipped when a visible descendant reaches outside the element's box.
        let right = r.right, bottom = r.bottom;
        for (const child of el.querySelectorAll('*')) {
          const c = shown(child);
          if (c) { right = Math.max(right, c.right); bottom = Math.max(bottom, c.bottom); }
        }
        if (right > r.right + slack || bottom > r.bottom + slack) {
          const name = el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '');
          clipped.push(`${name} shows ${Math.round(r.width)}x${Math.round(r.height)} px of ${Math.round(right - r.left)}x${Math.round(bottom - r.top)}`);
        }
      }
      const overflow = [];
      if (box.left < -slack) overflow.push(`content starts ${Math.round(-box.left)} px left of the viewport`);
      if (box.top < -slack) overflow.push(`content starts ${Math.round(-box.top)} px above the viewport`);
      if (box.right > vw + slack) overflow.push(`content ends ${Math.round(box.right - vw)} px right of the viewport`);
      if (box.bottom > vh + slack) overflow.push(`content ends ${Math.round(box.bottom - vh)} px below the viewport`);
      const heading = slide.querySelector('h1, h2, h3, h4');
      const section = slide.closest('section[data-source]') || slide;
      out.push({ h, v, source: Number(slide.dataset.source ?? section.dataset.source ?? -1),
                 title: heading ? heading.textContent.replace('¶', '').trim() : '',
                 height: Math.round(box.bottom - box.top), overflow, clipped });
    }
  }
  return out;
})()
"""

# The deck is ready when reveal.js started, MathJax typeset and every plot is drawn.
READY_JS = (
    "window.Reveal && Reveal.isReady() && window.MathJax && MathJax.startup && MathJax.startup.document"
    " && !document.querySelector('.alignmix-plot:not(.js-plotly-plot)')"
)


def slide_report(page, url: str, timeout: float = 60.0) -> list[dict] | None:
    if not page.goto(url, READY_JS, timeout):
        return None
    page.evaluate("MathJax.startup.promise")
    return page.evaluate(MEASURE_JS, timeout=300)


def problems_of(report: list[dict]) -> list[dict]:
    return [s for s in report if s["overflow"] or s["clipped"]]


def describe(name: str, slide: dict, viewport: tuple[int, int]) -> str:
    where = f"{name} slide {slide['h'] + 1}.{slide['v'] + 1}" + (f" '{slide['title']}'" if slide["title"] else "")
    what = "; ".join(slide["overflow"] + [f"clips: {c}" for c in slide["clipped"][:3]])
    return f"{where} at {viewport[0]}x{viewport[1]}: {what} (from cell {slide['source']})"


MAX_ROUNDS = 4


def export_fitted_slides(nb, exporter, target, browser, exercises_heading: str) -> tuple[object, int]:
    """
    Write `nb` as a reveal.js deck to `target`, laid out by slide_notebook; measure it at
    SLIDE_W x SLIDE_H in `browser` and, while a slide overflows, lower the packing budget of the
    source cells on that slide and write it again (at most MAX_ROUNDS layouts). Returns (target,
    rounds). Slides that still overflow are left for the slide-fit check to report.
    """
    budget: dict[int, float] = {}
    page = browser.page(SLIDE_W, SLIDE_H)
    try:
        for rounds in range(1, MAX_ROUNDS + 1):
            name = target.name.removesuffix(".slides.html")
            body, _ = exporter.from_notebook_node(slide_notebook(nb, exercises_heading, budget), resources={"metadata": {"name": name}})
            target.write_text(body, encoding="utf-8")
            if rounds == MAX_ROUNDS:
                break
            report = slide_report(page, target.resolve().as_uri())
            if report is None:
                break  # the deck did not start: the render and fit checks report it
            bad = problems_of(report)
            if not bad:
                break
            starts = sorted({s["source"] for s in report})
            for slide in bad:
                later = [i for i in starts if i > slide["source"]]
                for index in range(slide["source"], later[0] if later else len(nb.cells)):
                    budget[index] = budget.get(index, 1.0) * 0.7
    finally:
        page.close()
    return target, rounds


VIEWPORTS = [(1280, 720), (1920, 1080)]


def check_decks(decks: list, browser, say) -> bool:
    """The slide-fit check: every slide of every deck, at every VIEWPORTS size, in one browser."""
    ok = True
    page = browser.page(*VIEWPORTS[0])
    try:
        for deck in decks:
            name = deck.name.removesuffix(".slides.html")
            for n, (width, height) in enumerate(VIEWPORTS):
                page.viewport(width, height)  # reveal.js lays the deck out again on the resize
                report = slide_report(page, deck.resolve().as_uri()) if n == 0 else page.evaluate(MEASURE_JS, timeout=300)
                if report is None:
                    say(f"FAIL {deck.name}: the deck did not get ready (reveal.js, MathJax, plots)")
                    ok = False
                    break
                bad = problems_of(report)
                say(f"{'FAIL' if bad else 'ok  '} {deck.name} at {width}x{height}: {len(report) - len(bad)}/{len(report)} slides fit")
                for slide in bad:
                    say("     " + describe(name, slide, (width, height)))
                ok = ok and not bad
    finally:
        page.close()
    return ok
