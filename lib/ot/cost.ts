/**
 * Cost matrices for optimal transport between the feature vectors of two feature tensors.
 *
 * Main paper eq. (8): for A, A' with feature vectors a_i (i = 1..r) and a'_j (j = 1..r'),
 *
 *     M_ij = ||a_i - a'_j||^2 = ||a_i||^2 + ||a'_j||^2 - 2 <a_i, a'_j>.
 *
 * The expanded form costs one batched matMul instead of a [B, r, r', c] difference tensor
 * (128 x 16 x 16 x 512 floats = 64 MB for CIFAR features). Its float32 round-off can make an
 * entry slightly negative when a_i is close to a'_j (cancellation of two large norms), so the
 * result is clamped at 0: a distance is never negative and the Sinkhorn kernels rely on that.
 * The absolute error of an entry is about 1e-7 x (||a_i||^2 + ||a'_j||^2).
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertFinite, assertRank, shapeStr } from '../validate';

/**
 * Pairwise squared Euclidean distances, without input checks (internal: callers validate).
 * `a`: [B, r, c], `b`: [B, r', c] -> [B, r, r']. The caller disposes the result.
 */
export function squaredDistancesUnchecked(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const aNorm = tf.sum(tf.square(a), 2, true); // [B, r, 1]
    const bNorm = tf.reshape(tf.sum(tf.square(b), 2), [b.shape[0], 1, b.shape[1]]); // [B, 1, r']
    const cross = tf.matMul(a, b, false, true); // [B, r, r']
    return tf.relu(tf.sub(tf.add(aNorm, bNorm), tf.mul(cross, 2))) as tf.Tensor3D;
  });
}

/**
 * Cost matrices M_ij = ||a_i - b_j||^2 for a batch of problems.
 *
 * @param a feature vectors as rows, [B, r, c]
 * @param b feature vectors as rows, [B, r', c] (same B and c)
 * @returns [B, r, r'], every entry >= 0. The caller disposes it.
 * @throws if ranks, batch sizes or feature sizes differ, or an input holds NaN/Inf (this check
 *   reads the inputs back: one device sync each).
 */
export function squaredEuclideanCost(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const where = 'squaredEuclideanCost';
  assertRank(where, 'a', a, 3);
  assertRank(where, 'b', b, 3);
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[2]) {
    throw new Error(`${where}: a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} must agree in batch size (dim 0) and feature size (dim 2)`);
  }
  assertFinite(where, 'a', a);
  assertFinite(where, 'b', b);
  return squaredDistancesUnchecked(a, b);
}
