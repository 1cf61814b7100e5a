/**
 * What a Sinkhorn solve reports, how marginal errors are measured, and the non-convergence
 * warning shared by every solver.
 *
 * Marginal errors (uniform marginals a = 1/r, b = 1/r'), for a batch of B plans P_b:
 *
 *     rowError = max_b  sum_i | (P_b 1)_i   - 1/r  |      (L1 distance of the row sums)
 *     colError = max_b  sum_j | (P_b^T 1)_j - 1/r' |
 *
 * Both are in units of transported mass (a plan carries mass 1), so 1e-3 means 0.1% of the mass
 * sits in the wrong row/column. For R = r P (the assignment matrix) the mean absolute deviation of
 * a row sum from 1 is rowError as well. The max over the batch makes one bad problem visible.
 */
import * as tf from '@tensorflow/tfjs-core';

export type SinkhornSolver = 'log' | 'exp' | 'reference';

export interface SinkhornDiagnostics {
  solver: SinkhornSolver;
  /** Number of problems in the batch. */
  batch: number;
  /** Full iterations run; 0 means the single normalisation of the kernel (see sinkhorn.ts). */
  iterations: number;
  /** max over the batch of the L1 distance of the plan's row sums to 1/r (NaN if the plan is not finite). */
  rowError: number;
  /** max over the batch of the L1 distance of the plan's column sums to 1/r'. */
  colError: number;
  /** The marginal tolerance the errors were judged against. */
  tol: number;
  /** rowError <= tol and colError <= tol. */
  converged: boolean;
  /**
   * Why the loop ended: 'tolerance' when the solver's own stopping rule fired (the marginal error
   * for 'log'/'exp', the authors' potential-change rule for 'reference'), else 'maxIter'.
   */
  stoppedBy: 'tolerance' | 'maxIter';
  /** Regularisation actually used, in cost units, per problem. */
  eps: number[];
  /**
   * max over the batch of (max_ij C - min_ij C) / eps: the dynamic range of the kernel's exponent.
   * Above ~80 exp(-C/eps) underflows in float32 and Sinkhorn needs many iterations.
   */
  scaledCostRange: number;
  /** 'reference' only: the authors' last stopping statistic, mean_b sum_i |u_i - u_i(previous)|. */
  potentialChange?: number;
}

/** Warning sink: false = silent, true = console.warn, or a callback (e.g. to a training log). */
export type SinkhornWarn = boolean | ((message: string, diagnostics: SinkhornDiagnostics) => void);

/**
 * Per-problem L1 marginal errors of a batch of plans, as a [2, B] tensor (row errors, column
 * errors): one small tensor so that a single read brings both back. Caller disposes.
 */
export function marginalErrors(plan: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const [, r, rp] = plan.shape;
    const rowErr = tf.sum(tf.abs(tf.sub(tf.sum(plan, 2), 1 / r)), 1);
    const colErr = tf.sum(tf.abs(tf.sub(tf.sum(plan, 1), 1 / rp)), 1);
    return tf.stack([rowErr, colErr]) as tf.Tensor2D;
  });
}

/** Max that propagates NaN (a non-finite plan must not look converged). */
export function maxOrNaN(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) return NaN;
    if (values[i] > m) m = values[i];
  }
  return m;
}

/** The warning text for a solve that did not meet its marginal tolerance. */
export function nonConvergenceMessage(d: SinkhornDiagnostics): string {
  const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(3) : String(x));
  const epsMin = Math.min(...d.eps);
  const epsMax = Math.max(...d.eps);
  const epsText = epsMin === epsMax ? fmt(epsMin) : `${fmt(epsMin)}..${fmt(epsMax)}`;
  const parts = [
    `sinkhorn(${d.solver}): marginals not within tol ${d.tol} after ${d.iterations} iteration${d.iterations === 1 ? '' : 's'}`,
    `(stopped by ${d.stoppedBy}): row error ${fmt(d.rowError)}, column error ${fmt(d.colError)}`,
    `(L1, max over ${d.batch} problem${d.batch === 1 ? '' : 's'}); eps ${epsText}, (max C - min C)/eps up to ${fmt(d.scaledCostRange)}`,
  ];
  if (d.potentialChange !== undefined) parts.push(`; potential change ${fmt(d.potentialChange)}`);
  if (!Number.isFinite(d.rowError) || !Number.isFinite(d.colError)) {
    parts.push('; the plan is not finite (exp-domain underflow?): use the log solver or a larger eps');
  } else if (d.scaledCostRange > 50) {
    parts.push('; eps is small for this cost scale: use epsMode \'relative\' or more iterations');
  }
  return parts.join(' ');
}

/**
 * Above this (max C - min C)/eps the exp solver's kernel exp(-C/eps) has entries below float32's
 * smallest normal number (exp(-87.3)): they flush to 0, and the plan can meet its marginals and
 * still be wrong (a batch of 16 x 16 problems at a range of 163 gave entries of R off by 0.7
 * against the log solver, with both marginal errors below 1e-2).
 */
export const EXP_UNDERFLOW_RANGE = 87;

/** The warning text for an exp-domain solve whose kernel underflowed, or null. */
export function underflowMessage(d: SinkhornDiagnostics): string | null {
  if (d.solver !== 'exp' || !(d.scaledCostRange > EXP_UNDERFLOW_RANGE)) return null;
  return `sinkhorn(exp): (max C - min C)/eps reaches ${d.scaledCostRange.toPrecision(3)} > ${EXP_UNDERFLOW_RANGE}, so entries of exp(-C/eps) `
    + 'underflow to 0 and the plan can be wrong even where the marginals are met: use the log solver or a larger eps';
}

/**
 * Emit the warnings of a solve through the configured sink: non-convergence, and for 'exp' a
 * kernel that underflowed (one message per problem found, at most two per call).
 */
export function reportNonConvergence(d: SinkhornDiagnostics, warn: SinkhornWarn): void {
  if (warn === false) return;
  const messages = [d.converged ? null : nonConvergenceMessage(d), Number.isFinite(d.rowError) ? underflowMessage(d) : null];
  for (const message of messages) {
    if (message === null) continue;
    if (warn === true) console.warn(message);
    else warn(message, d);
  }
}
