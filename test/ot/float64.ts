/**
 * Independent float64 references for the OT tests, in plain JS numbers (no tensors): costs,
 * log-domain Sinkhorn, the authors' update rule, and an exact assignment solver.
 */
import { Rng } from '../../lib/random';

export type Mat = number[][];

/** B x r x c array of N(0, scale^2) values rounded to float32 (so tensors hold the same numbers). */
export function randomFeatures(rng: Rng, batch: number, r: number, c: number, scale = 1): Mat[] {
  return Array.from({ length: batch }, () =>
    Array.from({ length: r }, () => Array.from({ length: c }, () => Math.fround(scale * rng.normal()))));
}

/** M_ij = sum_d (a_id - b_jd)^2 by direct differences. */
export function cost64(a: Mat, b: Mat): Mat {
  return a.map((ai) => b.map((bj) => ai.reduce((s, x, d) => s + (x - bj[d]) ** 2, 0)));
}

export function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
}

const transpose = (m: Mat): Mat => m[0].map((_, j) => m.map((row) => row[j]));

/**
 * Textbook log-domain Sinkhorn (u then v, `iterations` full iterations, no early stop) on one
 * cost matrix with uniform marginals; eps in cost units.
 */
export function sinkhornLog64(C: Mat, eps: number, iterations: number): Mat {
  const r = C.length;
  const rp = C[0].length;
  let f = new Array(r).fill(0);
  let g = new Array(rp).fill(0);
  const Ct = transpose(C);
  for (let k = 0; k < iterations; k++) {
    f = C.map((row) => Math.log(1 / r) - logSumExp(row.map((c, j) => -c / eps + g[j])));
    g = Ct.map((col) => Math.log(1 / rp) - logSumExp(col.map((c, i) => -c / eps + f[i])));
  }
  return C.map((row, i) => row.map((c, j) => Math.exp(-c / eps + f[i] + g[j])));
}

/**
 * The authors' SinkhornDistance.forward (AlignMixup_CVPR22 utils/OT.py), transcribed to float64:
 * u, v in cost units from 0; u <- eps (log(mu + 1e-8) - LSE_j M) + u, then v likewise with the
 * new u; err = mean over the batch of sum_i |u - u_prev|; count the iteration, stop if err < thresh.
 */
export function referenceSinkhorn64(C: Mat[], eps: number, maxIter: number, thresh: number): { plans: Mat[]; iterations: number; err: number } {
  const r = C[0].length;
  const rp = C[0][0].length;
  const logMu = Math.log(1 / r + 1e-8);
  const logNu = Math.log(1 / rp + 1e-8);
  let u = C.map(() => new Array(r).fill(0));
  let v = C.map(() => new Array(rp).fill(0));
  const M = (b: number, i: number, j: number, uu: Mat, vv: Mat) => (-C[b][i][j] + uu[b][i] + vv[b][j]) / eps;
  let iterations = 0;
  let err = NaN;
  for (let it = 0; it < maxIter; it++) {
    const u1 = u;
    const uNew = C.map((_, b) => u1[b].map((ui, i) => eps * (logMu - logSumExp(v[b].map((_, j) => M(b, i, j, u1, v)))) + ui));
    const vOld = v;
    v = C.map((_, b) => vOld[b].map((vj, j) => eps * (logNu - logSumExp(uNew[b].map((_, i) => M(b, i, j, uNew, vOld)))) + vj));
    u = uNew;
    err = u.reduce((s, ub, b) => s + ub.reduce((t, x, i) => t + Math.abs(x - u1[b][i]), 0), 0) / C.length;
    iterations++;
    if (err < thresh) break;
  }
  const plans = C.map((Cb, b) => Cb.map((row, i) => row.map((_, j) => Math.exp(M(b, i, j, u, v)))));
  return { plans, iterations, err };
}

/** Exact minimum-cost assignment by enumerating all permutations (r <= 8). perm[i] = column of row i. */
export function bruteForceAssignment(C: Mat): { perm: number[]; cost: number; secondBest: number } {
  const r = C.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  let best = Infinity;
  let second = Infinity;
  let bestPerm = perm.slice();
  const visit = (k: number) => {
    if (k === r) {
      const total = perm.reduce((s, j, i) => s + C[i][j], 0);
      if (total < best) {
        second = best;
        best = total;
        bestPerm = perm.slice();
      } else if (total < second) {
        second = total;
      }
      return;
    }
    for (let i = k; i < r; i++) {
      [perm[k], perm[i]] = [perm[i], perm[k]];
      visit(k + 1);
      [perm[k], perm[i]] = [perm[i], perm[k]];
    }
  };
  visit(0);
  return { perm: bestPerm, cost: best, secondBest: second };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);

/**
 * Exact minimum-cost assignment of a square cost matrix by the Hungarian method (shortest
 * augmenting paths with potentials, O(r^3)). perm[i] = column assigned to row i.
 */
export function hungarian(C: Mat): { perm: number[]; cost: number } {
  const n = C.length;
  const u = new Array(n + 1).fill(0);
  const v = new Array(n + 1).fill(0);
  const match = new Array(n + 1).fill(0); // match[j] = row (1-based) assigned to column j
  const way = new Array(n + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    match[0] = i;
    let j0 = 0;
    const minv = new Array(n + 1).fill(Infinity);
    const used = new Array(n + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = match[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = C[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
        if (minv[j] < delta) { delta = minv[j]; j1 = j; }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) { u[match[j]] += delta; v[j] -= delta; } else minv[j] -= delta;
      }
      j0 = j1;
    } while (match[j0] !== 0);
    do { const j1 = way[j0]; match[j0] = match[j1]; j0 = j1; } while (j0);
  }
  const perm = new Array(n).fill(0);
  for (let j = 1; j <= n; j++) perm[match[j] - 1] = j - 1;
  return { perm, cost: perm.reduce((s, j, i) => s + C[i][j], 0) };
}
