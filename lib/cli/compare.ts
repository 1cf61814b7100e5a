/**
 * Sweep results as terminal text: per variant, accuracies in % as mean ± sample standard deviation
 * over its completed seeds ('-' for one run), the runs a row covers, and the runs that stopped
 * without completing, with their logs. `alignmix compare` and `alignmix sweep collect` print these.
 */
import { SweepResults, SweepRunView } from '../train/sweep';

/** A Markdown-style table with padded columns. */
export function textTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const pctStat = ({ mean, std }: { mean: number; std: number }) =>
  (Number.isNaN(mean) ? '-' : `${(100 * mean).toFixed(2)} ± ${Number.isNaN(std) ? '-' : (100 * std).toFixed(2)}`);

/**
 * One row per variant; `runs` is the number of completed runs the figures are over, written
 * `completed/total` (and flagged) when some did not complete.
 */
export function resultsTable(results: SweepResults, label = 'variant'): string {
  const header = [label, 'runs', 'test acc @ best val (%)', 'best test acc (%)', 'median last N (%)', 'time/run (s)'];
  const body = results.groups.map((g) => [
    g.variant, g.partial ? `${g.completed}/${g.runs} (partial)` : String(g.runs), pctStat(g.stats.testAccuracyAtBestVal),
    pctStat(g.stats.bestTestAccuracy), pctStat(g.stats.medianLastNTestAccuracy),
    Number.isNaN(g.stats.trainSeconds.mean) ? '-' : g.stats.trainSeconds.mean.toFixed(0),
  ]);
  return textTable(header, body);
}

/** The runs that stopped without completing: state, error, log. */
export function stoppedRuns(runs: readonly SweepRunView[]): string {
  return runs.map((r) => `  run ${r.index} (${r.id}): ${r.state}${r.nonFinite ? ' (non-finite loss)' : ''} after ${r.epochsDone}/${r.epochs} epochs`
    + `${r.error ? `: ${r.error.split('\n')[0]}` : ''}\n    log: ${r.logFile}`).join('\n');
}

/** One row per run: state, epochs, test accuracy at the best validation epoch so far. */
export function statusTable(runs: readonly SweepRunView[]): string {
  const header = ['#', 'run', 'state', 'epochs', 'test acc @ best val (%)'];
  const body = runs.map((r) => [
    String(r.index), r.id, r.state, `${r.epochsDone}/${r.epochs}`,
    r.summary && Number.isFinite(r.summary.testAccuracyAtBestVal) ? (100 * r.summary.testAccuracyAtBestVal).toFixed(2) : '-',
  ]);
  return textTable(header, body);
}
