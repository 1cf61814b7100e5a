/**
 * Interpolation of pairs of examples (mixup, Zhang et al. 2018; main paper eq. (3)):
 *
 *     mix_lambda(a, b) = lambda a + (1 - lambda) b,     lambda ~ Beta(alpha, alpha)
 *
 * applied to whatever the mode mixes: images (input mixup), latent vectors z, hidden activations
 * (manifold mixup), feature tensors (unaligned, or aligned by ./align.ts) and soft targets. The
 * label of a mixed example is mix_lambda(y, y') with the same lambda, so lambda always weighs the
 * first example of the pair. lambda is one number for the batch (what the authors' code draws) or
 * one number per example (what both papers' Algorithm 1 write: lambda is drawn inside the loop over
 * the examples of the mini-batch).
 *
 * Written as lambda a + (1 - lambda) b rather than b + lambda (a - b) so that lambda = 1 and
 * lambda = 0 return the endpoints exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertInRange, assertInt, assertPositive, assertRank, assertSameShape, shapeStr } from '../validate';

/** One lambda for the whole batch, or one per example (length = batch size). */
export type Lambda = number | readonly number[];

/** Throw unless `lambda` is in [0, 1] (every entry, with the right length for a batch of `batch`). */
export function assertLambda(where: string, lambda: Lambda, batch: number): void {
  if (typeof lambda === 'number') {
    assertInRange(where, 'lambda', lambda, 0, 1);
    return;
  }
  if (!Array.isArray(lambda) || lambda.length !== batch) {
    throw new Error(`${where}: lambda must be a number or an array of ${batch} numbers (one per example), got ${Array.isArray(lambda) ? `an array of ${lambda.length}` : typeof lambda}`);
  }
  lambda.forEach((l, i) => assertInRange(where, `lambda[${i}]`, l, 0, 1));
}

/** lambda as a tensor that broadcasts against a [B, ...] tensor of rank `rank`. Caller disposes. */
function lambdaTensor(lambda: Lambda, rank: number): tf.Tensor {
  if (typeof lambda === 'number') return tf.scalar(lambda);
  return tf.tensor(lambda as number[], [lambda.length, ...new Array(rank - 1).fill(1)]);
}

/**
 * lambda a + (1 - lambda) b for tensors of the same shape [B, ...].
 * @param lambda in [0, 1]: one number, or one per example (broadcast over the other dims)
 * @returns a new tensor; the caller disposes it
 */
export function mix<T extends tf.Tensor>(a: T, b: T, lambda: Lambda): T {
  const where = 'mix';
  assertSameShape(where, 'a', a, 'b', b);
  if (typeof lambda !== 'number' && a.rank === 0) throw new Error(`${where}: per-example lambda needs a batch dimension, got shape ${shapeStr(a.shape)}`);
  assertLambda(where, lambda, a.shape[0] ?? 1);
  return tf.tidy(() => {
    const l = lambdaTensor(lambda, a.rank);
    return tf.add(tf.mul(l, a), tf.mul(tf.sub(1, l), b)) as T;
  });
}

/** lambda ~ Beta(alpha, alpha) from `rng` (alpha > 0; the papers use alpha = 2). */
export function drawLambda(rng: Rng, alpha: number): number {
  assertPositive('drawLambda', 'alpha', alpha);
  return rng.beta(alpha, alpha);
}

export interface SoftTargetOptions {
  /** Label smoothing s in [0, 1): target = (1 - s) onehot + s / k. Default 0. */
  smoothing?: number;
}

/**
 * Class indices -> soft targets [B, k] float32 (one-hot, optionally smoothed).
 * @param labels int class indices in [0, numClasses) (a tensor is read back to check the range)
 * @returns [B, numClasses]; the caller disposes it
 */
export function softTargets(labels: tf.Tensor1D | readonly number[], numClasses: number, options: SoftTargetOptions = {}): tf.Tensor2D {
  const where = 'softTargets';
  assertInt(where, 'numClasses', numClasses, 1);
  const smoothing = options.smoothing ?? 0;
  assertInRange(where, 'smoothing', smoothing, 0, 1);
  if (smoothing === 1) throw new Error(`${where}: smoothing must be < 1, got 1`);
  let values: ArrayLike<number>;
  if (labels instanceof tf.Tensor) {
    assertRank(where, 'labels', labels, 1);
    values = labels.dataSync();
  } else {
    values = labels;
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i]) || values[i] < 0 || values[i] >= numClasses) {
      throw new Error(`${where}: labels[${i}] must be an integer class index in 0..${numClasses - 1}, got ${values[i]}`);
    }
  }
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(Array.from(values), 'int32'), numClasses);
    const t = tf.cast(onehot, 'float32');
    return (smoothing > 0 ? tf.add(tf.mul(t, 1 - smoothing), smoothing / numClasses) : t) as tf.Tensor2D;
  });
}
