/**
 * Timing shared by the bench scripts: untimed warm-up runs, then timed runs, summarised by their
 * median (the headline figure: robust to the odd stalled run on a shared machine) and their
 * minimum (the machine's best case, printed beside it so noise is visible).
 */

export interface Timing {
  median_ms: number;
  min_ms: number;
  runs_ms: number[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summarise(runs: number[]): Timing {
  return { median_ms: median(runs), min_ms: Math.min(...runs), runs_ms: runs.map((r) => Math.round(r * 10) / 10) };
}

function wallMs(once: () => void): number {
  const t0 = process.hrtime.bigint();
  once();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Time several workloads in rounds (each rep runs every workload once, in turn), so a change in
 * the load of a shared machine hits all of them alike and their ratios stay meaningful.
 */
export function timeInterleaved(warmup: number, reps: number, workloads: Record<string, () => void>): Record<string, Timing> {
  const names = Object.keys(workloads);
  for (let i = 0; i < warmup; i++) for (const n of names) workloads[n]();
  const runs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < reps; i++) for (const n of names) runs[n].push(wallMs(workloads[n]));
  return Object.fromEntries(names.map((n) => [n, summarise(runs[n])]));
}

/** Run `once` `warmup` times untimed, then `reps` times timed (wall clock, ms). */
export function timeRuns(warmup: number, reps: number, once: () => void): Timing {
  return timeInterleaved(warmup, reps, { once }).once;
}
