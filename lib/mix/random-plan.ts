/**
 * Random-plan controls for aligned feature mixup (this project; no paper ran them).
 *
 * AlignMixup mixes A with A~ = A' R^T, R = r P*, where P* is the entropic plan of the features' own
 * cost (./align.ts). Whether the alignment helps, or only the operation "mix with a doubly
 * stochastic recombination of the partner's positions", is tested by drawing P independently of
 * the features:
 *
 *   'random-plan'         P = Sinkhorn(C~), C~_ij ~ U(0, 1) iid per problem, solved with the run's
 *                         own Sinkhorn settings (eps, eps mode, iterations, tolerance) and the
 *                         direction's exact marginal, exactly as the real plan is solved: a plan
 *                         of the solver's usual spread that knows nothing of A and A'.
 *   'random-permutation'  P_{i, sigma(i)} = 1/r, sigma a uniform random permutation per problem:
 *                         A~ is the partner's vectors at shuffled positions (a hard plan).
 *
 * Both plans have uniform marginals 1/r (the permutation exactly; the random plan on the
 * direction's convex-combination side exactly, on the other to the solver's tolerance), are drawn
 * from `rng` (the training step's stream: seeded, reproducible, resumed exactly) and are constants
 * of the forward pass, so no gradient flows through them, as with the detached Sinkhorn plan.
 * Mixing then follows eq. (13)/(14) unchanged (alignWithPlan, mixWithAligned).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SinkhornDiagnostics } from '../ot/diagnostics';
import { sinkhorn } from '../ot/sinkhorn';
import { Rng } from '../random';
import { assertInt, assertOneOf, assertSameShape } from '../validate';
import { AlignDirection, AlignOptions, FeatureTensor, alignWithPlan, mixWithAligned, toRows } from './align';
import { Lambda, assertLambda } from './mix';

export const RANDOM_PLAN_KINDS = ['random-plan', 'random-permutation'] as const;
export type RandomPlanKind = (typeof RANDOM_PLAN_KINDS)[number];

export interface RandomPlan {
  /** [B, r, r], marginals 1/r. The caller disposes it. */
  plan: tf.Tensor3D;
  /** 'random-plan' only: the solver's report on the random cost. */
  diagnostics?: SinkhornDiagnostics;
}

/**
 * A batch of `batch` random plans between r positions and r positions.
 * @param options direction (which marginal is exact, 'random-plan' only) and the Sinkhorn settings
 */
export function randomPlan(kind: RandomPlanKind, batch: number, r: number, rng: Rng, options: AlignOptions = {}): RandomPlan {
  const where = 'randomPlan';
  assertOneOf(where, 'kind', kind, RANDOM_PLAN_KINDS);
  assertInt(where, 'batch', batch, 1);
  assertInt(where, 'r', r, 1);
  const direction = assertOneOf(where, 'direction', options.direction ?? 'aToB', ['aToB', 'bToA'] as const);
  const values = new Float32Array(batch * r * r);
  if (kind === 'random-permutation') {
    for (let k = 0; k < batch; k++) {
      rng.permutation(r).forEach((j, i) => { values[(k * r + i) * r + j] = 1 / r; });
    }
    return { plan: tf.tensor3d(values, [batch, r, r]) };
  }
  for (let i = 0; i < values.length; i++) values[i] = rng.uniform();
  const settings = options.sinkhorn ?? {};
  const cost = tf.tensor3d(values, [batch, r, r]);
  try {
    return sinkhorn(cost, settings.solver === 'reference' ? settings
      : { ...settings, exactMarginal: exactMarginalOf(direction) });
  } finally {
    cost.dispose();
  }
}

/** The marginal a direction needs exact: rows of R for A~ = A' R^T, columns for A~' = A R. */
function exactMarginalOf(direction: AlignDirection): 'rows' | 'cols' {
  return direction === 'aToB' ? 'rows' : 'cols';
}

/**
 * Eq. (13)/(14) with a random plan in place of Sinkhorn's (the control). Shapes as
 * mixAlignedFeatures; the caller disposes `mixed` and `plan`.
 */
export function mixWithRandomPlan<T extends FeatureTensor>(
  a: T, b: T, lambda: Lambda, kind: RandomPlanKind, rng: Rng, options: AlignOptions = {},
): RandomPlan & { mixed: T } {
  const where = 'mixWithRandomPlan';
  assertSameShape(where, 'a', a, 'b', b);
  assertLambda(where, lambda, a.shape[0]);
  const direction = options.direction ?? 'aToB';
  const rows = toRows(a);
  const r = rows.shape[1];
  if (rows !== a) rows.dispose();
  const drawn = randomPlan(kind, a.shape[0], r, rng, options);
  const mixed = tf.tidy(() => mixWithAligned(a, b, alignWithPlan(a, b, drawn.plan, direction), lambda, direction));
  return { ...drawn, mixed };
}
