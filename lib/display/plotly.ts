/**
 * Plotly figures in the notebooks that render with no network: in JupyterLab, in nbconvert's
 * exported HTML and slides, and after cells are re-run and the notebook saved.
 *
 * Design: one bundle per notebook, small stateless figures.
 * - `loadPlotly()` displays the plotly.js bundle (package plotly.js-dist) once, in the notebook's
 *   setup cell. The 10 MB bundle travels gzip-compressed and base64-encoded (about 2.6 MB) and is
 *   unpacked in the page with the browser's DecompressionStream; the output defines
 *   `window.alignmixPlotly`, a promise of the Plotly object.
 * - `showFigure()` displays a few kilobytes: a placeholder `<div>` plus a script that waits on that
 *   promise and calls `Plotly.newPlot`. The kernel keeps no "bundle already sent" state.
 * Why: a bundle that the kernel sends with the first figure of a session vanishes from the saved
 * notebook as soon as that cell is re-run (the kernel thinks it was sent; the new output lacks it),
 * breaking every plot in the export. The setup cell is re-run whenever the kernel restarts, so its
 * output always holds the bundle, and pages (JupyterLab, exported HTML, slides) run output scripts
 * in document order, so the promise exists before any figure script asks for it. A bundle inside
 * every figure would be correct too, but costs 2.6 MB per plot.
 * If the bundle is missing (setup cell not run) or the notebook is untrusted (JupyterLab runs no
 * output scripts then), the placeholder's text says so instead of an empty box.
 *
 * Outside a kernel both calls are harmless: `loadPlotly` does nothing, `showFigure` prints a
 * one-line summary.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { escapeHtml, scriptJson, uniqueElementId } from './html';
import { kernelDisplay, HtmlDisplay } from './kernel';

/** One plotly trace (https://plotly.com/javascript/reference/), e.g. `{ x, y, type: 'scatter' }`. */
export type PlotlyTrace = Record<string, unknown>;

export interface PlotlyFigure {
  data: PlotlyTrace[];
  layout?: Record<string, unknown>;
  /** plotly config; merged over { responsive: true, displaylogo: false }. */
  config?: Record<string, unknown>;
  /**
   * Animation frames (https://plotly.com/javascript/animations/), added after the first draw; a
   * slider or button with method 'animate' in the layout plays them.
   */
  frames?: Record<string, unknown>[];
}

export interface FigureOptions {
  /** Height of the plot area in CSS pixels; default layout.height, else 420. */
  height?: number;
  /** Where the HTML goes; default the kernel's display (tests pass a recorder). */
  display?: HtmlDisplay;
}

/** Global the bundle output defines in the page: a promise of the Plotly object. */
export const PLOTLY_GLOBAL = 'alignmixPlotly';

const NOT_LOADED_TEXT =
  "Plot not rendered: plotly.js is not loaded on this page. Run the notebook's setup cell " +
  '(it calls loadPlotly()) and trust the notebook.';

/**
 * `<script>` that evaluates the UMD bundle `source` (which must set `window.Plotly`) from a gzip +
 * base64 payload and stores a promise of `window.Plotly` in `window.alignmixPlotly`. Evaluation
 * inserts a script element, so no `eval` is needed. A page that already holds the promise (the setup
 * cell re-run) keeps it, and a page that already has `window.Plotly` uses that.
 */
export function plotlyLoaderHtml(source: string): string {
  const payload = zlib.gzipSync(Buffer.from(source, 'utf8'), { level: 9 }).toString('base64');
  return `<script>
(function () {
  if (window.${PLOTLY_GLOBAL}) return;
  if (window.Plotly) { window.${PLOTLY_GLOBAL} = Promise.resolve(window.Plotly); return; }
  var payload = "${payload}";
  var bytes = Uint8Array.from(atob(payload), function (c) { return c.charCodeAt(0); });
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  window.${PLOTLY_GLOBAL} = new Response(stream).text().then(function (code) {
    var script = document.createElement('script');
    script.textContent = code;
    document.head.appendChild(script);
    if (!window.Plotly) throw new Error('the plotly.js bundle did not define window.Plotly');
    return window.Plotly;
  });
})();
</script>`;
}

let bundleHtmlCache: string | null = null;

/** The loader output for the installed plotly.js-dist (built once per process, ~0.5 s). */
export function plotlyBundleHtml(): string {
  if (bundleHtmlCache === null) {
    bundleHtmlCache = plotlyLoaderHtml(fs.readFileSync(require.resolve('plotly.js-dist'), 'utf8'));
  }
  return bundleHtmlCache;
}

/**
 * Display the plotly.js bundle. Call it in the notebook's setup cell (the first code cell), so that
 * every later figure on the page, and in its exports, finds it. No-op outside a kernel.
 */
export function loadPlotly(display: HtmlDisplay | null = kernelDisplay()): void {
  display?.html(plotlyBundleHtml());
}

/** The HTML of one figure: placeholder div + script that plots once the bundle is ready. */
export function figureHtml(figure: PlotlyFigure, options: Pick<FigureOptions, 'height'> = {}): string {
  if (!figure || !Array.isArray(figure.data)) {
    throw new Error(`figureHtml: figure.data must be an array of traces, got ${figure ? typeof figure.data : figure}`);
  }
  const layoutHeight = figure.layout?.height;
  const height = options.height ?? (typeof layoutHeight === 'number' ? layoutHeight : 420);
  if (!(Number.isFinite(height) && height > 0)) throw new Error(`figureHtml: height must be a number > 0, got ${height}`);
  const id = uniqueElementId('alignmix-plot');
  if (figure.frames !== undefined && !Array.isArray(figure.frames)) {
    throw new Error(`figureHtml: figure.frames must be an array of frames, got ${typeof figure.frames}`);
  }
  const spec = {
    data: figure.data,
    layout: figure.layout ?? {},
    config: { responsive: true, displaylogo: false, ...figure.config },
    frames: figure.frames ?? [],
  };
  return `<div id="${id}" class="alignmix-plot" style="width:100%;height:${height}px">${escapeHtml(NOT_LOADED_TEXT)}</div>
<script>
(function () {
  var div = document.getElementById(${scriptJson(id)});
  var ready = window.${PLOTLY_GLOBAL};
  if (!div || !ready) return;
  var fig = ${scriptJson(spec)};
  ready.then(function (Plotly) {
    div.textContent = '';
    return Plotly.newPlot(div, fig.data, fig.layout, fig.config).then(function () {
      return fig.frames.length ? Plotly.addFrames(div, fig.frames) : div;
    });
  }).catch(function (e) { div.textContent = 'Plot failed: ' + e; });
})();
</script>`;
}

/**
 * Show a figure: in a kernel as a plot (needs `loadPlotly()` earlier on the page), elsewhere as a
 * one-line summary on stdout.
 */
export function showFigure(figure: PlotlyFigure, options: FigureOptions = {}): void {
  const html = figureHtml(figure, options);
  const display = options.display ?? kernelDisplay();
  if (display) {
    display.html(html);
  } else {
    const title = figure.layout?.title;
    const text = typeof title === 'string' ? title : (title as { text?: string } | undefined)?.text;
    console.log(`[figure${text ? ` "${text}"` : ''}: ${figure.data.length} trace${figure.data.length === 1 ? '' : 's'}]`);
  }
}
