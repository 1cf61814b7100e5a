/**
 * A run directory (timm-style): everything needed to inspect, reproduce and resume a run. This
 * module is its only writer and reader: the trainer, sweeps, the CLI and the notebooks' displays
 * all go through the functions here.
 *
 *   config.json     the full resolved config, backend and versions (written at start)
 *   metrics.csv     one row per epoch
 *   batches.jsonl   one JSON line per batch (mode, lambda, losses, Sinkhorn diagnostics), optional
 *   last.ckpt       weights, optimiser and RNG state after the latest epoch (atomic)
 *   best.ckpt       the same, for the epoch with the best validation accuracy (atomic)
 *   summary.json    best / median-of-last-N / final accuracies, written after every epoch
 *   status.json     runs of a sweep: running / completed / cancelled / failed, with the error
 *   run.log         runs of a sweep: the worker's progress lines and, on failure, its error
 *
 * Every JSON file is written atomically (temporary file + rename), so a reader never sees half a
 * file, whichever process wrote it.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { BackendInfo } from '../backend';
import type { TrainConfig } from './config';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.csv',
  batches: 'batches.jsonl',
  last: 'last.ckpt',
  best: 'best.ckpt',
  summary: 'summary.json',
  status: 'status.json',
  log: 'run.log',
} as const;

export type RunFileName = keyof typeof RUN_FILES;

export function runFile(dir: string, name: RunFileName): string {
  return path.join(dir, RUN_FILES[name]);
}

/** Write JSON atomically (temporary file + rename), so a crash never leaves half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

function readJson<T>(where: string, dir: string, name: RunFileName): T {
  const file = runFile(dir, name);
  if (!fs.existsSync(file)) throw new Error(`${where}: no ${RUN_FILES[name]} in ${dir}`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${where}: ${file} is not JSON (${(e as Error).message})`);
  }
}

/* ----------------------------------------------------------------------------------- config.json */

/** config.json: the resolved config and where it ran. */
export interface RunConfigFile {
  config: TrainConfig;
  backend: BackendInfo & { description: string };
  alignmix: string;
  node: string;
  host: { cpus: number; platform: string };
  started: string;
  model: { parameters: number; featureShape: number[]; latentShape: number[] };
}

export function writeRunConfig(dir: string, file: RunConfigFile): void {
  writeJsonAtomic(runFile(dir, 'config'), file);
}

export function readRunConfigFile(dir: string): RunConfigFile {
  return readJson<RunConfigFile>('readRunConfigFile', dir, 'config');
}

/** The config a run was started with (to resume it, or to rebuild its model for evaluation). */
export function readRunConfig(dir: string): TrainConfig {
  if (!fs.existsSync(runFile(dir, 'config'))) throw new Error(`no ${RUN_FILES.config} in ${dir}: not an alignmix run directory`);
  return readRunConfigFile(dir).config;
}

/* ----------------------------------------------------------------------------------- metrics.csv */

/** One epoch of training, one row of metrics.csv. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  valAccuracy: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
  /** Batches per mode this epoch, e.g. "input:12 feat:7". */
  modes: string;
  /** Mean Sinkhorn row-marginal error of the aligned batches (NaN if none). */
  sinkhornRowError: number;
}

export const METRIC_COLUMNS: readonly (keyof EpochRecord)[] = [
  'epoch', 'lr', 'trainLoss', 'valAccuracy', 'testAccuracy', 'seconds', 'imagesPerSecond', 'modes', 'sinkhornRowError',
];

/** CSV field: numbers to 6 significant digits (integers exactly), quoted when it holds a comma, quote or newline. */
function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(6)) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsvLine(values: unknown[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

/** The fields of one CSV line (RFC 4180 quoting, as toCsvLine writes it). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { out.push(field); field = ''; } else field += ch;
  }
  out.push(field);
  return out;
}

/**
 * Rewrite metrics.csv from the full history (a resumed run replaces the rows after its
 * checkpoint, so an interrupted epoch never leaves a duplicate row).
 */
export function writeMetrics(dir: string, history: readonly EpochRecord[]): void {
  const file = runFile(dir, 'metrics');
  const tmp = `${file}.tmp-${process.pid}`;
  const lines = [toCsvLine([...METRIC_COLUMNS]), ...history.map((r) => toCsvLine(METRIC_COLUMNS.map((c) => r[c])))];
  fs.writeFileSync(tmp, lines.join(''));
  fs.renameSync(tmp, file);
}

/** The epochs recorded in metrics.csv (numbers to the 6 digits they were written with); [] before the first epoch. */
export function readMetrics(dir: string): EpochRecord[] {
  const file = runFile(dir, 'metrics');
  if (!fs.existsSync(file)) return [];
  const [header, ...rows] = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const columns = parseCsvLine(header ?? '');
  const missing = METRIC_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length) throw new Error(`readMetrics: ${file} lacks the column(s) ${missing.join(', ')}`);
  return rows.map((line) => {
    const fields = parseCsvLine(line);
    const record: Record<string, string | number> = {};
    columns.forEach((c, i) => { record[c] = c === 'modes' ? fields[i] : Number(fields[i] === '' ? NaN : fields[i]); });
    return record as unknown as EpochRecord;
  });
}

/* --------------------------------------------------------------------------------- batches.jsonl */

/** One line of batches.jsonl. */
export interface BatchLogRecord {
  epoch: number;
  batch: number;
  mode: string;
  lambda: number;
  targetWeight: number;
  /** Manifold mixup: the mixed layer. */
  layer?: number;
  losses: { total: number; classification: number; reconstruction?: number; kl?: number };
  lr: number;
  sinkhorn?: { iterations: number; rowError: number; colError: number; converged: boolean };
}

/**
 * Keep the first `keepBatches` lines of batches.jsonl (those of the epochs a resumed run keeps)
 * and return an appender for new lines.
 */
export function openBatchLog(dir: string, keepBatches: number): (record: BatchLogRecord) => void {
  const file = runFile(dir, 'batches');
  if (fs.existsSync(file)) {
    const kept = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l).slice(0, keepBatches);
    fs.writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
  } else {
    fs.writeFileSync(file, '');
  }
  return (record) => fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/** The batch log of a run directory (empty when the run logged no batches). */
export function readBatchLog(dir: string): BatchLogRecord[] {
  const file = runFile(dir, 'batches');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line, i) => {
    try {
      return JSON.parse(line) as BatchLogRecord;
    } catch (e) {
      throw new Error(`readBatchLog: ${file} line ${i + 1} is not JSON (${(e as Error).message})`);
    }
  });
}

/* ---------------------------------------------------------------------------------- summary.json */

export interface RunSummary {
  protocol: string;
  method: string;
  seed: number;
  epochs: number;
  bestValAccuracy: number;
  bestValEpoch: number;
  testAccuracyAtBestVal: number;
  bestTestAccuracy: number;
  bestTestEpoch: number;
  medianLastNTestAccuracy: number;
  lastN: number;
  finalTestAccuracy: number;
  trainSeconds: number;
}

export function writeRunSummary(dir: string, summary: RunSummary): void {
  writeJsonAtomic(runFile(dir, 'summary'), summary);
}

/** The summary.json of a run directory (written after every epoch by train()). */
export function readRunSummary(dir: string): RunSummary {
  const file = runFile(dir, 'summary');
  if (!fs.existsSync(file)) throw new Error(`readRunSummary: no ${RUN_FILES.summary} in ${dir}: not a run directory, or no epoch finished yet`);
  return readJson<RunSummary>('readRunSummary', dir, 'summary');
}

/* ----------------------------------------------------------------------------------- status.json */

/**
 * Where a run of a sweep stands, as its worker last wrote it:
 *   running    a worker holds it (pid on host); a worker that died without a word leaves this
 *   completed  all epochs done; summary.json is final
 *   cancelled  stopped by a signal (Ctrl-C, scancel) between batches; resumable from last.ckpt
 *   failed     an error ended it (`error`); `nonFinite` when the loss became NaN or Inf
 */
export type RunState = 'running' | 'completed' | 'cancelled' | 'failed';
export const RUN_STATES: readonly RunState[] = ['running', 'completed', 'cancelled', 'failed'];

export interface RunStatus {
  state: RunState;
  /** ISO time of this status. */
  updated: string;
  pid: number;
  host: string;
  /** Times a worker has started this run (1 on the first start; resumes add one). */
  attempts: number;
  /** Epochs done when the status was written. */
  epochsDone: number;
  epochs: number;
  error?: string;
  nonFinite?: boolean;
}

export function writeRunStatus(dir: string, status: RunStatus): void {
  writeJsonAtomic(runFile(dir, 'status'), status);
}

/** The run's status.json, or null when no worker has started it. */
export function readRunStatus(dir: string): RunStatus | null {
  if (!fs.existsSync(runFile(dir, 'status'))) return null;
  const s = readJson<RunStatus>('readRunStatus', dir, 'status');
  if (!RUN_STATES.includes(s.state)) throw new Error(`readRunStatus: ${runFile(dir, 'status')} has unknown state '${s.state}'`);
  return s;
}

/** Append lines to the run's log (run.log). */
export function appendRunLog(dir: string, text: string): void {
  fs.appendFileSync(runFile(dir, 'log'), text.endsWith('\n') ? text : `${text}\n`);
}
