/**
 * Sweeps in a notebook (lib/train/sweep.ts does the work; this module only shows it).
 *
 *   runSweepInKernel  plan a sweep into a directory and run what is not completed, by default in
 *                     the kernel (one run after another, a live figure of every run's test
 *                     accuracy per epoch, the interrupt button stops between batches); with a
 *                     launcher (e.g. Slurm) the runs are submitted and a live status table
 *                     follows them. Results always come from the run directories: a kernel
 *                     restart loses nothing, and running the cell again continues the sweep.
 *   showSweepStatus   the status table of a sweep, redrawn until every run has stopped (live)
 *   sweepStatusRows   one row per run: state, epochs, test accuracy, log
 *   sweepResultRows   one row per variant: mean ± std over the completed seeds
 */
import * as crypto from 'crypto';
import * as path from 'path';
import { localLauncher } from '../train/launch-local';
import { readMetrics } from '../train/run-dir';
import {
  Launcher, SweepResults, SweepRunView, SweepSpec, collectSweep, createSweep, runSweep, sweepRunDir, sweepStatus,
} from '../train/sweep';
import { assertInt, assertKnownKeys } from '../validate';
import { HtmlDisplay, newKernelDisplay } from './kernel';
import { LiveCurves } from './progress';
import { Rows, rowsToHtml, showTable } from './table';
import { interruptSignal } from './training';

const pct = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? 100 * v : null);

/** One row per run of a sweep: where it stands, its test accuracy at the best validation epoch so far, and its log. */
export function sweepStatusRows(runs: readonly SweepRunView[]): Rows {
  return runs.map((r) => ({
    '#': r.index, run: r.id, state: r.state, epochs: `${r.epochsDone}/${r.epochs}`,
    'test acc % (best val)': pct(r.summary?.testAccuracyAtBestVal),
    note: r.error ? `${r.nonFinite ? 'non-finite loss: ' : ''}${r.error.split('\n')[0]} (log ${r.logFile})` : '',
  }));
}

/** One row per variant: completed runs of all, and mean ± std (sample, over seeds) of the test figures in %. */
export function sweepResultRows(results: SweepResults): Rows {
  const stat = (s: { mean: number; std: number }) => (Number.isNaN(s.mean) ? '–' : `${(100 * s.mean).toFixed(2)} ± ${Number.isNaN(s.std) ? '–' : (100 * s.std).toFixed(2)}`);
  return results.groups.map((g) => ({
    variant: g.variant, 'completed / runs': `${g.completed} / ${g.runs}`,
    'test acc % (best val)': stat(g.stats.testAccuracyAtBestVal), 'best test acc %': stat(g.stats.bestTestAccuracy),
    'median last N %': stat(g.stats.medianLastNTestAccuracy),
  }));
}

function drawStatus(display: HtmlDisplay | null, dir: string, note = ''): SweepRunView[] {
  const runs = sweepStatus(dir);
  const counts = runs.reduce<Record<string, number>>((c, r) => ({ ...c, [r.state]: (c[r.state] ?? 0) + 1 }), {});
  const caption = `sweep ${dir}: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}${note ? ` · ${note}` : ''}`;
  if (display) display.html(rowsToHtml(sweepStatusRows(runs), { caption, digits: 2 }));
  else console.log(caption);
  return runs;
}

export interface ShowSweepStatusOptions {
  /** Redraw every `intervalMs` until no run is pending or running (default false: draw once). */
  live?: boolean;
  /** Default 5000. */
  intervalMs?: number;
  /** Output to draw in (default a new kernel display; a text line outside a kernel). */
  display?: HtmlDisplay | null;
}

/**
 * The sweep's status table; live, it is redrawn until every run has stopped (or the kernel is
 * interrupted, which stops the watching, not the runs). Returns the last state read.
 */
export async function showSweepStatus(dir: string, options: ShowSweepStatusOptions = {}): Promise<SweepRunView[]> {
  assertKnownKeys('showSweepStatus', options, ['live', 'intervalMs', 'display']);
  const intervalMs = options.intervalMs ?? 5000;
  assertInt('showSweepStatus', 'intervalMs', intervalMs, 1);
  const display = options.display === undefined ? newKernelDisplay() : options.display;
  let runs = drawStatus(display, dir);
  if (!options.live) return runs;
  const interrupt = interruptSignal();
  try {
    while (!interrupt.signal.aborted && runs.some((r) => r.state === 'pending' || r.state === 'running')) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      runs = drawStatus(display, dir);
    }
  } finally {
    interrupt.release();
  }
  return runs;
}

/** runs/sweep-<hash of the spec>: the same spec finds its sweep again (after a kernel restart too). */
export function defaultSweepDir(spec: SweepSpec): string {
  return path.join('runs', `sweep-${crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 12)}`);
}

export interface RunSweepInKernelOptions {
  /** Sweep directory (default defaultSweepDir(spec)). */
  dir?: string;
  /** Where the runs execute (default: in this kernel, one after another). */
  launcher?: Launcher;
  /** Figure title. */
  title?: string;
  /** Output of the live figure (default a new kernel display). */
  display?: HtmlDisplay | null;
  /** Status table of a launched sweep: redraw interval (default 5000 ms). */
  intervalMs?: number;
}

/**
 * Plan `spec` into its sweep directory and run every run that is not completed (see the module
 * comment); shows the per-variant results and returns them with the directory.
 */
export async function runSweepInKernel(spec: SweepSpec, options: RunSweepInKernelOptions = {}): Promise<SweepResults & { dir: string }> {
  assertKnownKeys('runSweepInKernel', options, ['dir', 'launcher', 'title', 'display', 'intervalMs']);
  const dir = path.resolve(options.dir ?? defaultSweepDir(spec));
  const { runs } = createSweep(dir, spec);
  const launcher = options.launcher ?? localLauncher({ inProcess: true });
  const metric = (id: string) => `${id}: test accuracy`;
  const curves = new LiveCurves({
    title: options.title ?? `sweep: test accuracy per epoch (${dir})`, xTitle: 'epoch', display: options.display,
    panels: [{ title: 'test accuracy', metrics: runs.map((r) => metric(r.id)) }],
  });
  // Epochs already on disk (earlier sessions, other processes) first.
  for (const r of runs) for (const e of readMetrics(sweepRunDir(dir, r))) void curves.update(e.epoch, { [metric(r.id)]: e.testAccuracy });
  const interrupt = interruptSignal();
  try {
    const report = await runSweep(dir, launcher, {
      signal: interrupt.signal,
      callbacks: (run) => ({ onEpoch: (record) => void curves.update(record.epoch, { [metric(run.id)]: record.testAccuracy }) }),
    });
    curves.finish();
    if (!report.waited) {
      if (report.note) console.log(report.note);
      await showSweepStatus(dir, { live: true, intervalMs: options.intervalMs });
    }
  } finally {
    interrupt.release();
    curves.finish();
  }
  const results = collectSweep(dir);
  showTable(sweepResultRows(results), { caption: `sweep ${dir}: mean ± std over completed seeds (runs that did not complete are not averaged in)` });
  if (results.failed.length) showTable(sweepStatusRows(results.failed), { caption: 'runs that did not complete', digits: 2 });
  return { ...results, dir };
}
