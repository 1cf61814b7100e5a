/**
 * Notebook views of training runs (lib/train): live curves wired to the trainer's callbacks, an
 * abort signal tied to the kernel's interrupt button, the per-batch log (batches.jsonl) read back
 * as figures and tables, and configs laid side by side.
 *
 * Live curves. x is in epochs, fractional inside an epoch (epoch - 1 + batch / batchesPerEpoch),
 * so per-batch and per-epoch points share one axis:
 *   loss        training loss averaged over each 1/pointsPerEpoch of an epoch (each batch has its
 *               own mode and lambda, so single batches are noisy) and the epoch's mean
 *   accuracy    validation and test top-1 after each epoch
 *   throughput  training images per second so far in the epoch
 * Averaging into `pointsPerEpoch` points keeps every redraw small on long runs: LiveCurves
 * re-sends the whole figure each time.
 *
 * Interrupts. JavaScript cannot stop a promise it awaits, and the kernel's hard interrupt (which
 * cancels the cell's timers and abandons its await) would leave a training run without its
 * checkpoint. `interruptSignal()` turns the interrupt into an AbortSignal that `train()` checks
 * between batches, so the run stops with a checkpoint, ready to resume: in the alignmix kernel it
 * listens through the kernel API (`onInterrupt`: while a listener is registered, the first
 * interrupt of a cell only calls the listeners and the cell ends on its own; a second one stops it
 * hard), elsewhere on SIGINT.
 *
 * Batch log. One record per batch, as lib/train/trainer.ts writes it: mode, lambda, losses,
 * learning rate and, for aligned modes, the Sinkhorn diagnostics (iterations, L1 marginal errors
 * of the plan's rows and columns, converged). `batchLogFigure` draws four panels:
 *   batches per mode        the mode scheduler's draws (uniform over the method's modes)
 *   lambda                  histogram of the mixed batches' lambda as a density, beside the
 *                           Beta(alpha, alpha) density it is drawn from,
 *                           f(l) = l^(alpha-1) (1-l)^(alpha-1) / B(alpha, alpha)
 *   Sinkhorn iterations     per aligned batch, converged or not
 *   marginal errors         row and column errors per aligned batch (log scale)
 */
import type { TrainConfig } from '../train/config';
import type { BatchEvent, EpochRecord, TrainCallbacks } from '../train/trainer';
import type { BatchLogRecord } from '../train/run-dir';
import { assertInt, assertKnownKeys, assertPositive } from '../validate';
import { HtmlDisplay } from './kernel';
import { kernelApi } from './kernel-api';
import { PlotlyFigure, PlotlyTrace } from './plotly';
import { LiveCurves } from './progress';
import { Rows, TableCell } from './table';

export interface TrainingCurvesOptions {
  /** Figure title. */
  title?: string;
  /** Loss / throughput points per epoch (default 10; every batch when an epoch has fewer). */
  pointsPerEpoch?: number;
  /** Least time between two redraws (default 1000 ms). */
  minIntervalMs?: number;
  /** Plot height in CSS pixels (default 360). */
  height?: number;
  /** Output to redraw (default a new kernel display; text lines outside a kernel). */
  display?: HtmlDisplay | null;
}

/** Metric names of the live curves. */
export const TRAINING_METRICS = {
  batchLoss: 'train loss',
  epochLoss: 'train loss (epoch mean)',
  val: 'val accuracy',
  test: 'test accuracy',
  throughput: 'images/s',
} as const;

/**
 * Live training curves and the trainer callbacks that feed them. Pass `callbacks` to
 * `train(config, { callbacks })`, then call `curves.finish()` to draw the final state.
 */
export function trainingCurves(options: TrainingCurvesOptions = {}): { curves: LiveCurves; callbacks: TrainCallbacks } {
  const where = 'trainingCurves';
  assertKnownKeys(where, options, ['title', 'pointsPerEpoch', 'minIntervalMs', 'height', 'display']);
  const pointsPerEpoch = options.pointsPerEpoch ?? 10;
  assertInt(where, 'pointsPerEpoch', pointsPerEpoch, 1);
  const m = TRAINING_METRICS;
  const curves = new LiveCurves({
    title: options.title,
    xTitle: 'epoch',
    panels: [
      { title: 'loss', metrics: [m.batchLoss, m.epochLoss] },
      { title: 'accuracy', metrics: [m.val, m.test] },
      { title: 'throughput (images/s)', metrics: [m.throughput] },
    ],
    minIntervalMs: options.minIntervalMs,
    height: options.height,
    display: options.display,
  });
  let lossSum = 0;
  let lossCount = 0;
  const callbacks: TrainCallbacks = {
    onBatch: (e: BatchEvent) => {
      lossSum += e.step.losses.total;
      lossCount += 1;
      // A point whenever the batch crosses one of the epoch's pointsPerEpoch boundaries.
      const crossed = Math.floor((e.batch * pointsPerEpoch) / e.batchesPerEpoch) > Math.floor(((e.batch - 1) * pointsPerEpoch) / e.batchesPerEpoch);
      if (!crossed && e.batch < e.batchesPerEpoch) return;
      void curves.update(e.epoch - 1 + e.batch / e.batchesPerEpoch, { [m.batchLoss]: lossSum / lossCount, [m.throughput]: e.imagesPerSecond });
      lossSum = 0;
      lossCount = 0;
    },
    onEpoch: (r: EpochRecord) => {
      void curves.update(r.epoch, { [m.epochLoss]: r.trainLoss, [m.val]: r.valAccuracy, [m.test]: r.testAccuracy });
    },
  };
  return { curves, callbacks };
}

/**
 * An AbortSignal that fires on the kernel's interrupt (SIGINT). `release()` removes the listener;
 * call it when the guarded work ends (also when it throws).
 */
export function interruptSignal(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  const kernel = kernelApi();
  if (kernel) return { signal: controller.signal, release: kernel.onInterrupt(onInterrupt) };
  process.once('SIGINT', onInterrupt);
  return { signal: controller.signal, release: () => void process.removeListener('SIGINT', onInterrupt) };
}

/** log Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  const z = x - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Density of Beta(alpha, alpha) at l in (0, 1). */
export function betaDensity(l: number, alpha: number): number {
  assertPositive('betaDensity', 'alpha', alpha);
  const logB = 2 * logGamma(alpha) - logGamma(2 * alpha);
  return Math.exp((alpha - 1) * (Math.log(l) + Math.log(1 - l)) - logB);
}

export interface BatchLogFigureOptions {
  /** Beta(alpha, alpha) of the run, for the density beside the lambda histogram (config.alpha). */
  alpha: number;
  /** Histogram bins of lambda (default 20). */
  bins?: number;
  title?: string;
}

/** The four diagnostic panels of a batch log (module comment). */
export function batchLogFigure(records: readonly BatchLogRecord[], options: BatchLogFigureOptions): PlotlyFigure {
  const where = 'batchLogFigure';
  assertKnownKeys(where, options, ['alpha', 'bins', 'title']);
  assertPositive(where, 'alpha', options.alpha);
  const bins = options.bins ?? 20;
  assertInt(where, 'bins', bins, 1);
  const modes = [...new Set(records.map((r) => r.mode))];
  const counts = modes.map((mode) => records.filter((r) => r.mode === mode).length);

  const lambdas = records.filter((r) => r.mode !== 'clean').map((r) => r.lambda);
  const hist = new Array<number>(bins).fill(0);
  for (const l of lambdas) hist[Math.min(bins - 1, Math.floor(l * bins))] += 1;
  const centres = hist.map((_, i) => (i + 0.5) / bins);
  const grid = Array.from({ length: 99 }, (_, i) => (i + 1) / 100);

  // x of the Sinkhorn panels: the batch's position in epochs, as on the live curves.
  const perEpoch = new Map<number, number>();
  for (const r of records) perEpoch.set(r.epoch, Math.max(perEpoch.get(r.epoch) ?? 0, r.batch));
  const position = (r: BatchLogRecord) => r.epoch - 1 + r.batch / (perEpoch.get(r.epoch) ?? 1);
  const aligned = records.filter((r) => r.sinkhorn);
  const split = (converged: boolean) => aligned.filter((r) => r.sinkhorn!.converged === converged);

  const data: PlotlyTrace[] = [
    { type: 'bar', name: 'batches', x: modes, y: counts, xaxis: 'x', yaxis: 'y', showlegend: false },
    { type: 'bar', name: `λ of ${lambdas.length} mixed batches`, x: centres, y: hist.map((c) => (lambdas.length ? (c * bins) / lambdas.length : 0)), width: 1 / bins, opacity: 0.6, xaxis: 'x2', yaxis: 'y2' },
    { type: 'scatter', mode: 'lines', name: `Beta(${options.alpha}, ${options.alpha}) density`, x: grid, y: grid.map((l) => betaDensity(l, options.alpha)), xaxis: 'x2', yaxis: 'y2' },
    ...[true, false].map((converged) => {
      const rs = split(converged);
      return { type: 'scatter', mode: 'markers', name: converged ? 'converged' : 'not converged', x: rs.map(position), y: rs.map((r) => r.sinkhorn!.iterations), xaxis: 'x3', yaxis: 'y3', marker: { size: 5 } };
    }),
    ...(['rowError', 'colError'] as const).map((key) => ({
      type: 'scatter', mode: 'markers', name: key === 'rowError' ? 'row marginal error' : 'column marginal error',
      x: aligned.map(position), y: aligned.map((r) => r.sinkhorn![key]), xaxis: 'x4', yaxis: 'y4', marker: { size: 5 },
    })),
  ];
  return {
    data,
    layout: {
      title: { text: options.title ?? `${records.length} batches` },
      grid: { rows: 2, columns: 2, pattern: 'independent' },
      xaxis: { title: { text: 'mode' } }, yaxis: { title: { text: 'batches' } },
      xaxis2: { title: { text: 'λ' }, range: [0, 1] }, yaxis2: { title: { text: 'density' } },
      xaxis3: { title: { text: 'epoch' } }, yaxis3: { title: { text: 'Sinkhorn iterations' }, rangemode: 'tozero' },
      xaxis4: { title: { text: 'epoch' } }, yaxis4: { title: { text: 'L1 marginal error' }, type: 'log' },
      legend: { orientation: 'h', y: -0.15 },
      height: 640,
    },
  };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** One row per mode: batches, share, mean lambda and loss, and the Sinkhorn figures of aligned modes. */
export function batchLogSummary(records: readonly BatchLogRecord[]): Rows {
  const modes = [...new Set(records.map((r) => r.mode))];
  return modes.map((mode) => {
    const rs = records.filter((r) => r.mode === mode);
    const sk = rs.filter((r) => r.sinkhorn).map((r) => r.sinkhorn!);
    const row: Record<string, TableCell> = {
      mode,
      batches: rs.length,
      share: rs.length / records.length,
      'mean λ': mean(rs.map((r) => r.lambda)),
      'mean loss': mean(rs.map((r) => r.losses.total)),
      'Sinkhorn iterations (mean)': mean(sk.map((d) => d.iterations)),
      'converged (share)': sk.length ? sk.filter((d) => d.converged).length / sk.length : null,
      'row error (max)': sk.length ? Math.max(...sk.map((d) => d.rowError)) : null,
      'column error (max)': sk.length ? Math.max(...sk.map((d) => d.colError)) : null,
    };
    return row;
  });
}

/** Sections first in a config table, in this order; the rest follow in the config's own order. */
const CONFIG_ORDER = ['protocol', 'method', 'modes', 'data', 'model', 'epochs', 'batchSize', 'optim', 'schedule', 'alpha', 'sinkhorn'];

/**
 * Leaf values of a config as 'section.field' -> text (arrays and schedules as compact text), the
 * main sections first (CONFIG_ORDER).
 */
export function flattenConfig(config: TrainConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const text = (v: unknown): string => {
    if (Array.isArray(v)) {
      return v.every((e) => e && typeof e === 'object' && 'mode' in e)
        ? v.map((e) => `${e.mode}:${e.weight}`).join(' ')
        : `[${v.join(', ')}]`;
    }
    return String(v);
  };
  const visit = (prefix: string, value: unknown) => {
    if (value === undefined) return;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) visit(prefix ? `${prefix}.${k}` : k, v);
    } else {
      out[prefix] = text(value);
    }
  };
  const rank = (key: string) => {
    const i = CONFIG_ORDER.indexOf(key);
    return i < 0 ? CONFIG_ORDER.length : i;
  };
  const keys = Object.keys(config).sort((a, b) => rank(a) - rank(b));
  for (const key of keys) visit(key, (config as unknown as Record<string, unknown>)[key]);
  return out;
}

/**
 * Configs side by side: one row per setting, one column per named config. `onlyDifferences`
 * keeps the settings whose values are not all the same.
 */
export function configRows(configs: Record<string, TrainConfig>, options: { onlyDifferences?: boolean } = {}): Rows {
  assertKnownKeys('configRows', options, ['onlyDifferences']);
  const names = Object.keys(configs);
  const flat = names.map((n) => flattenConfig(configs[n]));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  return keys
    .map((setting) => {
      const row: Record<string, TableCell> = { setting };
      names.forEach((n, i) => (row[n] = flat[i][setting] ?? ''));
      return row;
    })
    .filter((row) => !options.onlyDifferences || new Set(names.map((n) => row[n])).size > 1);
}
