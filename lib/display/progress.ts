/**
 * Live training curves: loss / accuracy plots that redraw while a notebook cell trains.
 *
 * In the alignmix kernel the curves live in one output of the running cell, created by the first
 * draw and replaced in place by later draws (newKernelDisplay() in ./kernel: Jupyter `display_data`
 * with a display id, then `update_display_data`). JupyterLab redraws the output as updates arrive;
 * nbclient / nbconvert apply each update to the stored output, so an executed or exported notebook
 * keeps the final curves. Each draw re-sends the whole figure (about 20 kB per thousand points of
 * a metric), which keeps every saved state self-contained; draws are rate-limited
 * (`minIntervalMs`) because each one is a kernel message and a browser re-plot. The plots need
 * `loadPlotly()` earlier on the page, like every figure (see ./plotly).
 *
 * Outside a kernel the same calls print one plain-text progress line per draw
 * ("step 120  train loss 0.4311  test acc 0.8120").
 */
import { assertKnownKeys } from '../validate';
import { HtmlDisplay, newKernelDisplay } from './kernel';
import { figureHtml, PlotlyFigure, PlotlyTrace } from './plotly';

/** One plot panel and the metrics drawn in it, e.g. { title: 'loss', metrics: ['train loss'] }. */
export interface CurvePanel {
  title: string;
  metrics: string[];
}

export interface LiveCurvesOptions {
  /** Figure title. */
  title?: string;
  /** Name of the x axis, also used in the text line (default 'step'). */
  xTitle?: string;
  /** Panels side by side; default one panel with every metric, in order of first update. */
  panels?: CurvePanel[];
  /** Least time between two draws (default 1000 ms); `finish()` always draws the last state. */
  minIntervalMs?: number;
  /** Plot height in CSS pixels (default 360). */
  height?: number;
  /** Output to redraw; default a new kernel display, none outside a kernel (text lines then). */
  display?: HtmlDisplay | null;
  /** Text sink outside a kernel (default console.log). */
  write?: (line: string) => void;
  /** Clock in ms (default Date.now); tests pass a fake one. */
  now?: () => number;
}

const OPTION_KEYS = ['title', 'xTitle', 'panels', 'minIntervalMs', 'height', 'display', 'write', 'now'];

interface Series {
  x: number[];
  y: number[];
}

export class LiveCurves {
  private readonly series = new Map<string, Series>();
  private readonly panels: CurvePanel[] | null;
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private display: HtmlDisplay | null | undefined;
  private lastDraw = -Infinity;
  private dirty = false;
  private lastLine = '';

  constructor(private readonly options: LiveCurvesOptions = {}) {
    assertKnownKeys('LiveCurves', options, OPTION_KEYS);
    this.panels = options.panels ?? null;
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.display = options.display;
    if (this.panels) {
      const names = this.panels.flatMap((p) => p.metrics);
      const repeated = names.filter((n, i) => names.indexOf(n) !== i);
      if (repeated.length) throw new Error(`LiveCurves: options.panels lists metric '${repeated[0]}' more than once`);
    }
  }

  /**
   * Record `values` (metric name -> value) at position `x` (step, epoch, ...) and redraw if the last
   * draw is at least `minIntervalMs` old. Metrics may be recorded at different x (per-batch loss,
   * per-epoch accuracy). Non-finite values are kept and drawn as gaps.
   *
   * Returns a promise that resolves at once, or after one turn of the event loop when this call
   * drew: awaiting it in a training loop gives the kernel the chance to send the redraw while the
   * cell is still running (a loop that never yields sends all its redraws when it ends).
   */
  update(x: number, values: Record<string, number>): Promise<void> {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`LiveCurves.update: x must be a finite number, got ${x}`);
    for (const [name, value] of Object.entries(values)) {
      if (typeof value !== 'number') throw new Error(`LiveCurves.update: values['${name}'] must be a number, got ${typeof value}`);
      if (this.panels && !this.panels.some((p) => p.metrics.includes(name))) {
        throw new Error(`LiveCurves.update: metric '${name}' is in none of options.panels (${this.panels.map((p) => p.metrics.join(', ')).join(' | ')})`);
      }
      let s = this.series.get(name);
      if (!s) {
        s = { x: [], y: [] };
        this.series.set(name, s);
      }
      s.x.push(x);
      s.y.push(value);
    }
    const xTitle = this.options.xTitle ?? 'step';
    this.lastLine = [`${xTitle} ${x}`, ...Object.entries(values).map(([n, v]) => `${n} ${formatValue(v)}`)].join('  ');
    this.dirty = true;
    if (this.now() - this.lastDraw < this.minIntervalMs) return Promise.resolve();
    this.draw();
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Draw the final state (call when training ends, also after an early stop). */
  finish(): void {
    if (this.dirty) this.draw();
  }

  /** The recorded points of one metric (copies). */
  history(name: string): Series {
    const s = this.series.get(name);
    return s ? { x: [...s.x], y: [...s.y] } : { x: [], y: [] };
  }

  /** The figure as drawn now: one trace per metric, panels side by side. */
  figure(): PlotlyFigure {
    const panels = this.panels ?? [{ title: '', metrics: [...this.series.keys()] }];
    const xTitle = this.options.xTitle ?? 'step';
    const data: PlotlyTrace[] = [];
    const layout: Record<string, unknown> = {
      title: { text: this.options.title ?? '' },
      margin: { t: this.options.title ? 80 : 40, r: 20 },
      legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' },
    };
    if (panels.length > 1) layout.grid = { rows: 1, columns: panels.length, pattern: 'independent' };
    panels.forEach((panel, p) => {
      const suffix = p === 0 ? '' : String(p + 1);
      layout[`xaxis${suffix}`] = { title: { text: xTitle } };
      layout[`yaxis${suffix}`] = { title: { text: panel.title } };
      for (const name of panel.metrics) {
        const s = this.series.get(name);
        if (!s) continue;
        data.push({ type: 'scatter', mode: 'lines', name, x: s.x, y: s.y, xaxis: `x${suffix}`, yaxis: `y${suffix}` });
      }
    });
    return { data, layout };
  }

  private draw(): void {
    this.lastDraw = this.now();
    this.dirty = false;
    if (this.display === undefined) this.display = newKernelDisplay();
    if (this.display) {
      this.display.html(figureHtml(this.figure(), { height: this.options.height ?? 360 }));
    } else {
      (this.options.write ?? console.log)(this.lastLine);
    }
  }
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}
