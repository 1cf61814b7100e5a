import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { drawLambda, mix, softTargets } from '../../lib/mix/mix';
import { assertPermutation, drawPermutation, gatherPartners } from '../../lib/mix/partners';
import { Rng } from '../../lib/random';

describe('mix/mix: mixup of tensors and labels', () => {
  it('lambda 1 and 0 return the endpoints bit-exactly, for inputs, latents and soft targets', () => {
    const rng = new Rng(1);
    for (const shape of [[3, 4, 4, 2], [3, 7], [3, 10]]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const a = tf.tensor(Array.from({ length: n }, () => rng.normal()), shape);
      const b = tf.tensor(Array.from({ length: n }, () => rng.normal()), shape);
      const m1 = mix(a, b, 1);
      const m0 = mix(a, b, 0);
      assert.deepEqual(m1.dataSync(), a.dataSync());
      assert.deepEqual(m0.dataSync(), b.dataSync());
      tf.dispose([a, b, m1, m0]);
    }
  });

  it('one lambda per example broadcasts over the other dimensions (hand-computed)', () => {
    const a = tf.tensor3d([[[1, 2]], [[3, 4]]]);
    const b = tf.tensor3d([[[5, 6]], [[7, 8]]]);
    const m = mix(a, b, [0.25, 0.5]);
    // 0.25*1 + 0.75*5 = 4, 0.25*2 + 0.75*6 = 5; 0.5*3 + 0.5*7 = 5, 0.5*4 + 0.5*8 = 6
    assert.deepEqual(Array.from(m.dataSync()), [4, 5, 5, 6]);
    const s = mix(a, b, 0.5);
    assert.deepEqual(Array.from(s.dataSync()), [3, 4, 5, 6]);
    tf.dispose([a, b, m, s]);
  });

  it('leaks no tensors', () => {
    const a = tf.ones([2, 3]);
    const before = tf.memory().numTensors;
    mix(a, a, [0.1, 0.9]).dispose();
    mix(a, a, 0.3).dispose();
    softTargets([0, 1], 3, { smoothing: 0.1 }).dispose();
    gatherPartners(a, [1, 0]).dispose();
    assert.equal(tf.memory().numTensors, before);
    a.dispose();
  });

  it('rejects bad lambda and shape mismatch with clear errors', () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([2, 4]);
    assert.throws(() => mix(a, b, 0.5), /mix: a has shape \[2,3\] but b has shape \[2,4\]/);
    assert.throws(() => mix(a, a, -0.1), /mix: lambda must be in \[0, 1\], got -0.1/);
    assert.throws(() => mix(a, a, Infinity), /lambda must be in \[0, 1\], got Infinity/);
    assert.throws(() => mix(a, a, [0.5, 0.5, 0.5]), /one per example/);
    assert.throws(() => mix(a, a, [0.5, 2]), /lambda\[1\] must be in \[0, 1\], got 2/);
    tf.dispose([a, b]);
  });

  it('soft targets: one-hot rows, label smoothing (1 - s) onehot + s/k, labels checked', () => {
    const t = softTargets([2, 0], 3);
    assert.deepEqual(t.arraySync(), [[0, 0, 1], [1, 0, 0]]);
    const s = softTargets(tf.tensor1d([1], 'int32'), 4, { smoothing: 0.2 });
    const want = [0.05, 0.85, 0.05, 0.05];
    (s.arraySync()[0]).forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-7));
    assert.throws(() => softTargets([3], 3), /softTargets: labels\[0\] must be an integer class index in 0\.\.2, got 3/);
    assert.throws(() => softTargets([0.5], 3), /labels\[0\]/);
    assert.throws(() => softTargets([0], 3, { smoothing: 1 }), /smoothing must be < 1/);
    // Mixed targets: lambda y + (1 - lambda) y' keeps each row a distribution.
    const y = softTargets([0, 1], 3);
    const yp = softTargets([1, 2], 3);
    const m = mix(y, yp, [0.3, 0.6]);
    const rows = m.arraySync();
    [[0.3, 0.7, 0], [0, 0.6, 0.4]].forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(rows[i][j] - v) < 1e-7)));
    tf.dispose([t, s, y, yp, m]);
  });

  it('lambda ~ Beta(alpha, alpha): reproducible from the seed, mean 1/2 and variance 1/(4(2 alpha + 1))', () => {
    const draw = (seed: number) => { const rng = new Rng(seed); return Array.from({ length: 4000 }, () => drawLambda(rng, 2)); };
    const xs = draw(5);
    assert.deepEqual(draw(5).slice(0, 5), xs.slice(0, 5));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    assert.ok(xs.every((x) => x > 0 && x < 1));
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(variance - 0.05) < 0.005, `variance ${variance}`);
    assert.throws(() => drawLambda(new Rng(0), 0), /drawLambda: alpha must be a finite number > 0/);
  });
});

describe('mix/partners: permutation and gather', () => {
  it('draws a seeded permutation and gathers row perm[i] of any batch tensor', () => {
    const p = drawPermutation(6, new Rng(3));
    assert.deepEqual(p, drawPermutation(6, new Rng(3)));
    assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4, 5]);
    const x = tf.tensor2d([[0, 0], [1, 10], [2, 20], [3, 30], [4, 40], [5, 50]]);
    const labels = tf.tensor1d([7, 8, 9, 10, 11, 12], 'int32');
    const gx = gatherPartners(x, p);
    const gl = gatherPartners(labels, p);
    assert.deepEqual(gx.arraySync(), p.map((i) => [i, 10 * i]));
    assert.deepEqual(Array.from(gl.dataSync()), p.map((i) => 7 + i));
    assert.equal(gl.dtype, 'int32');
    tf.dispose([x, labels, gx, gl]);
  });

  it('rejects anything that is not a permutation of the batch', () => {
    assert.throws(() => assertPermutation('f', [0, 0, 1], 3), /f: permutation\[1\] = 0 is not a new index in 0\.\.2/);
    assert.throws(() => assertPermutation('f', [0, 1], 3), /must list 3 indices/);
    assert.throws(() => assertPermutation('f', [0, 1, 3], 3), /permutation\[2\] = 3/);
    const x = tf.zeros([3, 2]);
    assert.throws(() => gatherPartners(x, [2, 1]), /gatherPartners: permutation must list 3 indices/);
    x.dispose();
    assert.throws(() => drawPermutation(0, new Rng(0)), /drawPermutation: batch must be an integer in 1\.\.inf, got 0/);
  });
});
