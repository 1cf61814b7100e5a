import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { squaredEuclideanCost } from '../../lib/ot/cost';
import { Rng } from '../../lib/random';
import { cost64, flat, randomFeatures } from './float64';

describe('ot/cost: squaredEuclideanCost', () => {
  it('matches direct float64 differences, for r != r\'', () => {
    const rng = new Rng(1);
    const a = randomFeatures(rng, 3, 5, 7);
    const b = randomFeatures(rng, 3, 4, 7);
    const got = tf.tidy(() => squaredEuclideanCost(tf.tensor3d(a), tf.tensor3d(b)).arraySync());
    assert.deepEqual([got.length, got[0].length, got[0][0].length], [3, 5, 4]);
    const want = a.map((ab, k) => cost64(ab, b[k]));
    flat(got).forEach((g, i) => assert.ok(Math.abs(g - flat(want)[i]) <= 1e-5 * (1 + flat(want)[i]), `entry ${i}: ${g} vs ${flat(want)[i]}`));
  });

  it('never returns a negative distance where the expanded form cancels (clamped at 0)', () => {
    // ||a||^2 ~ 4.6e5 while ||a_i - b_i||^2 ~ 5e-4: float32 round-off of the expansion is ~0.5,
    // so about half of the unclamped diagonal entries come out negative.
    const rng = new Rng(3);
    const a = randomFeatures(rng, 1, 64, 512).map((m) => m.map((row) => row.map((x) => Math.fround(x + 30))));
    const b = a.map((m) => m.map((row) => row.map((x) => Math.fround(x + 1e-3 * rng.normal()))));
    const got = tf.tidy(() => squaredEuclideanCost(tf.tensor3d(a), tf.tensor3d(b)).arraySync())[0];
    got.forEach((row) => row.forEach((g) => assert.ok(g >= 0, `negative distance ${g}`)));
    // Error bound of the expansion: ~1e-7 x (||a||^2 + ||b||^2) ~ 0.1.
    got.forEach((row, i) => assert.ok(row[i] < 1, `diagonal ${row[i]}`));
  });

  it('rejects mismatched or non-finite inputs with a message naming the argument', () => {
    const a = tf.zeros([2, 4, 3]) as tf.Tensor3D;
    const wrongC = tf.zeros([2, 4, 5]) as tf.Tensor3D;
    const wrongB = tf.zeros([3, 4, 3]) as tf.Tensor3D;
    const nan = tf.tensor3d([[[NaN, 0, 0]]]);
    const rank2 = tf.zeros([4, 3]) as unknown as tf.Tensor3D;
    assert.throws(() => squaredEuclideanCost(a, wrongC), /squaredEuclideanCost: a \[2,4,3\] and b \[2,4,5\]/);
    assert.throws(() => squaredEuclideanCost(a, wrongB), /batch size/);
    assert.throws(() => squaredEuclideanCost(nan, tf.zeros([1, 1, 3]) as tf.Tensor3D), /squaredEuclideanCost: a contains NaN/);
    assert.throws(() => squaredEuclideanCost(rank2, a), /a must have rank 3/);
    tf.dispose([a, wrongC, wrongB, nan, rank2]);
  });

  it('leaks no tensors', () => {
    const a = tf.randomNormal([2, 4, 3]) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    squaredEuclideanCost(a, a).dispose();
    assert.equal(tf.memory().numTensors, before);
    a.dispose();
  });
});
