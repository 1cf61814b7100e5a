import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { sumOfQuotient } from '../../lib/backends/native-ops';

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
