/**
 * Batched entropic optimal transport with uniform marginals (main paper eq. (9)-(10)):
 *
 *     P* = argmin_{P in U}  <P, C> - eps H(P),   U = { P >= 0 : P 1 = 1/r, P^T 1 = 1/r' },
 *
 * solved for B problems at once (cost [B, r, r'] -> plan [B, r, r']). The solution has the form
 * P = diag(u) K diag(v) with K = exp(-C/eps), and Sinkhorn-Knopp alternately rescales rows and
 * columns (Cuturi 2013):
 *
 *   'exp'  u <- (1/r) / (K v),   v <- (1/r') / (K^T u)     (kept as the sums u and v are the
 *          reciprocals of: a broadcast division and a sum per half-step, see expScalings;
 *          faster than batched matMul for r = 16)
 *   'log'  with S = -C/eps and log-scalings f = log u, g = log v:
 *          f <- log(1/r)  - logsumexp_j (S_ij + g_j)
 *          g <- log(1/r') - logsumexp_i (S_ij + f_i),    P = exp(S + f + g)
 *          the same iteration, stable for any C/eps. It runs as 'exp' steps on the near-plan
 *          K~ = exp(S + f + g), absorbed into f, g every 10 iterations, with the log-domain
 *          half-steps above as the fallback (see logScalings): the iterates of the log-domain
 *          formulation at about the cost of the kernel-domain one.
 *   'reference'  the authors' code, see ./reference.ts.
 *
 * Both balanced solvers first subtract each problem's minimum cost (the plan is invariant to a
 * constant shift of C), so exp(-C/eps) has its largest entry at 1 and underflows only when the
 * cost's SPREAD exceeds ~87 eps. Past that 'exp' warns (EXP_UNDERFLOW_RANGE in ./diagnostics.ts:
 * its plan can meet the marginals and still be wrong), and further on it produces NaN (reported,
 * with a warning); 'log' stays finite and right.
 *
 * Iterations. One iteration updates the non-exact side, then the exact side: with
 * exactMarginal 'cols' (the usual u-then-v order) the column sums are exact after every
 * iteration and the row error measures convergence; 'rows' swaps the order. maxIter = 0 is the
 * single normalisation of the kernel on the exact side (supplementary Table 10, "i = 0"):
 * 'rows' gives P 1 = 1/r (used when A is aligned to A'), 'cols' gives P^T 1 = 1/r' (A' aligned
 * to A). Solving C with 'rows' is exactly the transpose of solving C^T with 'cols'.
 *
 * Stopping. Every `checkEvery` iterations (and after the last) the plan is formed and its
 * marginal errors (./diagnostics.ts) are read back: that read is the only device sync, so it
 * is not done every iteration. The loop stops when both errors are <= tol.
 *
 * Regularisation. epsMode 'absolute' takes eps in cost units, as the paper and the authors' code
 * (eps = 0.1). On raw features that is a tiny eps: unit-scale 512-d features give costs ~1e3
 * spread over a few hundred, so C/eps ~ 1e4 with a spread of ~5e3, exp(-C/eps) underflows and
 * 100 iterations leave the marginals far off (the authors' code stops anyway; see ./reference.ts). epsMode 'relative'
 * (the default) takes eps in units of the cost's spread: eps_b = eps * std_ij(C_b) per problem
 * (eps itself if the costs are all equal). The plan is then invariant to rescaling the features
 * and to the baseline distance that high-dimensional features add to every entry, so one eps
 * suits every layer and dataset. Default: eps = 0.1 (the paper's number, in spread units), tol =
 * 1e-2 (each row/column sum of R = r P within 1% of 1 on average), 100 iterations at most.
 * Measured on 128 problems of 16 x 16 with 512-d features (float32, log solver): i.i.d. Gaussian
 * features reach tol after 41 iterations (error 2.4e-3 at 100), the rows of R put 69% of their
 * mass on one partner on average; low-rank ReLU features (closer to CNN maps) reach it after 11,
 * 29% on one partner. eps = 0.05 gives sparser plans (79% / 46%) but needs ~100 iterations on the
 * i.i.d. case. For A' = A with permuted positions (8-d features) every row of R puts > 90% on the
 * true match; eps = 0.02 recovers the permutation to 1e-5 (test/mix/align.test.ts). When alignment sets
 * exactMarginal from its direction, the marginal that makes the aligned vectors convex
 * combinations is exact and tol only bounds how unevenly the partner's vectors are used.
 *
 * Gradients: the returned plan carries none (Algorithm 1, DETACH) and the iterations are not
 * recorded for backprop (./detach.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  assertFinite, assertInRange, assertInt, assertKnownKeys, assertOneOf, assertPositive, assertRank,
} from '../validate';
import { offsetMinusLogSumExp, sumOfQuotient } from '../backends/native-ops';
import { squaredDistancesUnchecked } from './cost';
import { withoutGradient } from './detach';
import {
  SinkhornDiagnostics, SinkhornWarn, marginalErrors, maxOrNaN, reportNonConvergence,
} from './diagnostics';
import { solveReference } from './reference';

export type EpsMode = 'absolute' | 'relative';
export type ExactMarginal = 'rows' | 'cols';

interface CommonSinkhornOptions {
  /** Entropic regularisation (> 0); its unit depends on epsMode. */
  eps?: number;
  /** Maximum full iterations (>= 0). */
  maxIter?: number;
  /**
   * Marginal error (L1, max over the batch) at or below which the plan counts as converged. The
   * balanced solvers stop on it; the reference solver only reports against it (it stops on
   * `threshold`, as the authors' code).
   */
  tol?: number;
  /** Read back the stopping statistic every this many iterations (>= 1). */
  checkEvery?: number;
  /** Non-convergence warning: true = console.warn (default), false = silent, or a callback. */
  warn?: SinkhornWarn;
}

/** Options of the 'log' and 'exp' solvers, which iterate until the marginals are met. */
export interface BalancedSinkhornOptions extends CommonSinkhornOptions {
  solver?: 'log' | 'exp';
  epsMode?: EpsMode;
  /** Which marginal the last half-step of each iteration makes exact. */
  exactMarginal?: ExactMarginal;
}

/** Options of the authors' solver: eps in cost units, u then v, their stopping rule. */
export interface ReferenceSinkhornOptions extends CommonSinkhornOptions {
  solver: 'reference';
  /** The authors' `thresh` on mean_b sum_i |u_i - u_i(previous)| (cost units). */
  threshold?: number;
}

export type SinkhornOptions = BalancedSinkhornOptions | ReferenceSinkhornOptions;

export const DEFAULT_SINKHORN: Required<BalancedSinkhornOptions> = {
  solver: 'log', eps: 0.1, epsMode: 'relative', maxIter: 100, tol: 1e-2, checkEvery: 10,
  exactMarginal: 'cols', warn: true,
};

/** The authors' settings (AlignMixup_CVPR22: eps 0.1, 100 iterations, thresh 0.1). */
export const REFERENCE_SINKHORN: Required<ReferenceSinkhornOptions> = {
  solver: 'reference', eps: 0.1, maxIter: 100, threshold: 0.1, tol: 1e-2, checkEvery: 10, warn: true,
};

export interface SinkhornResult {
  /** Transport plan [B, r, r'], detached (no gradient). The caller disposes it. */
  plan: tf.Tensor3D;
  diagnostics: SinkhornDiagnostics;
}

/** Options with every default filled in (what resolveSinkhornOptions returns). */
export type ResolvedSinkhornOptions = Required<BalancedSinkhornOptions> | Required<ReferenceSinkhornOptions>;

const COMMON_KEYS = ['solver', 'eps', 'maxIter', 'tol', 'checkEvery', 'warn'];

/** Fill defaults and validate; `where` names the public function for error messages. */
export function resolveSinkhornOptions(where: string, options: SinkhornOptions = {}): ResolvedSinkhornOptions {
  const solver = assertOneOf(where, 'solver', options.solver ?? DEFAULT_SINKHORN.solver, ['log', 'exp', 'reference'] as const);
  // Keys set to undefined (e.g. copied from an optional config field) keep their default.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  let o: ResolvedSinkhornOptions;
  if (solver === 'reference') {
    assertKnownKeys(where, options, [...COMMON_KEYS, 'threshold']);
    o = { ...REFERENCE_SINKHORN, ...(given as ReferenceSinkhornOptions) };
    assertPositive(where, 'threshold', o.threshold);
  } else {
    assertKnownKeys(where, options, [...COMMON_KEYS, 'epsMode', 'exactMarginal']);
    o = { ...DEFAULT_SINKHORN, ...(given as BalancedSinkhornOptions), solver };
    assertOneOf(where, 'epsMode', o.epsMode, ['absolute', 'relative'] as const);
    assertOneOf(where, 'exactMarginal', o.exactMarginal, ['rows', 'cols'] as const);
  }
  assertPositive(where, 'eps', o.eps);
  assertInt(where, 'maxIter', o.maxIter, 0);
  assertInt(where, 'checkEvery', o.checkEvery, 1);
  assertInRange(where, 'tol', o.tol, 0, Infinity);
  if (!(typeof o.warn === 'boolean' || typeof o.warn === 'function')) {
    throw new Error(`${where}: warn must be a boolean or a function, got ${typeof o.warn}`);
  }
  return o;
}

/** Row/column scaling state of one solver kind. Methods replace and dispose their tensors. */
export interface Scalings {
  /** One full iteration: the non-exact side, then the exact side. */
  iterate(): void;
  /** The single normalisation of the kernel on the exact side (maxIter = 0). */
  normalizeExact(): void;
  plan(): tf.Tensor3D;
  dispose(): void;
}

/** The tidy result of `next`, after disposing `old` (the tensor it supersedes). */
function replace<T extends tf.Tensor>(old: T, next: () => T): T {
  const t = tf.tidy(next);
  old.dispose();
  return t;
}

/** Iterations of kernel-domain scaling between two absorptions into the log potentials. */
const ABSORB_EVERY = 10;
/**
 * Largest max|log u| + max|log v| at which a window's kernel-domain result is kept. Entries of
 * K~ = exp(S + f + g) below float32's range (e^-87) flushed to 0; scaled by at most e^40 they
 * stay below e^-47 ~ 4e-21 of the plan, far under any marginal tolerance.
 */
const SAFE_LOG_SCALING = 40;

/**
 * The 'log' solver: log potentials f [B, r, 1], g [B, 1, r'] on S = -C/eps, advanced by
 * kernel-domain scaling between absorptions (the "stabilised" Sinkhorn of Schmitzer 2019):
 * every ABSORB_EVERY iterations K~ = exp(S + f + g) is formed, u and v scale it with 2 kernels
 * per half-step (the log-domain half-step takes 8), and then log u, log v are absorbed into f, g.
 * K~ is a near-plan, so u and v stay close to 1; a window whose scalings left the safe range
 * (non-finite, or past SAFE_LOG_SCALING: a huge cost range at the start, a tiny eps) is redone
 * from its f, g with log-domain half-steps f <- log(1/r) - logsumexp_j(S_ij + g_j) and
 * g <- log(1/r') - logsumexp_i(S_ij + f_i), which are exact for any C/eps. Absorption points do
 * not depend on checkEvery, so neither do the iterates. The first iteration is a log-domain one,
 * so that the first window starts from a near-plan. After it, one half-step changes log u or
 * log v by at most log(r r') (a row of the near-plan K~ sums to at least 1/(r r')), so for
 * r = 16 windows are redone only when convergence is far from smooth; `safeLogScaling` (a
 * test hook, default SAFE_LOG_SCALING) sets the threshold. Once a window has been redone, the
 * rest of the solve runs in the log domain (the scalings move too far per window for the kernel
 * domain: a small eps against the cost's spread, as with the authors' eps = 0.1 on raw features),
 * which gives the iterates a redo would, without the failed attempts. exp(S + f + g) is formed
 * once per f, g: the plan checked at an absorption point is also the next window's K~.
 */
export function logScalings(scaled: tf.Tensor3D, exact: ExactMarginal, safeLogScaling = SAFE_LOG_SCALING): Scalings {
  const [batch, r, rp] = scaled.shape;
  const logA = Math.log(1 / r);
  const logB = Math.log(1 / rp);
  let f: tf.Tensor = tf.zeros([batch, r, 1]);
  let g: tf.Tensor = tf.zeros([batch, 1, rp]);
  /** exp(S + f + g) for the current f, g, once formed (owned here until a window takes it). */
  let nearPlan: tf.Tensor3D | null = null;
  /** Replace f and/or g (each from the old f, g), dropping the near-plan formed from them. */
  const setPotentials = (nextF: (() => tf.Tensor) | null, nextG: (() => tf.Tensor) | null) => {
    if (nextF) f = replace(f, nextF);
    if (nextG) g = replace(g, nextG);
    nearPlan?.dispose();
    nearPlan = null;
  };
  const formNearPlan = (): tf.Tensor3D => (nearPlan ??= tf.tidy(() => tf.exp(tf.add(tf.add(scaled, f), g))) as tf.Tensor3D);
  const logRows = () => setPotentials(() => offsetMinusLogSumExp(logA, scaled, g, 2), null);
  const logCols = () => setPotentials(null, () => offsetMinusLogSumExp(logB, scaled, f, 1));
  const logIterate = () => { if (exact === 'cols') { logRows(); logCols(); } else { logCols(); logRows(); } };

  let window: { kernel: tf.Tensor3D; scalings: KernelScalings } | null = null;
  let inWindow = 0;
  /** Set when a window is redone: later iterations run in the log domain (doc comment). */
  let logOnly = false;
  /**
   * log u, log v of the open window when they are finite and max|log u| + max|log v| <=
   * safeLogScaling (one read back), else null. The caller disposes them.
   */
  const safeLogScalings = (): { logU: tf.Tensor; logV: tf.Tensor } | null => {
    if (!window) return null;
    const logs = window.scalings.logScalings();
    const size = tf.tidy(() => tf.add(tf.max(tf.abs(logs.logU)), tf.max(tf.abs(logs.logV))));
    const value = size.dataSync()[0];
    size.dispose();
    if (value <= safeLogScaling) return logs; // false for NaN and Infinity
    tf.dispose([logs.logU, logs.logV]);
    return null;
  };
  /** End the window: absorb `logs` (its log u, log v) into f, g, or without them redo its iterations in the log domain. */
  const settle = (logs: { logU: tf.Tensor; logV: tf.Tensor } | null) => {
    if (!window) return;
    if (logs) {
      const { logU, logV } = logs;
      setPotentials(() => tf.add(f, logU), () => tf.add(g, logV));
      tf.dispose([logU, logV]);
    }
    window.scalings.dispose();
    window.kernel.dispose();
    window = null;
    if (!logs) {
      logOnly = true;
      for (let i = 0; i < inWindow; i++) logIterate();
    }
    inWindow = 0;
  };
  let done = 0;
  return {
    iterate: () => {
      done += 1;
      // The first iteration in the log domain: from f = g = 0, K = exp(S) spans the whole cost
      // range, and its scalings would leave the safe range whenever that exceeds ~40.
      if (done === 1 || logOnly) {
        logIterate();
        return;
      }
      if (!window) {
        const kernel = formNearPlan();
        nearPlan = null;
        window = { kernel, scalings: expScalings(kernel, exact) };
      }
      window.scalings.iterate();
      inWindow += 1;
      // Absorb at multiples of ABSORB_EVERY, where the default check interval reads the plan.
      if (done % ABSORB_EVERY === 0) settle(safeLogScalings());
    },
    normalizeExact: () => { if (exact === 'cols') logCols(); else logRows(); },
    plan: () => {
      if (window) {
        const logs = safeLogScalings();
        if (logs) {
          tf.dispose([logs.logU, logs.logV]);
          return window.scalings.plan();
        }
        settle(null);
      }
      return tf.clone(formNearPlan());
    },
    dispose: () => {
      if (window) { window.scalings.dispose(); window.kernel.dispose(); }
      tf.dispose([f, g, ...(nearPlan ? [nearPlan] : [])]);
    },
  };
}

interface KernelScalings extends Scalings {
  /** New tensors log u [B, r, 1], log v [B, 1, r'] (the caller disposes them). */
  logScalings(): { logU: tf.Tensor; logV: tf.Tensor };
}

/**
 * The 'exp' solver, and the windows of the 'log' one: u [B, r, 1], v [B, 1, r'] scaling
 * K = exp(-C/eps) (or K~), kept as the sums they are the reciprocals of, with the marginals'
 * constants moved out of the loop:
 *
 *   u = (1/r) / w,   w_i = sum_j K_ij / z_j               (= (K v)_i)
 *   v = 1 / z,       z_j = sum_i (r'/r) K_ij / w_i        (= (r'/r) (1/r) (K^T (1/w))_j)
 *
 * which is u = (1/r) / (K v), v = (1/r') / (K^T u) exactly (z = r' (K^T u)). A half-step is a
 * broadcast division and a sum (sumOfQuotient; 2 kernels, where updating u or v takes 3);
 * u and v are formed only for the plan and for the log solver's absorptions. For r' != r the
 * column half-steps use (r'/r) K, made once.
 */
function expScalings(kernel: tf.Tensor3D, exact: ExactMarginal): KernelScalings {
  const [batch, r, rp] = kernel.shape;
  const colKernel = rp === r ? kernel : tf.mul(kernel, rp / r);
  let w: tf.Tensor = tf.fill([batch, r, 1], 1 / r); // u = 1
  let z: tf.Tensor = tf.ones([batch, 1, rp]); // v = 1
  const rows = () => { w = replace(w, () => sumOfQuotient(kernel, z, 2)); };
  const cols = () => { z = replace(z, () => sumOfQuotient(colKernel, w, 1)); };
  return {
    iterate: () => { if (exact === 'cols') { rows(); cols(); } else { cols(); rows(); } },
    normalizeExact: () => { if (exact === 'cols') cols(); else rows(); },
    plan: () => tf.tidy(() => tf.div(tf.mul(tf.div(1 / r, w), kernel), z)) as tf.Tensor3D,
    logScalings: () => ({ logU: tf.tidy(() => tf.sub(Math.log(1 / r), tf.log(w))), logV: tf.tidy(() => tf.neg(tf.log(z))) }),
    dispose: () => tf.dispose([w, z, ...(colKernel === kernel ? [] : [colKernel])]),
  };
}

/**
 * S = -(C - min C)/eps_b with the per-problem eps_b of epsMode, and for the diagnostics a [2, B]
 * tensor holding eps_b and (max C - min C)/eps_b. The caller disposes both.
 */
function scaleCost(cost: tf.Tensor3D, eps: number, epsMode: EpsMode): { scaled: tf.Tensor3D; info: tf.Tensor2D } {
  return tf.tidy(() => {
    const batch = cost.shape[0];
    const flat = tf.reshape(cost, [batch, -1]);
    const lo = tf.min(flat, 1);
    const spread = tf.sub(tf.max(flat, 1), lo);
    let epsB: tf.Tensor1D = tf.fill([batch], eps);
    if (epsMode === 'relative') {
      const std = tf.sqrt(tf.moments(flat, 1).variance);
      epsB = tf.mul(tf.where(tf.greater(std, 0), std, tf.onesLike(std)), eps);
    }
    const epsCol = tf.reshape(epsB, [batch, 1, 1]);
    const scaled = tf.div(tf.sub(tf.reshape(lo, [batch, 1, 1]), cost), epsCol) as tf.Tensor3D;
    return { scaled, info: tf.stack([epsB, tf.div(spread, epsB)]) as tf.Tensor2D };
  });
}

interface Check {
  plan: tf.Tensor3D;
  rowError: number;
  colError: number;
}

function checkPlan(plan: tf.Tensor3D): Check {
  const errors = marginalErrors(plan);
  const values = errors.arraySync();
  errors.dispose();
  return { plan, rowError: maxOrNaN(values[0]), colError: maxOrNaN(values[1]) };
}

/** The 'log' / 'exp' solvers. No input checks, no warning. */
function solveBalanced(cost: tf.Tensor3D, o: Required<BalancedSinkhornOptions>): SinkhornResult {
  const { scaled, info } = scaleCost(cost, o.eps, o.epsMode);
  const kernel = o.solver === 'exp' ? tf.exp(scaled) : null;
  const scalings = kernel ? expScalings(kernel, o.exactMarginal) : logScalings(scaled, o.exactMarginal);

  let iterations = 0;
  let stoppedBy: SinkhornDiagnostics['stoppedBy'] = 'maxIter';
  let check: Check | null = null;
  if (o.maxIter === 0) {
    scalings.normalizeExact();
    check = checkPlan(scalings.plan());
  }
  for (let k = 1; k <= o.maxIter; k++) {
    scalings.iterate();
    iterations = k;
    if (k % o.checkEvery === 0 || k === o.maxIter) {
      check?.plan.dispose();
      check = checkPlan(scalings.plan());
      if (check.rowError <= o.tol && check.colError <= o.tol) {
        stoppedBy = 'tolerance';
        break;
      }
    }
  }
  const [epsB, range] = info.arraySync();
  tf.dispose([scaled, info, ...(kernel ? [kernel] : [])]);
  scalings.dispose();
  const { plan, rowError, colError } = check as Check;
  return {
    plan,
    diagnostics: {
      solver: o.solver, batch: cost.shape[0], iterations, rowError, colError, tol: o.tol,
      converged: rowError <= o.tol && colError <= o.tol, stoppedBy, eps: epsB, scaledCostRange: maxOrNaN(range),
    },
  };
}

/** The authors' solver wrapped with marginal diagnostics. No input checks, no warning. */
function solveReferenceWithDiagnostics(cost: tf.Tensor3D, o: Required<ReferenceSinkhornOptions>): SinkhornResult {
  const res = solveReference(cost, o);
  const { rowError, colError } = checkPlan(res.plan);
  const range = tf.tidy(() => {
    const flat = tf.reshape(cost, [cost.shape[0], -1]);
    return tf.div(tf.sub(tf.max(flat, 1), tf.min(flat, 1)), o.eps);
  });
  const scaledCostRange = maxOrNaN(range.dataSync());
  range.dispose();
  return {
    plan: res.plan,
    diagnostics: {
      solver: 'reference', batch: cost.shape[0], iterations: res.iterations, rowError, colError, tol: o.tol,
      converged: rowError <= o.tol && colError <= o.tol, stoppedBy: res.stoppedBy,
      eps: new Array(cost.shape[0]).fill(o.eps), scaledCostRange, potentialChange: res.potentialChange,
    },
  };
}

/** Solve with resolved options (no checks), then warn if the marginals were not met. */
function solveResolved(cost: tf.Tensor3D, o: ResolvedSinkhornOptions): SinkhornResult {
  const result = o.solver === 'reference' ? solveReferenceWithDiagnostics(cost, o) : solveBalanced(cost, o);
  reportNonConvergence(result.diagnostics, o.warn);
  return result;
}

/**
 * Entropic OT plans for a batch of cost matrices, detached from the gradient tape.
 *
 * @param cost [B, r, r'], finite (checked: one device sync)
 * @param options solver and its settings; defaults DEFAULT_SINKHORN, or REFERENCE_SINKHORN
 *   when `solver: 'reference'`
 * @returns the plan (caller disposes) and diagnostics; warns once if the marginal errors exceed tol
 */
export function sinkhorn(cost: tf.Tensor3D, options: SinkhornOptions = {}): SinkhornResult {
  const where = 'sinkhorn';
  assertRank(where, 'cost', cost, 3);
  const o = resolveSinkhornOptions(where, options);
  assertFinite(where, 'cost', cost);
  let diagnostics!: SinkhornDiagnostics;
  const plan = withoutGradient([cost], (c) => {
    const res = solveResolved(c as tf.Tensor3D, o);
    diagnostics = res.diagnostics;
    return res.plan;
  });
  return { plan, diagnostics };
}

/**
 * Plan between the feature vectors of `a` [B, r, c] and `b` [B, r', c] under the squared
 * Euclidean cost (./cost.ts), detached: gradients never flow through the plan, and neither the
 * cost nor the iterations are recorded for backprop. Inputs are not checked here (alignment code
 * checks them once); use `sinkhorn(squaredEuclideanCost(a, b))` for a checked call.
 * The caller disposes `plan`.
 */
export function transportPlanUnchecked(a: tf.Tensor3D, b: tf.Tensor3D, options: ResolvedSinkhornOptions): SinkhornResult {
  let diagnostics!: SinkhornDiagnostics;
  const plan = withoutGradient([a, b], (x, y) => {
    const res = solveResolved(squaredDistancesUnchecked(x as tf.Tensor3D, y as tf.Tensor3D), options);
    diagnostics = res.diagnostics;
    return res.plan;
  });
  return { plan, diagnostics };
}
