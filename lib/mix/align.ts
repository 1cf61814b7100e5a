/**
 * Alignment of feature tensors by optimal transport (main paper Sec. 3.2, eq. (8)-(14)).
 *
 * The paper's c x r matrix A (columns a_i = feature vectors, r = hw spatial positions) is our
 * NHWC tensor [B, h, w, c] viewed as rows [B, r, c]. With the cost M_ij = ||a_i - a'_j||^2, the
 * entropic plan P* (../ot/sinkhorn.ts) and the assignment matrix R = r P* (detached):
 *
 *   'aToB'  A aligned to A':  A~  = A' R^T   (eq. 11)   rows: A~_rows  = R   A'_rows
 *           row i is a convex combination of the vectors of A' matched to position i of A;
 *   'bToA'  A' aligned to A:  A~' = A R      (eq. 12)   rows: A~'_rows = R^T A_rows
 *           row j is a convex combination of the vectors of A matched to position j of A'.
 *
 * "Convex combination" needs R's rows ('aToB') or columns ('bToA') to sum to 1 exactly, so the
 * balanced solvers are run with that marginal exact (exactMarginal 'rows' / 'cols'); with 0
 * iterations that is the single normalisation of supplementary Table 10. Solving 'bToA' for
 * (A, A') is then exactly 'aToB' for (A', A). The 'reference' solver keeps the authors'
 * u-then-v order for both directions, as their code does.
 *
 * Mixing (eq. (13), (14)). lambda always weighs the content of the FIRST example x, so the target
 * is mix_lambda(y, y') in both directions:
 *   'aToB'  lambda A   + (1 - lambda) A~     (geometry of A; eq. 13)
 *   'bToA'  lambda A~' + (1 - lambda) A'    (geometry of A'; eq. 14 is written
 *           mix_lambda(A', A~'), i.e. the same with lambda <-> 1 - lambda; the authors' code and
 *           Algorithm 1's SWAP both pair the weight of x's content with y's label, as here).
 *
 * Gradients flow into A and A' through the aligned tensor and the mix; never through P*.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BalancedSinkhornOptions, ReferenceSinkhornOptions, resolveSinkhornOptions, transportPlanUnchecked } from '../ot/sinkhorn';
import { SinkhornDiagnostics } from '../ot/diagnostics';
import { assertFinite, assertKnownKeys, assertOneOf, assertSameShape, shapeStr } from '../validate';
import { Lambda, assertLambda, mix } from './mix';

export type AlignDirection = 'aToB' | 'bToA';
export const ALIGN_DIRECTIONS: readonly AlignDirection[] = ['aToB', 'bToA'];

/** Feature tensors: NHWC [B, h, w, c], or rows [B, r, c]. */
export type FeatureTensor = tf.Tensor3D | tf.Tensor4D;

export interface AlignOptions {
  /** 'aToB' (feat: A aligned to A') or 'bToA' (feat': A' aligned to A). Default 'aToB'. */
  direction?: AlignDirection;
  /** Sinkhorn settings; the exact marginal follows from the direction. Default DEFAULT_SINKHORN. */
  sinkhorn?: Omit<BalancedSinkhornOptions, 'exactMarginal'> | ReferenceSinkhornOptions;
  /** Check the inputs for NaN/Inf (two device syncs). Default true. */
  checkFinite?: boolean;
}

export interface Alignment<T extends FeatureTensor> {
  /** The aligned tensor, same shape as the inputs. The caller disposes it. */
  aligned: T;
  /** P* [B, r, r] between the positions of a (rows) and b (columns); detached. The caller disposes it. */
  plan: tf.Tensor3D;
  diagnostics: SinkhornDiagnostics;
}

/** [B, h, w, c] -> [B, hw, c] (row-major over h, w: position i = y w + x); rank 3 passes through. */
export function toRows(x: FeatureTensor): tf.Tensor3D {
  if (x.rank === 3) return x as tf.Tensor3D;
  const [batch, h, w, c] = (x as tf.Tensor4D).shape;
  return tf.reshape(x, [batch, h * w, c]);
}

function validatePair(where: string, a: FeatureTensor, b: FeatureTensor, options: AlignOptions): AlignDirection {
  assertKnownKeys(where, options, ['direction', 'sinkhorn', 'checkFinite']);
  if (a.rank !== 3 && a.rank !== 4) {
    throw new Error(`${where}: a must be [B, h, w, c] or [B, r, c], got shape ${shapeStr(a.shape)}`);
  }
  assertSameShape(where, 'a', a, 'b', b);
  if (options.checkFinite ?? true) {
    assertFinite(where, 'a', a);
    assertFinite(where, 'b', b);
  }
  return assertOneOf(where, 'direction', options.direction ?? 'aToB', ALIGN_DIRECTIONS);
}

/** The alignment itself, on validated inputs (shared by alignFeatures and mixAlignedFeatures). */
function alignPair<T extends FeatureTensor>(where: string, a: T, b: T, direction: AlignDirection, options: AlignOptions): Alignment<T> {
  const sinkhornOptions = options.sinkhorn ?? {};
  if ('exactMarginal' in sinkhornOptions) {
    throw new Error(`${where}: sinkhorn.exactMarginal is set by the direction ('aToB' -> rows, 'bToA' -> cols); remove it`);
  }
  const resolved = resolveSinkhornOptions(where, sinkhornOptions.solver === 'reference'
    ? sinkhornOptions
    : { ...sinkhornOptions, exactMarginal: direction === 'aToB' ? 'rows' : 'cols' });
  const aRows = toRows(a);
  const bRows = toRows(b);
  const { plan, diagnostics } = transportPlanUnchecked(aRows, bRows, resolved);
  if (aRows !== a) aRows.dispose();
  if (bRows !== b) bRows.dispose();
  return { aligned: alignWithPlan(a, b, plan, direction), plan, diagnostics };
}

/**
 * A~ = A' R^T ('aToB') or A~' = A R ('bToA') for a given plan P [B, r, r] (R = r P), whatever
 * produced it: Sinkhorn (alignPair) or a random control (./random-plan.ts). The plan is used as
 * a constant. The caller disposes the result.
 */
export function alignWithPlan<T extends FeatureTensor>(a: T, b: T, plan: tf.Tensor3D, direction: AlignDirection): T {
  return tf.tidy(() => {
    const aRows = toRows(a);
    const bRows = toRows(b);
    const assignment = tf.mul(plan, aRows.shape[1]); // R = r P*
    const rows = direction === 'aToB' ? tf.matMul(assignment, bRows) : tf.matMul(assignment, aRows, true, false);
    return tf.reshape(rows, a.shape) as T;
  });
}

/**
 * Eq. (13) ('aToB': mix(A, A~)) or (14) ('bToA': mix(A~', A')) with an aligned tensor already
 * computed; lambda weighs x's content in both. The caller disposes the result.
 */
export function mixWithAligned<T extends FeatureTensor>(a: T, b: T, aligned: T, lambda: Lambda, direction: AlignDirection): T {
  return direction === 'aToB' ? mix(a, aligned, lambda) : mix(aligned, b, lambda);
}

/**
 * Align feature tensor `a` to `b` ('aToB': A~ = A' R^T) or `b` to `a` ('bToA': A~' = A R).
 * @param a features of x, [B, h, w, c] or [B, r, c]
 * @param b features of the partners x', same shape
 * @returns the aligned tensor (shape of the inputs), the detached plan and Sinkhorn diagnostics;
 *   the caller disposes `aligned` and `plan`. Warns (per options.sinkhorn.warn) if the plan's
 *   marginals miss the tolerance.
 */
export function alignFeatures<T extends FeatureTensor>(a: T, b: T, options: AlignOptions = {}): Alignment<T> {
  const where = 'alignFeatures';
  const direction = validatePair(where, a, b, options);
  return alignPair(where, a, b, direction, options);
}

export interface AlignedMix<T extends FeatureTensor> {
  /** The mixed feature tensor (shape of the inputs). The caller disposes it. */
  mixed: T;
  /** Detached plan [B, r, r]; the caller disposes it. */
  plan: tf.Tensor3D;
  diagnostics: SinkhornDiagnostics;
}

/**
 * Aligned feature mixup (eq. (13) for 'aToB', (14) for 'bToA'): lambda weighs x's content in
 * both directions, so the matching target is mix(y, y', lambda).
 * @param lambda in [0, 1], one number or one per example
 */
export function mixAlignedFeatures<T extends FeatureTensor>(a: T, b: T, lambda: Lambda, options: AlignOptions = {}): AlignedMix<T> {
  const where = 'mixAlignedFeatures';
  const direction = validatePair(where, a, b, options);
  assertLambda(where, lambda, a.shape[0]);
  const { aligned, plan, diagnostics } = alignPair(where, a, b, direction, options);
  const mixed = mixWithAligned(a, b, aligned, lambda, direction);
  aligned.dispose();
  return { mixed, plan, diagnostics };
}
