/**
 * Mixing partners (Algorithm 1, line 1): one random permutation pi of the batch, drawn once per
 * mini-batch; the partner of example i is example pi(i), regardless of class (Verma et al.). The
 * same pi serves inputs, features, latents and labels, so x' = gather(x, pi), y' = gather(y, pi).
 * pi may map i to itself; such an example is mixed with itself, as in the reference code.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertInt } from '../validate';

/** A uniformly random permutation of 0..batch-1 (Fisher-Yates on `rng`). */
export function drawPermutation(batch: number, rng: Rng): number[] {
  assertInt('drawPermutation', 'batch', batch, 1);
  return rng.permutation(batch);
}

/** Throw unless `perm` is a permutation of 0..n-1. */
export function assertPermutation(where: string, perm: readonly number[], n: number): void {
  if (!Array.isArray(perm) || perm.length !== n) {
    throw new Error(`${where}: permutation must list ${n} indices (the batch size), got ${Array.isArray(perm) ? perm.length : typeof perm}`);
  }
  const seen = new Uint8Array(n);
  perm.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 0 || p >= n || seen[p]) {
      throw new Error(`${where}: permutation[${i}] = ${p} is not a new index in 0..${n - 1}`);
    }
    seen[p] = 1;
  });
}

/**
 * Partners of a batch: row i of the result is row perm[i] of `x` ([B, ...], any dtype).
 * The caller disposes the result.
 */
export function gatherPartners<T extends tf.Tensor>(x: T, perm: readonly number[]): T {
  if (x.rank === 0) throw new Error('gatherPartners: x must have a batch dimension, got a scalar');
  assertPermutation('gatherPartners', perm, x.shape[0]);
  return tf.tidy(() => tf.gather(x, tf.tensor1d(perm as number[], 'int32')) as T);
}
