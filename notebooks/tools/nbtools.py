"""Notebook tooling of the alignmix lab: execute, export, render-check, kernel conformance.

Run through the project environment (venv Python, JUPYTER_PATH -> kernel/, Jupyter dirs in .jupyter/):
    node environment/jupyter.js python notebooks/tools/nbtools.py COMMAND [options]
npm scripts: `npm run test:notebooks` = `test`, `npm run export` = `export`.

Commands
  run          execute notebooks (default notebooks/*.ipynb) headless on the alignmix kernel, cell by
               cell, in quick mode (ALIGNMIX_QUICK=1; --full to run the full work); executed copies go
               to build/notebooks/executed/ (signed, so they open trusted in `npm run lab`), with the
               last state of their Jupyter widgets in metadata.widgets (nbclient's store_widget_state;
               nbclient also plays the frontend of Output widgets, so their captured outputs are kept).
  export       executed copies -> build/notebooks/export/ (`--formats`, default all; names limit it to
               some notebooks, e.g. `npm run export -- 02-toy-alignment`):
                 html       NAME.html (nbconvert's lab template);
                 slides     NAME.slides.html, reveal.js, laid out to fit 1280x720 (slides.py: cell
                            metadata slideshow.slide_type and tags slide-code / notes / slide-skip,
                            defaults for the rest; re-packed where Chromium measures an overflow);
                 pdf        NAME.pdf, the handout: NAME.html printed by Chromium (handouts.py), checked
                            on its pages rendered by pdftoppm; with no names also alignmix-course.pdf;
                 notebooks  student/NAME.ipynb (solutions stubbed) and instructor/NAME.ipynb
                            (exercises.py; `--formats notebooks` exports just the student set);
                 index      index.html, the course page (course.py), checked from file:// and HTTP.
               Templates in notebooks/tools/templates/: MathJax 3, require.js and reveal.js come from
               copies of their npm packages in build/notebooks/export/vendor/, so nothing needs a
               network. Pages of notebooks with widgets also load the widget manager
               (@jupyter-widgets/html-manager's embed bundle, fetched once with `npm pack` into
               build/notebooks/npm/), which draws the widgets from the stored state. One headless
               Chromium (browser.py, DevTools protocol) serves every page.
  check-render open exported pages (default: every NAME.html and NAME.slides.html) in headless
               Chromium and check that every plot rendered, that MathJax typeset every formula of
               the markdown cells (as many mjx-container elements as formulas, no TeX errors), that
               the widget manager drew every widget output and, for slides, that reveal.js started.
  check-slides every slide of every deck (default: all NAME.slides.html) at 1280x720 and 1920x1080:
               fails on content outside the viewport or clipped inside an element, naming the
               notebook, the slide and the cell it comes from.
  exercises    each notebook's final Exercises section alone (not the whole notebook), student
               version then instructor version, in one kernel: the checks must fail on the stubs
               and pass with the solutions (exercises.py).
  conformance  jupyter_kernel_test protocol checks of the kernel (kernel_conformance.py; runs on the
               system Python that has Debian's python3-jupyter-kernel-test).
  widgets      Jupyter widgets end to end (widget_protocol.py, on this venv's Python): plays the
               frontend over jupyter_client against lib/display/widgets.ts in the kernel and compares
               every model's state with Python's ipywidgets.
  test         conformance + widgets + run + export (all formats, PDF check included) + check-render +
               exercises + check-slides; exit status 1 on any failure.

When a cell counts as failed (the notebook stops there, later notebooks still run):
  1. the kernel answers the execute request with status 'error' or 'aborted' (a thrown error, a
     TypeScript compile error, a rejected top-level await, an interrupt), or the cell times out, or
     the kernel dies;
  2. the cell has an `error` output (the alignmix kernel reports errors that way, with ename,
     evalue and a traceback in cell lines);
  3. the cell's stderr stream has a line that starts with an error name (`Error`, `TypeError:`,
     `SomethingException`, `UncaughtAsyncError`) or a JavaScript stack frame (`    at f
     (file.ts:3:7)`): code that catches an error and prints it, and errors of async work that
     outlives its cell (a timer, a forgotten promise), which the kernel reports on the cell that
     started it and, as an `UncaughtAsyncError from In[n]` line, on the cell running then. Other
     stderr text (warnings) is not a failure.
Cells run one at a time and the run stops at the first failure (the kernel aborts execute requests
queued behind a failed one, as ipykernel does).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import course
import exercises
import handouts
import slides
from browser import CHROMIUM_FLAGS, Browser, chromium_binary

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
BUILD = REPO / "build" / "notebooks"
EXECUTED = BUILD / "executed"
EXPORTED = BUILD / "export"
KERNEL_NAME = "alignmix"
STUDENT, INSTRUCTOR = "student", "instructor"  # export sub-folders of the exercise notebooks

ERROR_LINE = re.compile(r"^(?:\w*(?:Error|Exception)\b|Uncaught\w*\b)", re.M)
STACK_LINE = re.compile(r"^\s+at \S.*:\d+:\d+\)?\s*$", re.M)
# A plot placeholder's opening tag (nbconvert re-serialises outputs, so attribute order varies).
DIV_TAG = re.compile(r"<div\b[^>]*>")
PLOT_ID = re.compile(r'\bid="(alignmix-plot-[\w-]+)"')
# A widget output of an exported page, and what the widget manager draws for it: a div.widget-subarea
# inserted before the view's script, holding the view's element (class jupyter-widgets); every
# element it draws carries jupyter-widgets plus a widget-<kind> class (widget-slider, widget-vbox...).
WIDGET_VIEW = '<script type="application/vnd.jupyter.widget-view+json">'
DRAWN_VIEW = re.compile(r'<div class="widget-subarea"><\w+\b[^>]*\bclass="[^"]*\bjupyter-widgets\b')
DRAWN_ELEMENT = re.compile(r'\bclass="(?=[^"]*\bjupyter-widgets\b)(?=[^"]*\bwidget-[a-z])[^"]*"')


def say(msg: str) -> None:
    print(f"[nbtools] {msg}", flush=True)


def shown(path: Path) -> str:
    """`path` relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def notebook_paths(names: list[str]) -> list[Path]:
    if not names:
        return sorted(NOTEBOOKS.glob("*.ipynb"))
    paths = []
    for name in names:
        # A path, or a name in notebooks/ with or without its .ipynb suffix.
        candidates = [Path(name), NOTEBOOKS / name, NOTEBOOKS / f"{name}.ipynb"]
        p = next((c for c in candidates if c.is_file()), None)
        if p is None:
            raise SystemExit(f"[nbtools] no notebook {name!r} (looked in . and {NOTEBOOKS}, also with .ipynb)")
        paths.append(p.resolve())
    return paths


# ---------------------------------------------------------------------------------------------
# run


def cell_problem(cell, reply_status: str | None) -> str | None:
    """Why a code cell failed, or None (rules in the module docstring)."""
    if reply_status in ("error", "aborted"):
        return f"the kernel replied status '{reply_status}'"
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"error output {out.get('ename', '')}: {out.get('evalue', '')}"
    stderr = stderr_text(cell)
    m = ERROR_LINE.search(stderr) or STACK_LINE.search(stderr)
    if m:
        return f"stderr reports an error: {m.group(0).strip()!r}"
    return None


def stderr_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr")


def report_failure(path: Path, index: int, cell, reason: str) -> None:
    print(f"\n[nbtools] FAILED {shown(path)}, cell {index} ({reason})", flush=True)
    print("----- cell source -----")
    print(cell.source)
    stderr = stderr_text(cell)
    if stderr:
        print("----- cell stderr -----")
        print(stderr.rstrip())
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            print("----- error output -----")
            print("\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}")
    print("-----------------------", flush=True)


def execute_notebook(path: Path, out_dir: Path, timeout: int) -> bool:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbformat.sign import NotebookNotary

    nb = nbformat.read(path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != KERNEL_NAME:
        print(f"[nbtools] FAILED {path.name}: metadata.kernelspec.name is {kernel!r}, expected {KERNEL_NAME!r}")
        return False
    client = NotebookClient(
        nb, kernel_name=KERNEL_NAME, timeout=timeout, startup_timeout=120, store_widget_state=True, resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.monotonic()
    failed = None
    code_cells = 0
    with client.setup_kernel():
        info = client.wait_for_reply(client.kc.kernel_info())
        nb.metadata["language_info"] = info["content"]["language_info"]
        kernel_ready = time.monotonic() - started
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            code_cells += 1
            status = "ok"
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellExecutionError:
                status = "error"
            except CellTimeoutError:
                failed = (index, cell, f"timed out after {timeout} s")
            except DeadKernelError:
                failed = (index, cell, "the kernel died")
            if failed is None:
                reason = cell_problem(cell, status)
                if reason:
                    failed = (index, cell, reason)
            if failed:
                break
    elapsed = time.monotonic() - started
    # nbclient's execute() does this at its end; cells run one by one here, so it is done by hand.
    client.set_widgets_metadata()
    out_dir.mkdir(parents=True, exist_ok=True)
    NotebookNotary().sign(nb)
    target = out_dir / path.name
    nbformat.write(nb, target)
    if failed:
        report_failure(path, *failed)
        return False
    say(f"ok   {path.name}: {code_cells} code cells in {elapsed:.1f} s (kernel ready after {kernel_ready:.1f} s) -> {shown(target)}")
    return True


def cmd_run(args) -> int:
    if args.full:
        os.environ.pop("ALIGNMIX_QUICK", None)
    else:
        os.environ["ALIGNMIX_QUICK"] = "1"
    say(f"executing on kernel '{KERNEL_NAME}' ({'full' if args.full else 'quick'} mode, ALIGNMIX_QUICK={os.environ.get('ALIGNMIX_QUICK', 'unset')})")
    paths = notebook_paths(args.notebooks)
    if not paths:
        say("no notebooks found")
        return 1
    results = [execute_notebook(p, args.out, args.timeout) for p in paths]
    failed = results.count(False)
    print(f"notebooks: {len(results) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# export


TEMPLATES = Path(__file__).with_name("templates")
NODE_MODULES = REPO / "node_modules"

# What exported pages load, from the npm packages (devDependencies), copied into <export>/vendor/:
# the export folder then works offline and stays whole when moved or served. MathJax is the
# "-full" combined component: the smaller tex-mml-chtml.js fetches TeX extensions (\boldsymbol,
# \cancel, ...) from its folder at run time, which would need the whole 24 MB package; CHTML
# output loads its fonts from output/chtml/fonts/woff-v2 beside the script.
# The widget manager is @jupyter-widgets/html-manager's embed-amd.js (1.0.14: the release of
# ipywidgets 8.1.x; it defines @jupyter-widgets/base, controls and output itself, on require.js):
# only that bundle is needed, so the package is fetched with `npm pack` instead of installed (as a
# dependency it would bring ~130 packages, 127 MB, into node_modules).
# name: (npm package, source folder, parts copied, entry point), copied to vendor/<name>/.
HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.14"
NPM_PACKED = BUILD / "npm"
VENDORED = {
    "mathjax": ("mathjax@3", lambda: NODE_MODULES / "mathjax" / "es5", ["tex-chtml-full.js", "output/chtml/fonts/woff-v2"], "tex-chtml-full.js"),
    "requirejs": ("requirejs", lambda: NODE_MODULES / "requirejs", ["require.js"], "require.js"),
    "reveal.js": ("reveal.js@4", lambda: NODE_MODULES / "reveal.js", ["dist/reveal.js", "dist/reveal.css", "dist/theme", "plugin/notes/notes.js"], ""),
    "html-manager": (HTML_MANAGER, lambda: npm_packed(HTML_MANAGER), ["dist/embed-amd.js"], "dist/embed-amd.js"),
}


def npm_packed(spec: str) -> Path:
    """The unpacked folder of npm package `spec` (name@version), fetched once with `npm pack` into build/notebooks/npm/."""
    target = NPM_PACKED / spec.replace("/", "+")
    if (target / "package.json").is_file():
        return target
    NPM_PACKED.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=NPM_PACKED) as tmp:
        say(f"fetching {spec} (npm pack)")
        r = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", tmp], capture_output=True, text=True, cwd=tmp)
        if r.returncode != 0:
            raise SystemExit(f"[nbtools] export needs the npm package {spec}: `npm pack {spec}` failed:\n{r.stderr.strip()[-1500:]}")
        tarball = Path(tmp) / json.loads(r.stdout)[0]["filename"]
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")  # npm tarballs hold one folder, package/
        os.replace(Path(tmp) / "package", target)
    return target


def relative_url(target: str, out_dir: Path) -> str:
    """A local path becomes a URL relative to the exported file; URLs pass through."""
    if re.match(r"^[a-z]+://", target):
        return target
    return Path(os.path.relpath(Path(target).resolve(), out_dir.resolve())).as_posix()


def asset_url(name: str, given: str | None, out_dir: Path) -> str:
    """URL of a page asset: `given` (path or URL) if set, else the vendored copy (copied now)."""
    if given:
        return relative_url(given, out_dir)
    package, locate, parts, entry = VENDORED[name]
    source = locate()
    if not all((source / part).exists() for part in parts):
        raise SystemExit(f"[nbtools] export needs the npm package {package} ({shown(source)} is incomplete): run `npm install`")
    target = out_dir / "vendor" / name
    for part in parts:
        src, dst = source / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    return f"vendor/{name}/{entry}".rstrip("/")


COURSE_PDF = "alignmix-course.pdf"


def export_handout(browser, html: Path, pdf: Path) -> bool:
    """NAME.pdf from the exported NAME.html, checked on its rendered pages (handouts.check_pdf)."""
    if not html.exists():
        say(f"FAIL {pdf.name}: {shown(html)} is missing (export --formats html,pdf)")
        return False
    started = time.monotonic()
    page = browser.page()
    try:
        printed = handouts.print_handout(page, html, pdf)
    finally:
        page.close()
    if printed is None:
        say(f"FAIL {pdf.name}: {html.name} did not get ready (MathJax, plots) to print")
        return False
    say(f"pdf    {pdf.name} ({pdf.stat().st_size / 1e6:.1f} MB, {time.monotonic() - started:.1f} s)")
    return handouts.check_pdf(pdf.stem, printed[0], printed[1], say)


def export_exercise_notebooks(stem: str, out: Path) -> None:
    """The student version (solutions stubbed, no outputs) and the instructor version (the source) of a notebook."""
    import nbformat

    source = NOTEBOOKS / f"{stem}.ipynb"
    if not source.exists():
        say(f"skip   {stem}: no source notebook {shown(source)} for the student/instructor versions")
        return
    nb = nbformat.read(source, as_version=4)
    for folder, version in ((STUDENT, exercises.student_notebook(nb, stem)), (INSTRUCTOR, nb)):
        (out / folder).mkdir(parents=True, exist_ok=True)
        nbformat.write(version, out / folder / f"{stem}.ipynb")
    solutions, checks = exercises.counts(nb)
    say(f"ipynb  {STUDENT}/{stem}.ipynb, {INSTRUCTOR}/{stem}.ipynb ({solutions} exercises stubbed)")


def cmd_exercises(args) -> int:
    paths = notebook_paths(args.notebooks)
    say(f"exercises: the {exercises.HEADING} section of each notebook alone, student version then instructor version, in one kernel")
    os.environ["ALIGNMIX_QUICK"] = "1"
    return 0 if exercises.run_sections(paths, KERNEL_NAME, args.timeout, cell_problem, say) else 1


def cmd_export(args) -> int:
    import nbformat
    from nbconvert import HTMLExporter, SlidesExporter

    sources = sorted(args.executed.glob("*.ipynb")) if not args.notebooks else [args.executed / f"{Path(n).name.removesuffix('.ipynb')}.ipynb" for n in args.notebooks]
    missing = [s for s in sources if not s.exists()]
    if not sources or missing:
        say(f"no executed notebook {[str(m) for m in missing] or ''} in {args.executed}: run `npm run test:notebooks` first")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    formats = set(args.formats.split(","))
    notebooks = [(src, nbformat.read(src, as_version=4)) for src in sources]
    common = {
        "extra_template_basedirs": [str(TEMPLATES)],
        "extra_template_paths": [str(TEMPLATES)],  # for the templates' shared/ macros
        "mathjax_url": asset_url("mathjax", args.mathjax, args.out),
        "require_js_url": asset_url("requirejs", args.require_js, args.out),
    }
    if any("widgets" in nb.metadata for _, nb in notebooks):
        common["widget_renderer_url"] = asset_url("html-manager", args.widgets_js, args.out)
    if "html" in formats:
        html_exporter = HTMLExporter(template_name="alignmix-lab", **common)
    if "slides" in formats:
        reveal = asset_url("reveal.js", args.reveal_prefix, args.out)
        slides_exporter = SlidesExporter(template_name="alignmix-reveal", reveal_url_prefix=reveal, reveal_width=str(slides.SLIDE_W), reveal_height=str(slides.SLIDE_H), **common)
    unknown = formats - {"html", "slides", "pdf", "notebooks", "index"}
    if unknown:
        raise SystemExit(f"[nbtools] --formats: unknown format(s) {sorted(unknown)} (html, slides, pdf, notebooks, index)")
    pdf_ok = True
    with contextlib.ExitStack() as stack:
        browser = stack.enter_context(Browser()) if formats & {"slides", "pdf"} else None
        for src, nb in notebooks:
            stem = src.stem
            if "html" in formats:
                started = time.monotonic()
                body, _ = html_exporter.from_notebook_node(nb, resources={"metadata": {"name": stem}})
                (args.out / f"{stem}.html").write_text(body, encoding="utf-8")
                say(f"html   {stem}.html ({len(body) / 1e6:.1f} MB, {time.monotonic() - started:.1f} s)")
            if "slides" in formats:
                started = time.monotonic()
                target, rounds = slides.export_fitted_slides(nb, slides_exporter, args.out / f"{stem}.slides.html", browser, exercises.HEADING)
                say(f"slides {target.name} ({target.stat().st_size / 1e6:.1f} MB, {rounds} layout round(s), {time.monotonic() - started:.1f} s; reveal.js at {reveal})")
            if "pdf" in formats:
                pdf_ok = export_handout(browser, args.out / f"{stem}.html", args.out / f"{stem}.pdf") and pdf_ok
            if "notebooks" in formats:
                export_exercise_notebooks(stem, args.out)
        if "pdf" in formats and not args.notebooks:
            handouts.unite([args.out / f"{s.stem}.pdf" for s in sources], args.out / COURSE_PDF)
            say(f"pdf    {COURSE_PDF} ({len(sources)} notebooks)")
        index_ok = True
        if "index" in formats:
            # The page lists every exported notebook, not only the ones exported by this call.
            listed = sorted({p.stem.removesuffix(".slides") for p in args.out.glob("*.html") if p.name != "index.html"})
            target = course.build_index([NOTEBOOKS / f"{n}.ipynb" for n in listed], args.out, REPO / "README.md", COURSE_PDF, (STUDENT, INSTRUCTOR))
            say(f"index  {shown(target)} ({len(listed)} notebooks)")
            index_ok = course.check_index(target, len(listed), browser or stack.enter_context(Browser()), say)
    if not (pdf_ok and index_ok):
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# check-render

def rendered_dom(html: Path, budget_ms: int) -> str:
    with tempfile.TemporaryDirectory(prefix="alignmix-chromium-") as profile:
        cmd = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", html.resolve().as_uri()]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"chromium exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r.stdout


def plot_divs(html: str) -> dict[str, str]:
    """Plot placeholder id -> its opening tag."""
    found = {}
    for tag in DIV_TAG.findall(html):
        m = PLOT_ID.search(tag)
        if m:
            found[m.group(1)] = tag
    return found


WIDGET_STATE = re.compile(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.S)


WIDGET_VIEW_JSON = re.compile(r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', re.S)
MODEL_REF = re.compile(r'IPY_MODEL_([0-9a-zA-Z_-]+)')


def widget_output_html(source: str) -> str:
    """
    The HTML outputs captured by the Output widgets that the page shows (the widget manager draws
    them): those reachable from a widget view of the page through the models' references. The
    stored state holds every widget of the notebook, also those of cells a slide deck leaves out.
    """
    models = {}
    for m in WIDGET_STATE.finditer(source):
        models.update(json.loads(m.group(1))["state"])
    shown, todo = set(), [json.loads(v)["model_id"] for v in WIDGET_VIEW_JSON.findall(source)]
    while todo:
        model_id = todo.pop()
        if model_id in shown or model_id not in models:
            continue
        shown.add(model_id)
        todo.extend(MODEL_REF.findall(json.dumps(models[model_id]["state"])))
    parts = []
    for model_id in sorted(shown):
        model = models[model_id]
        for out in model["state"].get("outputs", []) if model["model_name"] == "OutputModel" else []:
            html = out.get("data", {}).get("text/html", "")
            parts.append("".join(html) if isinstance(html, list) else html)
    return "\n".join(parts)


class MarkdownText(HTMLParser):
    """
    The text of an exported page's rendered markdown cells, cut into the runs in which MathJax
    looks for maths: MathJax never matches a formula across an element boundary other than <br>
    (its includeHtmlTags) and skips pre, code, script, style, textarea (its skipHtmlTags) and
    elements of class tex2jax_ignore.
    """

    SKIP = {"script", "noscript", "style", "textarea", "pre", "code", "annotation", "annotation-xml"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[str] = []
        self.depth = 0  # element depth inside the current markdown cell (0: outside)
        self.skip_depth = 0  # > 0 inside a skipped element
        self.run: list[str] = []

    def cut(self) -> None:
        if self.run:
            self.runs.append("".join(self.run))
        self.run = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("br", "wbr"):
            if self.depth and not self.skip_depth:
                self.run.append("\n" if tag == "br" else "")
            return
        self.cut()
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
            if self.skip_depth or tag in self.SKIP or "tex2jax_ignore" in classes:
                self.skip_depth += 1
        elif tag == "div" and "jp-RenderedMarkdown" in classes:
            self.depth = 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        self.cut()
        if self.depth:
            self.depth -= 1
            if self.skip_depth:
                self.skip_depth -= 1

    def handle_data(self, data):
        if self.depth and not self.skip_depth:
            self.run.append(data)


# MathJax's TeX delimiters as configured in templates/shared/mathjax3.html.j2 (processEscapes,
# processEnvironments): a start delimiter, or an escaped dollar.
TEX_START = re.compile(r"\$\$|\\\[|\\\(|\$|\\begin\s*\{([^}]*)\}|\\\$")
TEX_CLOSE = {"$$": "$$", "\\[": "\\]", "\\(": "\\)", "$": "$"}


def count_tex(text: str) -> int:
    """Formulas MathJax 3 finds in one text run (its FindTeX: the end delimiter must be at brace depth 0)."""
    found = 0
    at = 0
    while m := TEX_START.search(text, at):
        at = m.end()
        if m.group(0) == "\\$":
            continue
        close = re.escape(TEX_CLOSE[m.group(0)]) if m.group(1) is None else r"\\end\s*\{" + re.escape(m.group(1)) + r"\}"
        braces = 0
        for token in re.finditer(close + r"|\\.|[{}]", text[at:]):
            t = token.group(0)
            if re.fullmatch(close, t) and braces == 0:
                found += 1
                at += token.end()
                break
            if t == "{":
                braces += 1
            elif t == "}" and braces:
                braces -= 1
    return found


def expected_formulas(html: str) -> int:
    parser = MarkdownText()
    parser.feed(html)
    parser.close()
    parser.cut()
    return sum(count_tex(run) for run in parser.runs)


def check_html(html: Path, budget_ms: int) -> bool:
    """
    Plots: every plot placeholder of the page, those in Output widgets included, holds a plotly
    plot. Maths: MathJax typeset as many formulas as the markdown cells hold, with no TeX errors.
    Widgets: the widget manager drew every widget output. Slides: reveal.js started.
    """
    source = html.read_text(encoding="utf-8")
    expected = plot_divs(source) | plot_divs(widget_output_html(source))
    formulas = expected_formulas(source)
    slides = html.name.endswith(".slides.html")
    started = time.monotonic()
    dom = rendered_dom(html, budget_ms)
    # Plotly.newPlot adds class js-plotly-plot to the placeholder div and draws into svg.main-svg.
    plotted = [i for i, tag in plot_divs(dom).items() if re.search(r'\bclass="[^"]*\bjs-plotly-plot\b', tag)]
    svgs = dom.count('class="main-svg"')
    missing = [i for i in expected if i not in plotted]
    typeset = dom.count("<mjx-container")
    tex_errors = dom.count("<mjx-merror")
    reveal_ready = re.search(r'<div\b[^>]*\bclass="reveal\b[^"]*\bready\b', dom) is not None
    widget_views = source.count(WIDGET_VIEW)
    drawn_views = len(DRAWN_VIEW.findall(dom))
    problems = []
    if missing or svgs < len(expected):
        problems.append("plots")
    if typeset != formulas or tex_errors:
        problems.append("maths")
    if slides and not reveal_ready:
        problems.append("reveal.js did not start")
    if drawn_views < widget_views:
        problems.append("widgets")
    parts = [f"{len(plotted)}/{len(expected)} plots rendered, {svgs} svg.main-svg", f"{typeset}/{formulas} formulas typeset"]
    if widget_views:
        parts.append(f"{drawn_views}/{widget_views} widget outputs drawn ({len(DRAWN_ELEMENT.findall(dom))} widget elements)")
    if tex_errors:
        parts.append(f"{tex_errors} TeX errors")
    if slides:
        parts.append("reveal.js " + ("ready" if reveal_ready else "NOT started"))
    say(f"{'FAIL' if problems else 'ok  '} {html.name}: {', '.join(parts)} ({time.monotonic() - started:.1f} s)")
    for i in missing:
        text = re.search(rf'<div\b[^>]*\bid="{re.escape(i)}"[^>]*>([^<]*)', dom)
        say(f"     not rendered: #{i}: {text.group(1).strip() if text else 'placeholder missing from the page'}")
    for m in re.finditer(r'<mjx-merror\b[^>]*data-mjx-error="([^"]*)"', dom):
        say(f"     TeX error: {m.group(1)}")
    return not problems


def cmd_check_render(args) -> int:
    files = [Path(f) for f in args.html] or sorted(args.dir.glob("*.html"))
    if not files:
        say(f"no exported HTML in {args.dir}: run `npm run export` first")
        return 1
    results = [check_html(f, args.budget_ms) for f in files]
    return 0 if all(results) else 1


def cmd_check_slides(args) -> int:
    decks = [Path(f) for f in args.decks] or sorted(args.dir.glob("*.slides.html"))
    if not decks:
        say(f"no slides in {args.dir}: run `npm run export` first")
        return 1
    with Browser() as browser:
        return 0 if slides.check_decks(decks, browser, say) else 1


def cmd_pictures(args) -> int:
    """The README's two pictures: one slide (screenshot at 1280x720, scaled) and one handout page (pdftoppm)."""
    deck, pdf = EXPORTED / f"{args.notebook}.slides.html", EXPORTED / f"{args.notebook}.pdf"
    if not (deck.exists() and pdf.exists()):
        say(f"export {args.notebook} first (no {shown(deck)} or {shown(pdf)})")
        return 1
    h, v = (int(x) - 1 for x in args.slide.split("."))
    with Browser() as browser:
        page = browser.page(slides.SLIDE_W, slides.SLIDE_H)
        if not page.goto(deck.resolve().as_uri(), slides.READY_JS):
            say(f"{deck.name} did not get ready")
            return 1
        page.evaluate(f"(async () => {{ Reveal.configure({{ transition: 'none', controls: false }}); Reveal.slide({h}, {v}); await alignmixFit(); await new Promise((r) => setTimeout(r, 500)); }})()")
        (args.out / "teaching-slide.png").write_bytes(page.screenshot(args.scale))
    subprocess.run(["pdftoppm", "-r", "60", "-f", str(args.page), "-l", str(args.page), "-png", "-singlefile", str(pdf), str(args.out / "teaching-handout")], check=True)
    say(f"wrote {shown(args.out / 'teaching-slide.png')} (slide {args.slide}) and {shown(args.out / 'teaching-handout.png')} (page {args.page})")
    return 0


# ---------------------------------------------------------------------------------------------
# conformance


def cmd_conformance(args) -> int:
    python = os.environ.get("ALIGNMIX_SYSTEM_PYTHON", "/usr/bin/python3")
    probe = subprocess.run([python, "-c", "import jupyter_kernel_test"], capture_output=True)
    if probe.returncode != 0:
        say(f"{python} has no jupyter_kernel_test (Debian: apt-get install python3-jupyter-kernel-test; or set ALIGNMIX_SYSTEM_PYTHON)")
        return 1
    say(f"kernel conformance (jupyter_kernel_test on {python})")
    try:
        return subprocess.run([python, str(Path(__file__).with_name("kernel_conformance.py"))], cwd=REPO, timeout=args.conformance_timeout).returncode
    except subprocess.TimeoutExpired:
        say(f"kernel conformance did not finish in {args.conformance_timeout} s (a broken kernel stops answering)")
        return 1


def cmd_widgets(args) -> int:
    say("widget protocol end to end (widget_protocol.py)")
    try:
        return subprocess.run([sys.executable, str(Path(__file__).with_name("widget_protocol.py"))], cwd=REPO, timeout=args.conformance_timeout).returncode
    except subprocess.TimeoutExpired:
        say(f"the widget protocol test did not finish in {args.conformance_timeout} s")
        return 1


# ---------------------------------------------------------------------------------------------


def cmd_test(args) -> int:
    steps = [
        ("conformance", lambda: cmd_conformance(args)),
        ("widgets", lambda: cmd_widgets(args)),
        ("run", lambda: cmd_run(args)),
        ("exercises", lambda: cmd_exercises(argparse.Namespace(notebooks=args.notebooks, timeout=args.timeout))),
        ("export", lambda: cmd_export(argparse.Namespace(executed=args.out, out=EXPORTED, notebooks=args.notebooks, formats="html,slides,pdf,notebooks,index", reveal_prefix=None, require_js=None, mathjax=None, widgets_js=None))),
        ("check-render", lambda: cmd_check_render(argparse.Namespace(html=[EXPORTED / (Path(n).stem + suffix) for n in args.notebooks for suffix in (".html", ".slides.html")], dir=EXPORTED, budget_ms=args.budget_ms))),
        ("check-slides", lambda: cmd_check_slides(argparse.Namespace(decks=[EXPORTED / f"{Path(n).stem}.slides.html" for n in args.notebooks], dir=EXPORTED))),
    ]
    results = {}
    for name, step in steps:
        started = time.monotonic()
        results[name] = step() == 0
        say(f"step {name}: {'ok' if results[name] else 'FAILED'} ({time.monotonic() - started:.1f} s)")
        if not results[name] and name == "run":
            break  # later steps need the executed notebooks
    passed = sum(results.values())
    failed = len(results) - passed
    skipped = len(steps) - len(results)
    print(f"checks: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""), flush=True)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add_run_options(p):
        p.add_argument("notebooks", nargs="*", help="notebook files or names in notebooks/ (default: all)")
        p.add_argument("--full", action="store_true", help="run the full work (ALIGNMIX_QUICK unset)")
        p.add_argument("--timeout", type=int, default=int(os.environ.get("ALIGNMIX_CELL_TIMEOUT", "900")), help="seconds per cell (default 900)")
        p.add_argument("--out", type=Path, default=EXECUTED)

    p = sub.add_parser("run", help="execute notebooks")
    add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("export", help="export executed notebooks as HTML and reveal.js slides")
    p.add_argument("notebooks", nargs="*", help="names of executed notebooks (default: all)")
    p.add_argument("--executed", type=Path, default=EXECUTED)
    p.add_argument("--out", type=Path, default=EXPORTED)
    p.add_argument("--formats", default="html,slides,pdf,notebooks,index", help="comma list of html, slides, pdf, notebooks, index (default all; pdf needs html)")
    p.add_argument("--reveal-prefix", help="reveal.js 4.x folder or URL (default: a copy of node_modules/reveal.js in OUT/vendor/)")
    p.add_argument("--require-js", help="require.js file or URL (default: a copy of node_modules/requirejs in OUT/vendor/)")
    p.add_argument("--mathjax", help="MathJax 3 combined component, file or URL (default: a copy of node_modules/mathjax in OUT/vendor/)")
    p.add_argument("--widgets-js", help=f"widget manager embed-amd.js, file or URL (default: a copy of {HTML_MANAGER}'s, fetched with npm pack, in OUT/vendor/)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("check-render", help="check plots, maths and slides of exported pages in headless Chromium")
    p.add_argument("html", nargs="*", help="HTML files (default: every *.html in --dir, slides included)")
    p.add_argument("--dir", type=Path, default=EXPORTED)
    p.add_argument("--budget-ms", type=int, default=20000, help="Chromium virtual time budget (default 20000)")
    p.set_defaults(func=cmd_check_render)

    p = sub.add_parser("exercises", help="run each notebook's Exercises section: checks fail on the student version, pass with the solutions")
    p.add_argument("notebooks", nargs="*", help="notebook files or names in notebooks/ (default: all)")
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    p.set_defaults(func=cmd_exercises)

    p = sub.add_parser("check-slides", help="check that every slide fits 1280x720 and 1920x1080 (headless Chromium)")
    p.add_argument("decks", nargs="*", help="NAME.slides.html files (default: every one in --dir)")
    p.add_argument("--dir", type=Path, default=EXPORTED)
    p.set_defaults(func=cmd_check_slides)

    p = sub.add_parser("pictures", help="the README's pictures of a slide and a handout page")
    p.add_argument("--notebook", default="02-toy-alignment")
    p.add_argument("--slide", default="4.2", help="H.V, 1-based (default 4.2)")
    p.add_argument("--page", type=int, default=3, help="handout page (default 3)")
    p.add_argument("--scale", type=float, default=0.6)
    p.add_argument("--out", type=Path, default=REPO / "docs")
    p.set_defaults(func=cmd_pictures)

    p = sub.add_parser("conformance", help="jupyter_kernel_test checks of the kernel")
    p.add_argument("--conformance-timeout", type=int, default=300)
    p.set_defaults(func=cmd_conformance)

    p = sub.add_parser("widgets", help="Jupyter widgets end to end against the kernel and ipywidgets")
    p.add_argument("--conformance-timeout", type=int, default=300)
    p.set_defaults(func=cmd_widgets)

    p = sub.add_parser("test", help="conformance + widgets + run + exercises + export (PDF check) + check-render + check-slides")
    add_run_options(p)
    p.add_argument("--budget-ms", type=int, default=20000)
    p.add_argument("--conformance-timeout", type=int, default=300)
    p.set_defaults(func=cmd_test)

    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
