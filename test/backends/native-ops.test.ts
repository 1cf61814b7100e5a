import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { offsetMinusLogSumExp, sumOfQuotient } from '../../lib/backends/native-ops';

/**
 * Check `op(x, y)`, a reduction over `axis` (kept) of x [3, 4, 5] and y broadcast against it:
 * bit for bit against `composite` (the TF.js ops it stands for), leaving only its result, and
 * against `written`, the reduction written out in float64 from the terms (x_m, y_m) along the axis,
 * within `rtol`, so that the check does not rest on TF.js's own kernels alone.
 */
function checkReduction(
  x: tf.Tensor3D, y: tf.Tensor, axis: number, op: () => tf.Tensor, composite: () => tf.Tensor,
  written: (terms: [number, number][]) => number, rtol: number,
): void {
  const expected = tf.tidy(composite);
  const before = tf.memory().numTensors;
  const got = op();
  assert.equal(tf.memory().numTensors, before + 1);
  assert.deepEqual(got.shape, expected.shape);
  assert.deepEqual(Array.from(got.dataSync()), Array.from(expected.dataSync()));
  const [xv, yv, gv] = [x.arraySync(), y.arraySync() as number[][][], got.arraySync() as number[][][]];
  const at = (t: number[][][], i: number, j: number, k: number) => t[Math.min(i, t.length - 1)][Math.min(j, t[0].length - 1)][Math.min(k, t[0][0].length - 1)];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) {
    if ([i, j, k][axis] !== 0) continue;
    const terms = Array.from({ length: [3, 4, 5][axis] }, (_, m): [number, number] => {
      const idx = [i, j, k];
      idx[axis] = m;
      return [at(xv, idx[0], idx[1], idx[2]), at(yv, idx[0], idx[1], idx[2])];
    });
    const want = written(terms);
    const g = at(gv, i, j, k);
    assert.ok(Math.abs(g - want) <= rtol * Math.max(1, Math.abs(want)), `[${i}, ${j}, ${k}]: ${g} vs ${want}`);
  }
  tf.dispose([expected, got]);
}

describe('backends/native-ops: sumOfQuotient', () => {
  // The three broadcast shapes Sinkhorn and the general case use: a row vector, a column vector, a full tensor.
  for (const [label, yShape, axis] of [['row vector, last axis', [3, 1, 5], 2], ['column vector, middle axis', [3, 4, 1], 1], ['same shape, first axis', [3, 4, 5], 0]] as const) {
    it(`equals tf.sum(tf.div(x, y), axis, true) bit for bit (${label}), the sums written out, and leaves only its result`, () => {
      const [x, y] = [tf.randomUniform([3, 4, 5], 0.5, 2, 'float32', 1) as tf.Tensor3D, tf.randomUniform([...yShape], 0.5, 2, 'float32', 2)];
      checkReduction(x, y, axis, () => sumOfQuotient(x, y, axis), () => tf.sum(tf.div(x, y), axis, true),
        (terms) => terms.reduce((acc, [a, b]) => acc + a / b, 0), 1e-6);
      tf.dispose([x, y]);
    });
  }
});

describe('backends/native-ops: offsetMinusLogSumExp', () => {
  for (const [label, yShape, axis] of [['row vector, last axis', [3, 1, 5], 2], ['column vector, middle axis', [3, 4, 1], 1]] as const) {
    it(`equals the TF.js composite bit for bit (${label}), the float64 logsumexp written out, and leaves only its result`, () => {
      // Values far outside exp's float32 range: the max shift must keep it finite.
      const x = tf.tidy(() => tf.mul(tf.randomUniform([3, 4, 5], -1, 1, 'float32', 3), 900)) as tf.Tensor3D;
      const y = tf.tidy(() => tf.mul(tf.randomUniform([...yShape], -1, 1, 'float32', 4), 300));
      const offset = Math.log(1 / 16);
      checkReduction(x, y, axis, () => offsetMinusLogSumExp(offset, x, y, axis), () => {
        const z = tf.add(x, y);
        const m = tf.max(z, axis, true);
        return tf.sub(offset, tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(z, m)), axis, true))));
      }, (terms) => {
        const sums = terms.map(([a, b]) => a + b);
        const top = Math.max(...sums);
        return offset - (top + Math.log(sums.reduce((acc, t) => acc + Math.exp(t - top), 0)));
      }, 1e-6);
      tf.dispose([x, y]);
    });
  }
});
