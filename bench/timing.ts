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

/** Run `once` `warmup` times untimed, then `reps` times timed (wall clock, ms). */
export function timeRuns(warmup: number, reps: number, once: () => void): Timing {
  for (let i = 0; i < warmup; i++) once();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    once();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { median_ms: median(runs), min_ms: Math.min(...runs), runs_ms: runs.map((r) => Math.round(r * 10) / 10) };
}
