/**
 * The evaluation report of a model: every measurement of the papers' evaluation tables in one
 * call, as rows `{ metric, value, unit, source, n, settings }` (values in %, as the tables),
 * plus the structured results (reliability bins for Fig. 5, per-source OOD metrics, ...).
 *
 *   part          rows (source)                                   paper
 *   top1          top1_error, top1_accuracy (test)                 main Table 1
 *   fgsm, pgd     fgsm_top1_error, pgd_top1_error (test)           main Table 2
 *   calibration   ece, oe (test); result.calibration.reliability   main Table 3 right, Fig. 5; supp. Table 9
 *   ood           ood_det_acc, ood_det_acc_best, ood_auroc,        main Table 3 left; supp. Tables 7/8
 *                 ood_aupr_in, ood_aupr_out (per OOD source)
 *   localization  wsol_top1_loc, wsol_gt_known_loc,                main Table 4
 *                 wsol_top1_error (localization)
 *
 * The test set is read ONCE: per batch the clean prediction, the FGSM and PGD predictions and a
 * noise batch of the same shape per noise kind are computed, so a one-shot loader works. Other
 * OOD datasets and the localisation set are read once each. Randomness (PGD random start,
 * noise images) comes from forks of Rng(seed), one stream per use, so enabling or disabling a
 * part never changes another part's numbers.
 *
 * Definitions of every number: ./predict.ts (top-1), ./attacks.ts, ./calibration.ts, ./ood.ts,
 * ./ood-sources.ts (noise, resize/crop), ./cam.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { DataFrame } from 'danfojs-node';
import { Rng } from '../random';
import { assertInRange, assertInt, assertKnownKeys, assertOneOf } from '../validate';
import { describeAttack, FgsmOptions, makeAttack, PgdOptions } from './attacks';
import { assertBatchSource, concatChunks, forEachBatch, readLabels } from './batches';
import { CalibrationOptions, CalibrationResult, DEFAULT_CALIBRATION_BINS, predictionCalibration, ReliabilityBin } from './calibration';
import { CamOptions, evaluateLocalization, LocalizationBatch, LocalizationResult } from './cam';
import { OodMetrics, oodMetrics } from './ood';
import { FitMode, fitImages, GAUSSIAN_NOISE_DEFAULTS, NOISE_KINDS, noiseBatch, NoiseKind, NoiseOptions } from './ood-sources';
import { batchSoftmax, checkClassifier, maxSoftmaxScores, Predictions, topOne, Top1Result } from './predict';
import { BatchSource, Classifier, ImageBatch, isCamClassifier, LabeledBatch, SourceOptions } from './types';

export const EVAL_PARTS = ['top1', 'fgsm', 'pgd', 'calibration', 'ood', 'localization'] as const;
export type EvalPart = (typeof EVAL_PARTS)[number];

export interface OodDatasetSpec extends SourceOptions {
  /** Name used as the rows' source, e.g. 'lsun-crop', 'tinyimagenet-resize'. */
  name: string;
  data: BatchSource<ImageBatch>;
  /** How its images reach the test image size: 'resize' (default) or 'crop'. */
  fit?: FitMode;
}

export interface OodReportOptions {
  /** Noise sets built with the test set's count and shape; default both ['uniform', 'gaussian']. */
  noise?: NoiseKind[];
  /** Gaussian noise parameters; default mean 0.5, std 0.5. */
  gaussian?: NoiseOptions;
  /** Other datasets as OOD sources. */
  datasets?: OodDatasetSpec[];
  /** Threshold of ood_det_acc; default 0.5. */
  threshold?: number;
}

export interface LocalizationReportOptions extends CamOptions, SourceOptions {
  /** Images with ground-truth boxes, e.g. cubBatches(readCubMetadata(root)). */
  data: BatchSource<LocalizationBatch>;
}

export interface EvalProgress {
  stage: 'test' | 'ood' | 'localization';
  /** 'test', an OOD dataset name, or 'localization'. */
  source: string;
  /** Batches finished so far in this stage. */
  batches: number;
}

export interface EvaluationOptions extends SourceOptions {
  /** Parts to run; default every part whose inputs are given (localization needs options.localization). */
  parts?: EvalPart[];
  fgsm?: FgsmOptions;
  pgd?: Omit<PgdOptions, 'rng' | 'onStep'>;
  calibration?: CalibrationOptions;
  ood?: OodReportOptions;
  localization?: LocalizationReportOptions;
  /** Seed of the PGD random start and the noise sets; default 0. */
  seed?: number;
  /** Called after every batch. */
  onProgress?: (progress: EvalProgress) => void;
}

export interface ReportRow {
  metric: string;
  value: number;
  unit: '%';
  /** What was measured: 'test', an OOD source ('uniform', 'gaussian', a dataset name), 'localization'. */
  source: string;
  /** Images the number is computed over (OOD: the OOD images; settings give the ID count). */
  n: number;
  /** Settings that define the number, e.g. 'eps=8/255', 'bins=15'. */
  settings: string;
}

export interface OodSourceResult {
  source: string;
  metrics: OodMetrics;
}

export interface EvaluationReport {
  rows: ReportRow[];
  /** Clean predictions on the test set (probabilities, labels, confidences). */
  predictions: Predictions;
  top1?: Top1Result;
  fgsm?: Top1Result;
  pgd?: Top1Result;
  /** ECE, OE and the reliability bins. */
  calibration?: CalibrationResult;
  ood: OodSourceResult[];
  localization?: LocalizationResult;
}

/** The batches of `source`, calling `done(k)` once the consumer has finished the k-th one. */
async function* withProgress<B>(source: AsyncIterable<B> | Iterable<B>, done: (batches: number) => void): AsyncGenerator<B> {
  let batches = 0;
  for await (const batch of source) {
    yield batch;
    done(++batches);
  }
}

const OPTION_KEYS = ['parts', 'fgsm', 'pgd', 'calibration', 'ood', 'localization', 'seed', 'onProgress', 'disposeBatches'];

/**
 * Evaluate `model` on a labelled test set (module comment). For 'localization' the model must be
 * a CamClassifier and options.localization must give the data.
 */
export async function evaluateModel(
  model: Classifier, test: BatchSource<LabeledBatch>, options: EvaluationOptions = {},
): Promise<EvaluationReport> {
  const where = 'evaluateModel';
  assertKnownKeys(where, options, OPTION_KEYS);
  checkClassifier(where, model);
  const parts = new Set<EvalPart>((options.parts ?? EVAL_PARTS.filter((p) => p !== 'localization' || options.localization))
    .map((p) => assertOneOf(where, 'part', p, EVAL_PARTS)));
  if (parts.has('localization')) {
    if (!options.localization) throw new Error(`${where}: part 'localization' needs options.localization.data (images with boxes)`);
    if (!isCamClassifier(model)) throw new Error(`${where}: part 'localization' needs a CamClassifier (camInputs)`);
  }
  const oodOptions = options.ood ?? {};
  assertKnownKeys(`${where}: ood`, oodOptions, ['noise', 'gaussian', 'datasets', 'threshold']);
  const noiseKinds = parts.has('ood') ? (oodOptions.noise ?? [...NOISE_KINDS]).map((k) => assertOneOf(where, 'ood.noise', k, NOISE_KINDS)) : [];
  const datasets = parts.has('ood') ? oodOptions.datasets ?? [] : [];
  datasets.forEach((d, i) => {
    if (!d || typeof d.name !== 'string' || d.name === '') throw new Error(`${where}: ood.datasets[${i}] needs a non-empty name`);
    assertKnownKeys(`${where}: ood.datasets '${d.name}'`, d, ['name', 'data', 'fit', 'disposeBatches']);
    assertBatchSource(where, `ood.datasets '${d.name}' data`, d.data);
    assertOneOf(where, `ood.datasets '${d.name}' fit`, d.fit ?? 'resize', ['resize', 'crop']);
  });
  const names = [...noiseKinds, ...datasets.map((d) => d.name)];
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new Error(`${where}: OOD source name '${duplicate}' is used twice`);
  if (options.localization) assertBatchSource(where, 'localization.data', options.localization.data);
  const bins = options.calibration?.bins ?? DEFAULT_CALIBRATION_BINS;
  assertInt(where, 'calibration.bins', bins, 1);
  const oodThreshold = oodOptions.threshold ?? 0.5;
  assertInRange(where, 'ood.threshold', oodThreshold, -Infinity, Infinity);

  const root = new Rng(options.seed ?? 0);
  const fgsmSpec = { kind: 'fgsm' as const, ...options.fgsm };
  const pgdSpec = { kind: 'pgd' as const, ...options.pgd, rng: root.fork('pgd') };
  const runFgsm = parts.has('fgsm') ? makeAttack(fgsmSpec) : null;
  const runPgd = parts.has('pgd') ? makeAttack(pgdSpec) : null;
  const noiseRngs = noiseKinds.map((kind) => root.fork(`ood-noise-${kind}`));

  // One pass over the test set.
  const chunks = {
    labels: [] as Int32Array[], probabilities: [] as Float32Array[], predicted: [] as Int32Array[], confidence: [] as Float64Array[],
    fgsm: [] as Int32Array[], pgd: [] as Int32Array[], noise: noiseKinds.map(() => [] as Float64Array[]),
  };
  let imageShape: number[] | null = null;
  await forEachBatch(where, 'test', test, options, (batch, i) => {
    const [b, h, w, c] = batch.x.shape;
    if (imageShape === null) imageShape = [h, w, c];
    else if (imageShape[0] !== h || imageShape[1] !== w || imageShape[2] !== c) {
      throw new Error(`${where}: test batch ${i} has images of [${h},${w},${c}] but earlier batches [${imageShape.join(',')}]`);
    }
    const labels = readLabels(where, `test batch ${i} y`, batch.y, b, model.numClasses);
    const clean = batchSoftmax(where, model, batch.x);
    chunks.labels.push(labels);
    chunks.probabilities.push(clean.probabilities);
    chunks.predicted.push(clean.predicted);
    chunks.confidence.push(clean.confidence);
    for (const [run, out] of [[runFgsm, chunks.fgsm], [runPgd, chunks.pgd]] as const) {
      if (!run) continue;
      const adversarial = run(model, batch.x, batch.y);
      try {
        out.push(batchSoftmax(where, model, adversarial).predicted);
      } finally {
        adversarial.dispose();
      }
    }
    noiseKinds.forEach((kind, k) => {
      const noise = noiseBatch(kind, batch.x.shape, noiseRngs[k], kind === 'gaussian' ? oodOptions.gaussian ?? {} : {});
      try {
        chunks.noise[k].push(batchSoftmax(where, model, noise).confidence);
      } finally {
        noise.dispose();
      }
    });
    options.onProgress?.({ stage: 'test', source: 'test', batches: i + 1 });
  });
  if (imageShape === null || chunks.labels.length === 0) throw new Error(`${where}: the test set yielded no batches`);
  const [testH, testW, testC] = imageShape as number[];

  const labels = concatChunks(chunks.labels, (n) => new Int32Array(n));
  const predictions: Predictions = {
    numClasses: model.numClasses,
    n: labels.length,
    probabilities: concatChunks(chunks.probabilities, (n) => new Float32Array(n)),
    labels,
    predicted: concatChunks(chunks.predicted, (n) => new Int32Array(n)),
    confidence: concatChunks(chunks.confidence, (n) => new Float64Array(n)),
  };
  const n = predictions.n;
  const report: EvaluationReport = { rows: [], predictions, ood: [] };
  const row = (metric: string, fraction: number, source: string, count: number, settings: string) =>
    report.rows.push({ metric, value: 100 * fraction, unit: '%', source, n: count, settings });

  if (parts.has('top1')) {
    report.top1 = topOne(labels, predictions.predicted);
    row('top1_error', report.top1.error, 'test', n, '');
    row('top1_accuracy', report.top1.accuracy, 'test', n, '');
  }
  if (runFgsm) {
    report.fgsm = topOne(labels, concatChunks(chunks.fgsm, (m) => new Int32Array(m)));
    row('fgsm_top1_error', report.fgsm.error, 'test', n, describeAttack(fgsmSpec));
  }
  if (runPgd) {
    report.pgd = topOne(labels, concatChunks(chunks.pgd, (m) => new Int32Array(m)));
    row('pgd_top1_error', report.pgd.error, 'test', n, describeAttack({ ...pgdSpec, rng: undefined, seed: options.seed ?? 0 }));
  }
  if (parts.has('calibration')) {
    report.calibration = predictionCalibration(predictions, { bins });
    row('ece', report.calibration.ece, 'test', n, `bins=${bins}`);
    row('oe', report.calibration.oe, 'test', n, `bins=${bins}`);
  }

  const addOod = (source: string, outScores: Float64Array, settings: string) => {
    const metrics = oodMetrics(predictions.confidence, outScores, { threshold: oodThreshold });
    report.ood.push({ source, metrics });
    const base = `score=max softmax; n_in=${n}${settings ? `; ${settings}` : ''}`;
    row('ood_det_acc', metrics.detAcc, source, metrics.nOut, `${base}; threshold=${metrics.threshold} (ID iff score >= threshold)`);
    row('ood_det_acc_best', metrics.bestDetAcc, source, metrics.nOut, `${base}; best threshold=${metrics.bestThreshold}`);
    row('ood_auroc', metrics.auroc, source, metrics.nOut, base);
    row('ood_aupr_in', metrics.auprIn, source, metrics.nOut, `${base}; average precision, ID positive`);
    row('ood_aupr_out', metrics.auprOut, source, metrics.nOut, `${base}; average precision, OOD positive`);
  };
  noiseKinds.forEach((kind, k) => {
    const g = { ...GAUSSIAN_NOISE_DEFAULTS, ...oodOptions.gaussian };
    addOod(kind, concatChunks(chunks.noise[k], (m) => new Float64Array(m)),
      kind === 'uniform' ? 'U(0,1)' : `N(${g.mean}, std ${g.std}) clipped to [0,1]`);
  });
  for (const spec of datasets) {
    const fit = spec.fit ?? 'resize';
    const scores = await maxSoftmaxScores(model, withProgress(spec.data, (batches) => options.onProgress?.({ stage: 'ood', source: spec.name, batches })), {
      disposeBatches: spec.disposeBatches ?? !Array.isArray(spec.data),
      transform: (x) => fitImages(x, { size: [testH, testW], fit, channels: testC }),
    });
    addOod(spec.name, scores, `fit=${fit} ${testH}x${testW}`);
  }

  if (parts.has('localization') && options.localization && isCamClassifier(model)) {
    const { data, ...locOptions } = options.localization;
    const progressing = withProgress(data, (batches) => options.onProgress?.({ stage: 'localization', source: 'localization', batches }));
    const result = await evaluateLocalization(model, progressing, {
      ...locOptions, disposeBatches: locOptions.disposeBatches ?? !Array.isArray(data),
    });
    report.localization = result;
    const settings = `cam_threshold=${result.threshold}; iou>=${result.iouThreshold}`;
    row('wsol_top1_loc', result.top1Loc, 'localization', result.n, settings);
    row('wsol_gt_known_loc', result.gtKnownLoc, 'localization', result.n, settings);
    row('wsol_top1_error', result.top1.error, 'localization', result.n, '');
  }
  return report;
}

type CsvValue = string | number | null | undefined;

/** RFC 4180 CSV: header line, then one line per record; quotes fields that need it. */
export function toCsv(columns: readonly string[], records: readonly Record<string, CsvValue>[]): string {
  const field = (v: CsvValue): string => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'number' ? String(v) : v;
    return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.map(field).join(',')];
  for (const r of records) lines.push(columns.map((c) => field(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

export const REPORT_COLUMNS = ['metric', 'value', 'unit', 'source', 'n', 'settings'] as const;

/** The report rows as CSV (full-precision values). */
export function reportToCsv(rows: readonly ReportRow[]): string {
  return toCsv(REPORT_COLUMNS, rows as unknown as Record<string, CsvValue>[]);
}

/** Write the report rows as CSV to `file` (parent folders are created). */
export function writeReportCsv(file: string, rows: readonly ReportRow[]): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, reportToCsv(rows));
}

/** Reliability-diagram bins as CSV (empty cells for empty bins). */
export function reliabilityToCsv(bins: readonly ReliabilityBin[]): string {
  return toCsv(['index', 'lower', 'upper', 'count', 'meanConfidence', 'accuracy', 'gap'], bins as unknown as Record<string, CsvValue>[]);
}

/**
 * The report rows as a danfojs DataFrame (columns metric, value, unit, source, n, settings).
 * danfojs-node is loaded here, on first use (it is slow to load and needs the native tfjs-node).
 * It is loaded only when it would share this process's TensorFlow.js: a danfojs-node install
 * with its own nested @tensorflow/tfjs-node (its default dependency, v3) would bring a second
 * tfjs-core that re-registers every kernel on the running engine. Otherwise this throws, and
 * reportToCsv is the fallback.
 */
export function reportDataFrame(rows: readonly ReportRow[]): DataFrame {
  const where = 'reportDataFrame';
  const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0];
  let theirCore: string;
  let ourCore: string;
  try {
    const danfoMain = require.resolve('danfojs-node');
    const tfNode = require.resolve('@tensorflow/tfjs-node', { paths: [path.dirname(danfoMain)] });
    theirCore = require.resolve('@tensorflow/tfjs-core', { paths: [path.dirname(tfNode)] });
    ourCore = require.resolve('@tensorflow/tfjs-core');
  } catch (e) {
    throw new Error(`${where}: danfojs-node could not be loaded (${firstLine(e)}); use reportToCsv instead`);
  }
  if (theirCore !== ourCore) {
    throw new Error(`${where}: danfojs-node could not be loaded: it would bring its own TensorFlow.js (${theirCore}) beside the running one `
      + `(${ourCore}); give it this tfjs with an npm override of @tensorflow/tfjs-node; use reportToCsv instead`);
  }
  let dfd: typeof import('danfojs-node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    dfd = require('danfojs-node');
  } catch (e) {
    throw new Error(`${where}: danfojs-node could not be loaded (${firstLine(e)}); use reportToCsv instead`);
  }
  return new dfd.DataFrame(rows.map((r) => Object.fromEntries(REPORT_COLUMNS.map((c) => [c, r[c]]))));
}
