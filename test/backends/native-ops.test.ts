import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { offsetMinusLogSumExp, sumOfQuotient } from '../../lib/backends/native-ops';

describe('backends/native-ops: sumOfQuotient', () => {
  const x = () => tf.randomUniform([3, 4, 5], 0.5, 2, 'float32', 1);
  // The three broadcast shapes Sinkhorn and the general case use: a row vector, a column vector, a full tensor.
  for (const [label, yShape, axis] of [['row vector, last axis', [3, 1, 5], 2], ['column vector, middle axis', [3, 4, 1], 1], ['same shape, first axis', [3, 4, 5], 0]] as const) {
    it(`equals tf.sum(tf.div(x, y), axis, true) bit for bit (${label}) and leaves only its result`, () => {
      const [xs, y] = [x(), tf.randomUniform([...yShape], 0.5, 2, 'float32', 2)];
      const expected = tf.sum(tf.div(xs, y), axis, true);
      const before = tf.memory().numTensors;
      const got = sumOfQuotient(xs, y, axis);
      assert.equal(tf.memory().numTensors, before + 1);
      assert.deepEqual(got.shape, expected.shape);
      assert.deepEqual(Array.from(got.dataSync()), Array.from(expected.dataSync()));
      // Against the sums written out, so the check does not rest on TF.js's own kernels alone.
      const [xv, yv, gv] = [xs.arraySync() as number[][][], y.arraySync() as number[][][], got.arraySync() as number[][][]];
      const at = (t: number[][][], i: number, j: number, k: number) => t[Math.min(i, t.length - 1)][Math.min(j, t[0].length - 1)][Math.min(k, t[0][0].length - 1)];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) {
        if ([i, j, k][axis] !== 0) continue;
        let sum = 0;
        for (let m = 0; m < [3, 4, 5][axis]; m++) {
          const idx = [i, j, k];
          idx[axis] = m;
          sum += at(xv, idx[0], idx[1], idx[2]) / at(yv, idx[0], idx[1], idx[2]);
        }
        const g = at(gv, i, j, k);
        assert.ok(Math.abs(g - sum) <= 1e-6 * Math.abs(sum), `[${i}, ${j}, ${k}]: ${g} vs ${sum}`);
      }
      tf.dispose([xs, y, expected, got]);
    });
  }
});

describe('backends/native-ops: offsetMinusLogSumExp', () => {
  // Values far outside exp's float32 range: the max shift must keep it finite.
  const x = () => tf.mul(tf.randomUniform([3, 4, 5], -1, 1, 'float32', 3), 900);
  for (const [label, yShape, axis] of [['row vector, last axis', [3, 1, 5], 2], ['column vector, middle axis', [3, 4, 1], 1]] as const) {
    it(`equals the TF.js composite bit for bit (${label}), the float64 logsumexp written out, and leaves only its result`, () => {
      const [xs, y] = [x(), tf.mul(tf.randomUniform([...yShape], -1, 1, 'float32', 4), 300)];
      const offset = Math.log(1 / 16);
      const expected = tf.tidy(() => {
        const z = tf.add(xs, y);
        const m = tf.max(z, axis, true);
        return tf.sub(offset, tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(z, m)), axis, true))));
      });
      const before = tf.memory().numTensors;
      const got = offsetMinusLogSumExp(offset, xs, y, axis);
      assert.equal(tf.memory().numTensors, before + 1);
      assert.deepEqual(got.shape, expected.shape);
      assert.deepEqual(Array.from(got.dataSync()), Array.from(expected.dataSync()));
      const [xv, yv, gv] = [xs.arraySync() as number[][][], y.arraySync() as number[][][], got.arraySync() as number[][][]];
      const at = (t: number[][][], i: number, j: number, k: number) => t[Math.min(i, t.length - 1)][Math.min(j, t[0].length - 1)][Math.min(k, t[0][0].length - 1)];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) {
        if ([i, j, k][axis] !== 0) continue;
        const terms = Array.from({ length: [3, 4, 5][axis] }, (_, m) => {
          const idx = [i, j, k];
          idx[axis] = m;
          return at(xv, idx[0], idx[1], idx[2]) + at(yv, idx[0], idx[1], idx[2]);
        });
        const top = Math.max(...terms);
        const want = offset - (top + Math.log(terms.reduce((acc, t) => acc + Math.exp(t - top), 0)));
        const g = at(gv, i, j, k);
        assert.ok(Math.abs(g - want) <= 1e-6 * Math.max(1, Math.abs(want)), `[${i}, ${j}, ${k}]: ${g} vs ${want}`);
      }
      tf.dispose([xs, y, expected, got]);
    });
  }
});
