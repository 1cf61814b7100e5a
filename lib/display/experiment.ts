/**
 * The experiment flow shared by the training, ablation and evaluation notebooks, so that each
 * notebook only states its protocol, its settings and its story:
 *
 *   showPlan         the plan's note and the settings in which it differs from the paper's protocol
 *   runExperiment    train() with live curves, the kernel's interrupt button wired to an
 *                    AbortSignal (the run stops between batches with its last checkpoint)
 *   showBatchLog     the run's per-batch log (modes, lambda, Sinkhorn) as a figure and a table
 *   compareWithPaper the main run beside the completed runs of a baseline sweep (runSweepInKernel)
 *                    and the paper's column, as a table and a figure
 *   methodRows       what each named method mixes (modes and their weights, decoder, solver)
 *   summaryRows      run summaries as a table, beside the paper's number for each row
 *   summaryFigure    the same as grouped bars: ours beside the paper
 *
 * Paper numbers: PAPER_TABLE1 holds the main paper's Table 1 (top-1 error, %), the table the
 * training notebooks compare with; ablation notebooks copy their own tables.
 */
import { TrainConfig, resolveConfig } from '../train/config';
import { methodSpec } from '../train/methods';
import { ExperimentPlan, ExperimentSettings, mergeOverrides } from '../train/plan';
import { readBatchLog } from '../train/run-dir';
import { sweepStatus } from '../train/sweep';
import { RunSummary, TrainOptions, TrainResult, train } from '../train/trainer';
import { assertKnownKeys } from '../validate';
import { HtmlDisplay } from './kernel';
import { PlotlyFigure, showFigure } from './plotly';
import { Rows, TableCell, showTable } from './table';
import { batchLogFigure, batchLogSummary, configRows, interruptSignal, trainingCurves } from './training';

/** Print the plan's note and show the settings in which its config differs from the paper's protocol. */
export function showPlan(plan: ExperimentPlan, settings: ExperimentSettings): void {
  const paper = resolveConfig(settings.protocol, mergeOverrides({ method: settings.method }, settings.overrides, settings.full));
  console.log(plan.note);
  showTable(configRows({ paper, 'this run': plan.config }, { onlyDifferences: true }), { caption: "this run vs the paper's protocol: settings that differ" });
}

/** The batch log of a finished run as batchLogFigure and batchLogSummary (lib/display/training.ts). */
export function showBatchLog(result: Pick<TrainResult, 'runDir' | 'config'>): void {
  const log = readBatchLog(result.runDir);
  if (log.length === 0) {
    console.log(`no batch log in ${result.runDir} (config.logBatches is off)`);
    return;
  }
  showFigure(batchLogFigure(log, { alpha: result.config.alpha, title: `${log.length} batches of ${result.config.method}` }));
  showTable(batchLogSummary(log), { caption: 'per mode', digits: 3 });
}

export interface RunExperimentOptions {
  /** Run directory (default: runs/<protocol>-<method>-s<seed>-<time>, see train()). */
  runDir?: string;
  /** Curves title (default: protocol, method). */
  title?: string;
  /** Loss points per epoch on the curves (default 10). */
  pointsPerEpoch?: number;
  /** Output for the curves (default a new kernel display). */
  display?: HtmlDisplay | null;
  /** Continue the run in runDir (TrainOptions.resume). */
  resume?: boolean;
}

/**
 * Train `config` with live curves; the kernel's interrupt stops it between batches. The caller
 * disposes `result.model`.
 */
export async function runExperiment(config: TrainConfig, options: RunExperimentOptions = {}): Promise<TrainResult> {
  assertKnownKeys('runExperiment', options, ['runDir', 'title', 'pointsPerEpoch', 'display', 'resume']);
  const { curves, callbacks } = trainingCurves({
    title: options.title ?? `${config.protocol} · ${config.method}`, pointsPerEpoch: options.pointsPerEpoch, display: options.display,
  });
  const interrupt = interruptSignal();
  const trainOptions: TrainOptions = { runDir: options.runDir, resume: options.resume, signal: interrupt.signal, callbacks };
  try {
    return await train(config, trainOptions);
  } finally {
    interrupt.release();
    curves.finish();
  }
}

/** One row per method: its mode schedule (mode:weight), decoder, latent form, second-stage encoder e, Sinkhorn solver, plan, source, description. */
export function methodRows(methods: readonly string[]): Rows {
  return methods.map((name) => {
    const spec = methodSpec(name);
    return {
      method: name,
      modes: spec.modes.map((m) => `${m.mode}:${m.weight}`).join(' '),
      decoder: spec.decoder,
      latent: spec.latent,
      e: spec.embedding,
      sinkhorn: spec.sinkhorn,
      plan: spec.plan,
      source: spec.source,
      description: spec.description,
    };
  });
}

export interface PaperComparison {
  /** The main run's plan and result. */
  plan: ExperimentPlan;
  result: Pick<TrainResult, 'summary' | 'config'>;
  /**
   * The directory of a sweep of the baselines (runSweepInKernel: trained in the kernel when
   * quick, or submitted to a cluster); its completed runs are the rows, one per seed.
   */
  baselineSweep: string;
  paper?: PaperColumn;
}

/**
 * The main run beside the completed runs of a baseline sweep and the paper's column, as
 * summaryRows and summaryFigure; returns the rows' runs. Runs of the sweep that did not complete
 * are left out (sweepStatus shows them).
 */
export function compareWithPaper(c: PaperComparison): { name: string; summary: RunSummary }[] {
  assertKnownKeys('compareWithPaper', c, ['plan', 'result', 'baselineSweep', 'paper']);
  const setting = c.plan.quick ? 'QUICK (noise-level)' : 'FULL';
  const done = sweepStatus(c.baselineSweep).filter((r) => r.state === 'completed' && r.summary);
  const seeds = new Set(done.map((r) => r.seed));
  const baselines = done.map((r) => ({ name: seeds.size > 1 ? `${r.variant} s${r.seed}` : r.variant, summary: r.summary as RunSummary }));
  const runs = [...baselines, { name: c.result.config.method, summary: c.result.summary }];
  const paperKey = (name: string) => name.replace(/ s\d+$/, '');
  showTable(summaryRows(runs, { paper: c.paper, paperKey }), { caption: `${setting} runs${c.paper ? ` beside ${c.paper.reference}` : ''}`, digits: 2 });
  showFigure(summaryFigure(runs, { paper: c.paper, paperKey, title: `ours (${setting.toLowerCase()}) and the paper's` }));
  return runs;
}

/** A paper's numbers for one table column: method (or ablation row) -> value, and what they are. */
export interface PaperColumn {
  /** e.g. 'main paper Table 1, CIFAR-10, PreActResNet18'. */
  reference: string;
  /** 'error': top-1 error (%), lower is better; 'accuracy': top-1 accuracy (%). */
  metric: 'error' | 'accuracy';
  values: Record<string, number | null>;
}

export interface SummaryRowsOptions {
  /** The paper's column; rows take the value under their name (or `paperKey(name)`). */
  paper?: PaperColumn;
  /** Maps a row name to its key in paper.values (default the name itself). */
  paperKey?: (name: string) => string;
}

/**
 * One row per run: epochs, the test figure at the best validation epoch, the best test figure
 * (what the authors' code reports), the median of the last N epochs, the training time, and the
 * paper's number, all in % and in the paper column's metric (error or accuracy; default accuracy).
 */
export function summaryRows(runs: readonly { name: string; summary: RunSummary }[], options: SummaryRowsOptions = {}): Rows {
  assertKnownKeys('summaryRows', options, ['paper', 'paperKey']);
  const metric = options.paper?.metric ?? 'accuracy';
  const pct = (accuracy: number) => (Number.isFinite(accuracy) ? 100 * (metric === 'error' ? 1 - accuracy : accuracy) : null);
  const label = metric === 'error' ? 'top-1 error %' : 'top-1 accuracy %';
  return runs.map(({ name, summary: s }) => {
    const row: Record<string, TableCell> = {
      run: name,
      epochs: s.epochs,
      [`${label} (test at best val)`]: pct(s.testAccuracyAtBestVal),
      [`${label} (best test)`]: pct(s.bestTestAccuracy),
      [`${label} (median last ${s.lastN})`]: pct(s.medianLastNTestAccuracy),
      'train s': s.trainSeconds,
    };
    if (options.paper) {
      const key = options.paperKey ? options.paperKey(name) : name;
      row[`paper: ${options.paper.reference}`] = options.paper.values[key] ?? null;
    }
    return row;
  });
}

/**
 * Grouped bars per run: our test figure at the best validation epoch beside the paper's (same
 * metric as summaryRows).
 */
export function summaryFigure(runs: readonly { name: string; summary: RunSummary }[], options: SummaryRowsOptions & { title?: string } = {}): PlotlyFigure {
  assertKnownKeys('summaryFigure', options, ['paper', 'paperKey', 'title']);
  const metric = options.paper?.metric ?? 'accuracy';
  const names = runs.map((r) => r.name);
  const ours = runs.map(({ summary: s }) => (Number.isFinite(s.testAccuracyAtBestVal) ? 100 * (metric === 'error' ? 1 - s.testAccuracyAtBestVal : s.testAccuracyAtBestVal) : null));
  const data = [{ type: 'bar', name: 'ours (test at best val)', x: names, y: ours }];
  if (options.paper) {
    const paper = options.paper;
    data.push({ type: 'bar', name: `paper: ${paper.reference}`, x: names, y: names.map((n) => paper.values[options.paperKey ? options.paperKey(n) : n] ?? null) });
  }
  return {
    data,
    layout: {
      title: { text: options.title ?? '' },
      barmode: 'group',
      yaxis: { title: { text: metric === 'error' ? 'top-1 error (%)' : 'top-1 accuracy (%)' } },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/**
 * Main paper (AlignMix), Table 1: image classification top-1 error (%), lower is better, keyed by
 * our method names ('puzzlemix' and 'co-mixup' are not implemented here; 'alignmix' is the paper's
 * AlignMix: AE, modes {clean, input, latent, feat, feat'}). null: not reported ('–').
 */
export const PAPER_TABLE1: Record<string, PaperColumn> = {
  'cifar10/preact-resnet18': table1('CIFAR-10, PreActResNet18', [5.19, 4.03, 3.27, 2.95, 2.93, 2.89, 2.83]),
  'cifar10/wrn16-8': table1('CIFAR-10, WRN16-8', [5.11, 3.98, 3.54, 3.56, 2.99, 3.04, 3.15]),
  'cifar100/preact-resnet18': table1('CIFAR-100, PreActResNet18', [23.24, 20.21, 19.37, 19.80, 20.01, 19.81, 17.82]),
  'cifar100/wrn16-8': table1('CIFAR-100, WRN16-8', [20.63, 19.88, 19.71, 19.23, 19.25, 19.57, 18.09]),
  'tinyimagenet/preact-resnet18': table1('TinyImageNet, PreActResNet18', [43.40, 43.48, 43.11, 40.76, 36.52, 35.85, 32.73]),
  'imagenet/resnet50': table1('ImageNet (300 epochs), ResNet-50', [23.68, 22.58, 21.40, 22.50, 21.24, null, 18.83]),
};

function table1(column: string, errors: (number | null)[]): PaperColumn {
  const methods = ['baseline', 'input-mixup', 'cutmix', 'manifold-mixup', 'puzzlemix', 'co-mixup', 'alignmix'];
  return { reference: `main paper Table 1, ${column}`, metric: 'error', values: Object.fromEntries(methods.map((m, i) => [m, errors[i]])) };
}
