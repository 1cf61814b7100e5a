/**
 * A run directory (timm-style): everything needed to inspect, reproduce and resume a run.
 *
 *   config.json     the full resolved config, backend and versions (written at start)
 *   metrics.csv     one row per epoch
 *   batches.jsonl   one JSON line per batch (mode, lambda, losses, Sinkhorn diagnostics), optional
 *   last.ckpt       weights, optimiser and RNG state after the latest epoch (atomic)
 *   best.ckpt       the same, for the epoch with the best validation accuracy (atomic)
 *   summary.json    best / median-of-last-N / final accuracies, written after every epoch
 */
import * as fs from 'fs';
import * as path from 'path';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.csv',
  batches: 'batches.jsonl',
  last: 'last.ckpt',
  best: 'best.ckpt',
  summary: 'summary.json',
} as const;

export function runFile(dir: string, name: keyof typeof RUN_FILES): string {
  return path.join(dir, RUN_FILES[name]);
}

/** Write JSON atomically (temporary file + rename), so a crash never leaves half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** CSV field: quoted when it holds a comma, quote or newline. */
function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(6)) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsvLine(values: unknown[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

/**
 * Rewrite metrics.csv from the full history (a resumed run replaces the rows after its
 * checkpoint, so an interrupted epoch never leaves a duplicate row).
 */
export function writeMetricsCsv<T extends object>(dir: string, rows: T[], columns: (keyof T & string)[]): void {
  const file = runFile(dir, 'metrics');
  const tmp = `${file}.tmp-${process.pid}`;
  const lines = [toCsvLine(columns), ...rows.map((r) => toCsvLine(columns.map((c) => r[c])))];
  fs.writeFileSync(tmp, lines.join(''));
  fs.renameSync(tmp, file);
}

/**
 * Keep the first `keepBatches` lines of batches.jsonl (those of the epochs a resumed run keeps)
 * and return an appender for new lines.
 */
export function openBatchLog(dir: string, keepBatches: number): (record: object) => void {
  const file = runFile(dir, 'batches');
  if (fs.existsSync(file)) {
    const kept = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l).slice(0, keepBatches);
    fs.writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
  } else {
    fs.writeFileSync(file, '');
  }
  return (record) => fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
}
