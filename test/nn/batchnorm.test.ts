import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { BatchNorm2d, batchNormTrain, batchNormTrainClosedForm } from '../../lib/nn';
import { nativeOpExecutor } from '../../lib/backends/native-ops';
import { arr4, channelMoments, maxAbsDiff } from './reference';

const SHAPE: [number, number, number, number] = [3, 2, 3, 4]; // n = 18 values per channel

function randomInput(seed: number, offset = 0): { xs: number[]; x: tf.Tensor4D } {
  const rng = new Rng(seed);
  const xs = Array.from({ length: SHAPE.reduce((a, b) => a * b) }, (_, i) => 2 * rng.normal() + offset + (i % 4));
  return { xs, x: tf.tensor4d(xs, SHAPE) };
}

function setAffine(bn: BatchNorm2d, gamma: number[], beta: number[]): void {
  tf.tidy(() => {
    bn.gamma.assign(tf.tensor1d(gamma));
    bn.beta.assign(tf.tensor1d(beta));
  });
}

const GAMMA = [1.5, -0.5, 2, 0.25];
const BETA = [0.1, -1, 0.5, 3];

describe('BatchNorm2d (PyTorch semantics)', () => {
  it('updates running statistics as PyTorch: momentum 0.1, unbiased variance, compounding over steps', () => {
    const bn = new BatchNorm2d({ numFeatures: 4 });
    const n = SHAPE[0] * SHAPE[1] * SHAPE[2];
    let rm = [0, 0, 0, 0];
    let rv = [1, 1, 1, 1];
    for (const [seed, offset] of [[1, 0], [2, 5]]) {
      const { xs, x } = randomInput(seed, offset);
      tf.dispose(bn.forward(x, 'train'));
      const { mean, variance } = channelMoments(arr4(xs, SHAPE));
      rm = rm.map((r, c) => 0.9 * r + 0.1 * mean[c]);
      rv = rv.map((r, c) => 0.9 * r + 0.1 * variance[c] * n / (n - 1));
      assert.ok(maxAbsDiff(bn.runningMean.dataSync(), rm) < 1e-5);
      assert.ok(maxAbsDiff(bn.runningVar.dataSync(), rv) < 1e-5);
      x.dispose();
    }
    bn.dispose();
  });

  it('uses the given PyTorch momentum (the authors\' WRN final BN: 0.9)', () => {
    const bn = new BatchNorm2d({ numFeatures: 4, momentum: 0.9 });
    const { xs, x } = randomInput(3);
    tf.dispose(bn.forward(x, 'train'));
    const { mean } = channelMoments(arr4(xs, SHAPE));
    assert.ok(maxAbsDiff(bn.runningMean.dataSync(), mean.map((m) => 0.9 * m)) < 1e-5);
    x.dispose();
    bn.dispose();
  });

  it('train mode normalises with the biased batch variance; eval mode with running stats and no update', () => {
    const bn = new BatchNorm2d({ numFeatures: 4 });
    setAffine(bn, GAMMA, BETA);
    const { xs, x } = randomInput(4);
    const { mean, variance } = channelMoments(arr4(xs, SHAPE));
    const yTrain = bn.forward(x, 'train');
    const refTrain = xs.map((v, i) => (v - mean[i % 4]) / Math.sqrt(variance[i % 4] + 1e-5) * GAMMA[i % 4] + BETA[i % 4]);
    assert.ok(maxAbsDiff(yTrain.dataSync(), refTrain) < 1e-4);

    const rm = Array.from(bn.runningMean.dataSync());
    const rv = Array.from(bn.runningVar.dataSync());
    const yEval = bn.forward(x, 'eval');
    const refEval = xs.map((v, i) => (v - rm[i % 4]) / Math.sqrt(rv[i % 4] + 1e-5) * GAMMA[i % 4] + BETA[i % 4]);
    assert.ok(maxAbsDiff(yEval.dataSync(), refEval) < 1e-4);
    assert.deepEqual(Array.from(bn.runningMean.dataSync()), rm, 'eval must not update running stats');
    assert.ok(maxAbsDiff(yTrain.dataSync(), yEval.dataSync()) > 0.1, 'train and eval outputs differ after one step');
    tf.dispose([x, yTrain, yEval]);
    bn.dispose();
  });

  it('gradients equal the closed-form BN backward, unaffected by the running-stat update', () => {
    // loss = sum(c * y); dy = c. Closed form (biased variance, per channel over n values):
    //   xhat = (x - mu) / sqrt(var + eps)
    //   dgamma = sum(dy xhat), dbeta = sum(dy)
    //   dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat mean(dy xhat))
    const bn = new BatchNorm2d({ numFeatures: 4 });
    setAffine(bn, GAMMA, BETA);
    const rng = new Rng(8);
    const cs = Array.from({ length: SHAPE.reduce((a, b) => a * b) }, () => rng.normal());
    const c = tf.tensor4d(cs, SHAPE);
    const { xs, x } = randomInput(6);
    const { mean, variance } = channelMoments(arr4(xs, SHAPE));
    const n = xs.length / 4;
    const xhat = xs.map((v, i) => (v - mean[i % 4]) / Math.sqrt(variance[i % 4] + 1e-5));
    const meanDy = [0, 0, 0, 0];
    const meanDyXhat = [0, 0, 0, 0];
    cs.forEach((d, i) => {
      meanDy[i % 4] += d / n;
      meanDyXhat[i % 4] += (d * xhat[i]) / n;
    });
    const refDx = cs.map((d, i) => (GAMMA[i % 4] / Math.sqrt(variance[i % 4] + 1e-5)) * (d - meanDy[i % 4] - xhat[i] * meanDyXhat[i % 4]));
    const refDgamma = meanDyXhat.map((v) => v * n);
    const refDbeta = meanDy.map((v) => v * n);

    assert.equal(bn.runningMean.trainable || bn.runningVar.trainable, false, 'running stats are buffers: never trained');
    // Twice: the second call runs with different running stats; gradients must not change.
    for (let round = 0; round < 2; round++) {
      const before = Array.from(bn.runningMean.dataSync());
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.forward(x, 'train'), c)) as tf.Scalar, [bn.gamma, bn.beta]);
      const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(bn.forward(xx as tf.Tensor4D, 'train'), c)))(x);
      assert.ok(maxAbsDiff(dx.dataSync(), refDx) < 1e-4, `dx diff ${maxAbsDiff(dx.dataSync(), refDx)}`);
      assert.ok(maxAbsDiff(grads[bn.gamma.name].dataSync(), refDgamma) < 1e-4);
      assert.ok(maxAbsDiff(grads[bn.beta.name].dataSync(), refDbeta) < 1e-4);
      assert.notDeepEqual(Array.from(bn.runningMean.dataSync()), before, 'the forward inside the gradient updated the running stats');
      tf.dispose([value, dx, ...Object.values(grads)]);
    }
    tf.dispose([x, c]);
    bn.dispose();
  });

  it('both training formulations (written-out gradient; native fused kernels) equal op-by-op autodiff of the moments', () => {
    // Reference: y = x * scale + shift from tf.moments, differentiated op by op by TF.js.
    const reference = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const scale = tf.mul(g, tf.rsqrt(tf.add(variance, 1e-5)));
      return tf.add(tf.mul(x, scale), tf.sub(b, tf.mul(mean, scale)));
    };
    const forms: [string, (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, eps: number) => ReturnType<typeof batchNormTrain>][] = [
      ['closed form', batchNormTrainClosedForm],
      [nativeOpExecutor() ? 'native fused kernels' : 'batchNormTrain (closed form: no native backend)', batchNormTrain],
    ];
    const { x } = randomInput(12, 3);
    const g = tf.tensor1d(GAMMA);
    const b = tf.tensor1d(BETA);
    const c = tf.tensor4d(Array.from({ length: x.size }, (_, i) => Math.sin(i)), SHAPE);
    const lossOf = (f: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, gg, bb), c));
    const want = tf.grads(lossOf(reference))([x, g, b]);
    const wantY = reference(x, g, b);
    const { mean: wantMean, variance: wantVar } = tf.moments(x, [0, 1, 2]);
    for (const [name, form] of forms) {
      const before = tf.memory().numTensors;
      const out = form(x, g, b, 1e-5);
      assert.ok(maxAbsDiff(out.y.dataSync(), wantY.dataSync()) < 1e-4, `${name}: y`);
      assert.ok(maxAbsDiff(out.mean.dataSync(), wantMean.dataSync()) < 1e-4, `${name}: mean`);
      assert.ok(maxAbsDiff(out.variance.dataSync(), wantVar.dataSync()) < 1e-4, `${name}: biased variance`);
      tf.dispose([out.y, out.mean, out.variance]);
      assert.equal(tf.memory().numTensors, before, `${name}: the caller disposes y and the moments, nothing else is left`);
      const got = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
        const r = form(xx as tf.Tensor4D, gg, bb, 1e-5);
        tf.dispose([r.mean, r.variance]);
        return tf.sum(tf.mul(r.y, c));
      })([x, g, b]);
      ['dx', 'dgamma', 'dbeta'].forEach((what, i) => {
        const d = maxAbsDiff(got[i].dataSync(), want[i].dataSync());
        assert.ok(d < 1e-4, `${name}: ${what} differs by ${d}`);
      });
      tf.dispose(got);
    }
    tf.dispose([x, g, b, c, wantY, wantMean, wantVar, ...want]);
  });

  it('refuses train mode with a single value per channel (as PyTorch)', () => {
    const bn = new BatchNorm2d({ numFeatures: 2 });
    const x = tf.ones([1, 1, 1, 2]) as tf.Tensor4D;
    assert.throws(() => bn.forward(x, 'train'), /more than 1 value per channel/);
    x.dispose();
    bn.dispose();
  });
});
