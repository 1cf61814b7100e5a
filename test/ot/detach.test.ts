import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { withoutGradient } from '../../lib/ot/detach';
import { SinkhornOptions, sinkhorn } from '../../lib/ot/sinkhorn';
import { Rng } from '../../lib/random';
import { randomFeatures } from './float64';

describe('ot/detach: the plan carries no gradient', () => {
  for (const solver of ['log', 'exp', 'reference'] as const) {
    it(`${solver}: d(loss through the plan)/d cost is exactly 0, while a direct path still gets its gradient`, () => {
      const cost = tf.tidy(() => tf.abs(tf.tensor3d(randomFeatures(new Rng(1), 2, 4, 4, 0.1))));
      const w = tf.tidy(() => tf.tensor3d(randomFeatures(new Rng(2), 2, 4, 4)));
      const options: SinkhornOptions = { solver, maxIter: 20, warn: false } as SinkhornOptions;
      const before = tf.memory().numTensors;
      const [throughPlan] = tf.grads((c: tf.Tensor) => tf.sum(tf.mul(sinkhorn(c as tf.Tensor3D, options).plan, w)))([cost]);
      const [both] = tf.grads((c: tf.Tensor) => tf.sum(tf.mul(tf.add(sinkhorn(c as tf.Tensor3D, options).plan, c), w)))([cost]);
      assert.deepEqual(Array.from(throughPlan.dataSync()), new Array(32).fill(0));
      assert.deepEqual(Array.from(both.dataSync()), Array.from(w.dataSync()));
      tf.dispose([throughPlan, both]);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([cost, w]);
    });
  }

  it('the iterations are not on the tape: the backward pass runs the same kernels for 2 and 60 iterations', async () => {
    const cost = tf.tidy(() => tf.abs(tf.tensor3d(randomFeatures(new Rng(3), 2, 5, 5))));
    const w = tf.randomNormal([2, 5, 5]);
    const iterationsRun: number[] = [];
    const loss = (maxIter: number) => (c: tf.Tensor) => {
      const { plan, diagnostics } = sinkhorn(c as tf.Tensor3D, { maxIter, tol: 0, checkEvery: 1000, warn: false });
      iterationsRun.push(diagnostics.iterations);
      return tf.sum(tf.mul(tf.add(plan, c), w));
    };
    const backwardKernels = async (maxIter: number) => {
      const forward = await tf.profile(() => { tf.dispose(loss(maxIter)(cost)); });
      const withGrad = await tf.profile(() => { tf.dispose(tf.grads(loss(maxIter))([cost])); });
      return { forward: forward.kernels.length, backward: withGrad.kernels.length - forward.kernels.length };
    };
    const short = await backwardKernels(2);
    const long = await backwardKernels(60);
    // The 58 extra iterations ran, in the forward pass (tf.profile sees their absorptions into
    // the log potentials; the kernel-domain half-steps themselves run outside TF.js's kernels on
    // the native backend, see sumOfQuotient)...
    assert.deepEqual(iterationsRun, [2, 2, 60, 60]);
    assert.ok(long.forward > short.forward, `forward kernels ${short.forward} vs ${long.forward}`);
    // ...and none of them is replayed backwards.
    assert.equal(long.backward, short.backward);
    assert.ok(short.backward < 10, `backward kernels ${short.backward}`);
    tf.dispose([cost, w]);
  });

  it('withoutGradient zeroes the gradient of every input and frees the forward intermediates', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.tensor1d([4, 5, 6]);
    const before = tf.memory().numTensors;
    const [gx, gy] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.add(withoutGradient([a, b], (p, q) => tf.mul(tf.exp(p), q)), a)))([x, y]);
    assert.deepEqual(Array.from(gx.dataSync()), [1, 1, 1]);
    assert.deepEqual(Array.from(gy.dataSync()), [0, 0, 0]);
    tf.dispose([gx, gy]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
  });
});
