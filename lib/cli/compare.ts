/**
 * Results of several runs side by side: one CSV row per run, and a table of mean +- standard
 * deviation per method (sample standard deviation over seeds; 0 runs of one seed show '-').
 */
import * as fs from 'fs';
import * as path from 'path';
import { toCsvLine } from '../train/run-dir';
import { RunSummary } from '../train/trainer';

export const COMPARE_COLUMNS = [
  'protocol', 'method', 'seed', 'epochs', 'testAccuracyAtBestVal', 'bestValAccuracy', 'bestValEpoch',
  'bestTestAccuracy', 'medianLastNTestAccuracy', 'lastN', 'finalTestAccuracy', 'trainSeconds', 'runDir',
] as const;

export type CompareRow = RunSummary & { runDir: string };

export function writeCompareCsv(file: string, rows: CompareRow[]): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const lines = [toCsvLine([...COMPARE_COLUMNS]), ...rows.map((r) => toCsvLine(COMPARE_COLUMNS.map((c) => r[c])))];
  fs.writeFileSync(file, lines.join(''));
}

export function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : NaN;
  return { mean, std };
}

/** Per method, in order of first appearance: accuracies in % as mean +- std over its runs. */
export function compareTable(rows: CompareRow[]): string {
  const methods = [...new Set(rows.map((r) => r.method))];
  const fmt = (vs: number[]) => {
    const { mean, std } = meanStd(vs.map((v) => 100 * v));
    return `${mean.toFixed(2)} ± ${Number.isNaN(std) ? '-' : std.toFixed(2)}`;
  };
  const header = ['method', 'runs', 'test acc @ best val (%)', 'best test acc (%)', 'median last N (%)', 'time/run (s)'];
  const body = methods.map((m) => {
    const rs = rows.filter((r) => r.method === m);
    return [m, String(rs.length), fmt(rs.map((r) => r.testAccuracyAtBestVal)), fmt(rs.map((r) => r.bestTestAccuracy)),
      fmt(rs.map((r) => r.medianLastNTestAccuracy)), (rs.reduce((a, r) => a + r.trainSeconds, 0) / rs.length).toFixed(0)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
