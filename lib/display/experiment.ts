/**
 * The experiment flow shared by the training, ablation and evaluation notebooks, so that each
 * notebook only states its protocol, its settings and its story:
 *
 *   planExperiment   which data and which config: the protocol's dataset when its folder is
 *                    there, else the embedded Fashion-MNIST; a QUICK config (small CNN, a few
 *                    hundred images, a few epochs: seconds on 2 CPU cores) or the FULL protocol
 *   showPlan         the plan's note and the settings in which it differs from the paper's protocol
 *   runExperiment    train() with live curves, the kernel's interrupt button wired to an
 *                    AbortSignal (the run stops between batches with its last checkpoint)
 *   showBatchLog     the run's per-batch log (modes, lambda, Sinkhorn) as a figure and a table
 *   compareWithPaper the baselines (trained here when quick, read from earlier runs when full)
 *                    and the main run, as a table and a figure beside the paper's column
 *   runSweep         several configs in turn (an ablation), one live figure of their test
 *                    accuracy, the summaries kept
 *   methodRows       what each named method mixes (modes and their weights, decoder, solver)
 *   readRunSummary   the summary of a finished run directory (e.g. a full run trained earlier)
 *   summaryRows      run summaries as a table, beside the paper's number for each row
 *   summaryFigure    the same as grouped bars: ours beside the paper
 *
 * Quick or full. Quick is the default when ALIGNMIX_QUICK=1 (quickMode(), set by
 * `npm run test:notebooks`) or when the protocol's dataset is absent; the notebook can force
 * either (`quick: true | false`). A quick run keeps the code path of the method (mode schedule,
 * Sinkhorn settings, alpha, the shape of the learning-rate schedule: see resolveConfig's milestone
 * scaling) and shrinks everything that costs time: the model becomes the small CNN (its last
 * feature map is 4x4, like PreActResNet18's on 32x32), the images are a few hundred (spread over
 * the classes), and there are a few epochs. On the protocol's own dataset it keeps the protocol's
 * optimiser; on the fallback it takes the fallback preset's (lr 0.05). Its accuracies are
 * noise-level: they show that the pipeline works, not which method is better.
 *
 * Paper numbers: PAPER_TABLE1 holds the main paper's Table 1 (top-1 error, %), the table the
 * training notebooks compare with; ablation notebooks copy their own tables.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigOverrides, DatasetName, TrainConfig, protocolDescription, resolveConfig } from '../train/config';
import { methodSpec } from '../train/methods';
import { RUN_FILES, runFile } from '../train/run-dir';
import { RunSummary, TrainOptions, TrainResult, train } from '../train/trainer';
import { assertKnownKeys } from '../validate';
import { HtmlDisplay, quickMode } from './kernel';
import { PlotlyFigure, showFigure } from './plotly';
import { LiveCurves } from './progress';
import { Rows, TableCell, showTable } from './table';
import { batchLogFigure, batchLogSummary, configRows, interruptSignal, readBatchLog, trainingCurves } from './training';

/** Where each file-based dataset of a protocol is looked for under the data root, and what it must hold. */
const DATASET_FOLDERS: Partial<Record<DatasetName, { folder: string; required: string[]; classes: number }>> = {
  cifar10: { folder: 'cifar-10-batches-bin', required: ['data_batch_1.bin', 'test_batch.bin'], classes: 10 },
  cifar100: { folder: 'cifar-100-binary', required: ['train.bin', 'test.bin'], classes: 100 },
  tinyimagenet: { folder: 'tiny-imagenet-200', required: ['wnids.txt', 'train', 'val'], classes: 200 },
  imagenet: { folder: 'imagenet', required: ['train', 'val'], classes: 1000 },
};

/**
 * The folder of a protocol's dataset under `root` (`root/<folder>` or `root` itself, whichever
 * holds the dataset's files), or null when absent. Datasets shipped with the library
 * (Fashion-MNIST, synthetic) need no folder: their protocols give `root` back.
 */
export function findDatasetFolder(protocol: string, root: string): string | null {
  const name = resolveConfig(protocol).data.name;
  const spec = DATASET_FOLDERS[name];
  if (!spec) return root;
  const holds = (dir: string) => spec.required.every((entry) => fs.existsSync(path.join(dir, entry)));
  return [path.join(root, spec.folder), root].find(holds) ?? null;
}

/** Sizes of a quick run: images per class come from a total, so 100- or 1000-class datasets stay small. */
export interface QuickSize {
  /** Training images in all (default 600), spread evenly over the classes (at least 2 each). */
  trainImages: number;
  /** Validation and test images in all (defaults 200 and 500), at least 1 per class. */
  valImages: number;
  testImages: number;
  epochs: number;
  batchSize: number;
}

export const QUICK_SIZE: QuickSize = { trainImages: 600, valImages: 200, testImages: 500, epochs: 3, batchSize: 32 };

export interface ExperimentSettings {
  /** The paper's protocol (resolveConfig preset), e.g. 'cifar10', 'tinyimagenet'. */
  protocol: string;
  method: string;
  /** Force the quick (true) or full (false) setting; default quick when quickMode() or the dataset is absent. */
  quick?: boolean;
  /** Folder holding the datasets; default env ALIGNMIX_DATA, else ./data. */
  dataRoot?: string;
  /** Overrides of both settings (e.g. an ablation's Sinkhorn iterations, model.alignResolution). */
  overrides?: ConfigOverrides;
  /** Overrides of the full setting only (e.g. model.arch 'wrn16-8', fewer epochs). */
  full?: ConfigOverrides;
  /** Sizes of the quick setting (default QUICK_SIZE). */
  quickSize?: Partial<QuickSize>;
  /** Protocol of a quick run when the dataset is absent (default 'fashion-mnist'). */
  fallback?: 'fashion-mnist' | 'synthetic';
}

export interface ExperimentPlan {
  config: TrainConfig;
  quick: boolean;
  /** The protocol's dataset folder, or null when it is absent. */
  datasetFolder: string | null;
  /** One line for the notebook's output: what runs, on which data, and why. */
  note: string;
}

/** Merge override objects section by section (later wins), as resolveConfig merges into a preset. */
export function mergeOverrides(...layers: (ConfigOverrides | undefined)[]): ConfigOverrides {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer ?? {})) {
      const isSection = value !== null && typeof value === 'object' && !Array.isArray(value);
      out[key] = isSection ? { ...(out[key] as object | undefined), ...value } : value;
    }
  }
  return out as ConfigOverrides;
}

/** The config of an experiment and why it is that one (module comment: quick or full). */
export function planExperiment(settings: ExperimentSettings): ExperimentPlan {
  const where = 'planExperiment';
  assertKnownKeys(where, settings, ['protocol', 'method', 'quick', 'dataRoot', 'overrides', 'full', 'quickSize', 'fallback']);
  assertKnownKeys(`${where}: quickSize`, settings.quickSize ?? {}, Object.keys(QUICK_SIZE));
  const root = path.resolve(settings.dataRoot ?? process.env.ALIGNMIX_DATA ?? 'data');
  const folder = findDatasetFolder(settings.protocol, root);
  const paper = resolveConfig(settings.protocol);
  const quick = settings.quick ?? (quickMode() || folder === null);
  const method = { method: settings.method };
  if (!quick) {
    if (folder === null) {
      throw new Error(`${where}: the full '${settings.protocol}' setting needs its dataset (${DATASET_FOLDERS[paper.data.name]?.folder}) under ${root}; set ALIGNMIX_DATA or dataRoot, or run quick`);
    }
    const config = resolveConfig(settings.protocol, mergeOverrides(method, { data: { root: folder } }, settings.overrides, settings.full));
    return { config, quick, datasetFolder: folder, note: `FULL: ${protocolDescription(settings.protocol)}, ${settings.method}, data ${folder}` };
  }
  const size = { ...QUICK_SIZE, ...settings.quickSize };
  const protocol = folder === null ? settings.fallback ?? 'fashion-mnist' : settings.protocol;
  const classes = DATASET_FOLDERS[resolveConfig(protocol).data.name]?.classes ?? 10;
  const perClass = (total: number, least: number) => Math.max(least, Math.round(total / classes));
  const quickOverrides: ConfigOverrides = {
    epochs: size.epochs,
    batchSize: size.batchSize,
    evalBatchSize: 250,
    lastN: Math.min(paper.lastN, size.epochs),
    model: { arch: 'small-cnn' },
    data: {
      ...(folder === null ? {} : { root: folder }),
      trainPerClass: perClass(size.trainImages, 2), valPerClass: perClass(size.valImages, 1), testPerClass: perClass(size.testImages, 1),
      workers: 0,
    },
  };
  const config = resolveConfig(protocol, mergeOverrides(method, quickOverrides, settings.overrides));
  const why = folder === null
    ? `the ${paper.data.name} dataset is not under ${root} (set ALIGNMIX_DATA), so the embedded ${protocol} stands in`
    : quickMode() ? 'ALIGNMIX_QUICK=1' : 'quick requested';
  const note = `QUICK (${why}): ${settings.method} on ${config.data.name}, small CNN, ${config.data.trainPerClass} training images per class, `
    + `${config.epochs} epochs; noise-level numbers, not the paper's protocol`;
  return { config, quick, datasetFolder: folder, note };
}

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

export interface SweepOptions {
  /** Folder of the runs: each config trains in `<runRoot>/<name>` (default: train()'s default folders). */
  runRoot?: string;
  title?: string;
  display?: HtmlDisplay | null;
}

export interface SweepResult {
  name: string;
  config: TrainConfig;
  summary: RunSummary;
  status: TrainResult['status'];
  runDir: string;
}

/**
 * Train each named config in turn, drawing every run's test accuracy per epoch in one live figure.
 * Models are disposed after each run (their checkpoints stay in the run directories). An interrupt
 * stops the sweep after the run it hits.
 */
export async function runSweep(configs: Record<string, TrainConfig>, options: SweepOptions = {}): Promise<SweepResult[]> {
  assertKnownKeys('runSweep', options, ['runRoot', 'title', 'display']);
  const names = Object.keys(configs);
  const metric = (name: string) => `${name}: test accuracy`;
  const curves = new LiveCurves({
    title: options.title, xTitle: 'epoch', display: options.display,
    panels: [{ title: 'test accuracy', metrics: names.map(metric) }],
  });
  const interrupt = interruptSignal();
  const results: SweepResult[] = [];
  try {
    for (const name of names) {
      const r = await train(configs[name], {
        runDir: options.runRoot === undefined ? undefined : path.join(options.runRoot, name.replace(/[^\w.-]+/g, '_')),
        signal: interrupt.signal,
        callbacks: { onEpoch: (record) => void curves.update(record.epoch, { [metric(name)]: record.testAccuracy }) },
      });
      r.model.dispose();
      results.push({ name, config: r.config, summary: r.summary, status: r.status, runDir: r.runDir });
      if (r.status === 'aborted') break;
    }
  } finally {
    interrupt.release();
    curves.finish();
  }
  return results;
}

/** The summary.json of a run directory (written after every epoch by train()). */
export function readRunSummary(runDir: string): RunSummary {
  const file = runFile(runDir, 'summary');
  if (!fs.existsSync(file)) throw new Error(`readRunSummary: no ${RUN_FILES.summary} in ${runDir}: not a run directory, or no epoch finished yet`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as RunSummary;
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
  /** Settings of the main run; the baselines reuse them with their own method. */
  settings: ExperimentSettings;
  /** The main run's plan and result. */
  plan: ExperimentPlan;
  result: Pick<TrainResult, 'summary' | 'config'>;
  /** Methods trained here beside the main run in the quick setting. */
  baselines: string[];
  /**
   * Full setting: method -> run directory of an earlier run (training the baselines here would
   * cost as much as the main run each).
   */
  baselineRuns?: Record<string, string>;
  paper?: PaperColumn;
}

/**
 * The main run beside its baselines and the paper's column: quick plans train the baselines here
 * (one runSweep), full plans read `baselineRuns`. Shows summaryRows and summaryFigure; returns the
 * rows' runs.
 */
export async function compareWithPaper(c: PaperComparison): Promise<{ name: string; summary: RunSummary }[]> {
  assertKnownKeys('compareWithPaper', c, ['settings', 'plan', 'result', 'baselines', 'baselineRuns', 'paper']);
  const setting = c.plan.quick ? 'QUICK (noise-level)' : 'FULL';
  const baselines = c.plan.quick
    ? await runSweep(
      Object.fromEntries(c.baselines.map((method) => [method, planExperiment({ ...c.settings, method, quick: true }).config])),
      { title: 'baselines: test accuracy per epoch' })
    : Object.entries(c.baselineRuns ?? {}).map(([name, dir]) => ({ name, summary: readRunSummary(dir) }));
  const runs = [...baselines, { name: c.result.config.method, summary: c.result.summary }];
  showTable(summaryRows(runs, { paper: c.paper }), { caption: `${setting} runs${c.paper ? ` beside ${c.paper.reference}` : ''}`, digits: 2 });
  showFigure(summaryFigure(runs, { paper: c.paper, title: `ours (${setting.toLowerCase()}) and the paper's` }));
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
