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

/** Split one CSV line written by toCsvLine into fields ("..." quoting with doubled quotes). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { fields.push(field); field = ''; } else field += ch;
  }
  fields.push(field);
  return fields;
}

/**
 * The rows of a CSV written by writeCompareCsv (numbers parsed). Throws, naming the file, when a
 * column is missing or a row has the wrong number of fields.
 */
export function readCompareCsv(file: string): CompareRow[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error(`${file}: empty; expected a header of ${COMPARE_COLUMNS.join(', ')}`);
  const header = csvFields(lines[0]);
  const missing = COMPARE_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) throw new Error(`${file}: missing column(s) ${missing.join(', ')}`);
  const text = new Set<string>(['protocol', 'method', 'runDir']);
  return lines.slice(1).map((line, i) => {
    const fields = csvFields(line);
    if (fields.length !== header.length) throw new Error(`${file}: row ${i + 2} has ${fields.length} fields, the header ${header.length}`);
    return Object.fromEntries(header.map((h, k) => [h, text.has(h) ? fields[k] : Number(fields[k])])) as unknown as CompareRow;
  });
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
