/**
 * The authors' Sinkhorn, reproduced operation for operation (shashankvkt/AlignMixup_CVPR22,
 * utils/OT.py, class SinkhornDistance, used with eps = 0.1, max_iter = 100).
 *
 * Their update, in cost units, with potentials u [B, r], v [B, r'] starting at 0, mu = 1/r,
 * nu = 1/r' (float32) and the modified cost  M(u, v)_ij = (-C_ij + u_i + v_j) / eps:
 *
 *     u <- eps * (log(mu + 1e-8) - logsumexp_j M(u, v)) + u
 *     v <- eps * (log(nu + 1e-8) - logsumexp_i M(u, v)) + v        (with the new u)
 *     err = mean_b sum_i |u_i - u_i(previous)|;  stop when err < thresh = 0.1 (after counting
 *     the iteration), or after max_iter iterations
 *     plan = exp(M(u, v))
 *
 * Properties of that code that this port keeps on purpose:
 *   - the cost is the RAW squared distance (no scaling), so for unit-scale 512-d features C/eps is
 *     ~1e4 and 100 iterations are far from convergence: the row sums of the plan can be far from
 *     1/r, while the column sums are exact up to the 1e-8 (v is updated last);
 *   - the stopping statistic is a mean over the batch, so all problems stop together;
 *   - the threshold is on the change of u in cost units, not on the marginals;
 *   - with max_iter = 0 the plan is the unnormalised kernel exp(-C/eps).
 * Unlike the original it also measures and reports the marginal errors (./diagnostics.ts).
 *
 * The original reads err back every iteration (a device sync each time). Here the iterations of
 * one check window are queued with their states kept, their errors are read in one sync, and the
 * state at the first iteration whose err is below the threshold is returned: the same stopping
 * iteration and plan, one sync per window.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SinkhornDiagnostics } from './diagnostics';

export interface ReferenceSolveSettings {
  eps: number;
  maxIter: number;
  /** The authors' `thresh` on mean_b sum_i |u_i - u_i(previous)|. */
  threshold: number;
  /** Iterations whose stopping statistics are read back together. */
  checkEvery: number;
}

export interface ReferenceSolveResult {
  plan: tf.Tensor3D;
  iterations: number;
  stoppedBy: SinkhornDiagnostics['stoppedBy'];
  /** The stopping statistic of the last iteration run (NaN when no iteration ran). */
  potentialChange: number;
}

interface Potentials {
  u: tf.Tensor2D;
  v: tf.Tensor2D;
  /** Scalar: mean_b sum_i |u - u_previous| for the step that produced this state. */
  change: tf.Scalar;
}

function disposePotentials(p: Potentials): void {
  tf.dispose([p.u, p.v, p.change]);
}

/**
 * Run the authors' iterations on a batch of costs [B, r, r'] (raw cost units). No input checks;
 * call through `sinkhorn(cost, { solver: 'reference' })`. The caller disposes `plan`.
 */
export function solveReference(cost: tf.Tensor3D, s: ReferenceSolveSettings): ReferenceSolveResult {
  const [batch, r, rp] = cost.shape;
  const negCost = tf.neg(cost);
  // log(mu + 1e-8) evaluated in float32 on the device, as torch does with its float32 mu.
  const logMu = tf.tidy(() => tf.log(tf.add(tf.scalar(1 / r), 1e-8)));
  const logNu = tf.tidy(() => tf.log(tf.add(tf.scalar(1 / rp), 1e-8)));
  const modifiedCost = (u: tf.Tensor2D, v: tf.Tensor2D) =>
    tf.div(tf.add(tf.add(negCost, tf.expandDims(u, 2)), tf.expandDims(v, 1)), s.eps);

  const step = (prev: Potentials): Potentials =>
    tf.tidy(() => {
      const u = tf.add(tf.mul(tf.sub(logMu, tf.logSumExp(modifiedCost(prev.u, prev.v), 2)), s.eps), prev.u) as tf.Tensor2D;
      const v = tf.add(tf.mul(tf.sub(logNu, tf.logSumExp(modifiedCost(u, prev.v), 1)), s.eps), prev.v) as tf.Tensor2D;
      const change = tf.mean(tf.sum(tf.abs(tf.sub(u, prev.u)), 1)) as tf.Scalar;
      return { u, v, change };
    });

  let state: Potentials = { u: tf.zeros([batch, r]), v: tf.zeros([batch, rp]), change: tf.scalar(NaN) };
  let iterations = 0;
  let potentialChange = NaN;
  let stoppedBy: SinkhornDiagnostics['stoppedBy'] = 'maxIter';
  while (iterations < s.maxIter) {
    const window: Potentials[] = [];
    let current = state;
    for (let k = 0; k < Math.min(s.checkEvery, s.maxIter - iterations); k++) {
      current = step(current);
      window.push(current);
    }
    const changes = tf.tidy(() => tf.stack(window.map((p) => p.change))).dataSync() as Float32Array;
    let stopAt = changes.findIndex((c) => c < s.threshold);
    if (stopAt >= 0) stoppedBy = 'tolerance';
    else stopAt = window.length - 1;
    disposePotentials(state);
    window.forEach((p, k) => {
      if (k !== stopAt) disposePotentials(p);
    });
    state = window[stopAt];
    iterations += stopAt + 1;
    potentialChange = changes[stopAt];
    if (stoppedBy === 'tolerance') break;
  }
  const plan = tf.tidy(() => tf.exp(modifiedCost(state.u, state.v))) as tf.Tensor3D;
  disposePotentials(state);
  tf.dispose([negCost, logMu, logNu]);
  return { plan, iterations, stoppedBy, potentialChange };
}
