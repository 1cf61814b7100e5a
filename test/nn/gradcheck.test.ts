import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { BatchNorm2d, Conv2d, Linear, globalAvgPool } from '../../lib/nn';

/**
 * Central finite differences against autodiff through conv (3x3 stride 2 pad 1 on an even size:
 * the explicit-padding path) -> BN (train) -> sigmoid -> global pooling -> linear -> weighted sum.
 * Sigmoid instead of ReLU keeps the loss smooth, so float32 differences with h = 1e-2 are accurate
 * to ~1e-4.
 */
describe('layer gradients vs finite differences', () => {
  it('conv + BN + linear: parameter and input gradients', () => {
    const rng = new Rng(21);
    const conv = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1 }, rng);
    const bn = new BatchNorm2d({ numFeatures: 3 });
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 }, rng);
    tf.tidy(() => {
      bn.gamma.assign(tf.tensor1d([1.2, 0.7, -0.9]));
      bn.beta.assign(tf.tensor1d([0.1, -0.2, 0.3]));
    });
    const x = tf.tensor4d(Array.from({ length: 2 * 6 * 6 * 2 }, () => rng.normal()), [2, 6, 6, 2]);
    const c = tf.tensor2d([1, -2, 0.5, 3], [2, 2]);
    const loss = (input: tf.Tensor4D) => tf.sum(tf.mul(lin.forward(globalAvgPool(tf.sigmoid(bn.forward(conv.forward(input), 'train')))), c)) as tf.Scalar;
    const lossValue = (input: tf.Tensor4D) => tf.tidy(() => loss(input).dataSync()[0]);

    const params = [conv.weight, conv.bias!, bn.gamma, bn.beta, lin.weight, lin.bias!];
    const { value, grads } = tf.variableGrads(() => loss(x), params);
    const dx = tf.grad((xx: tf.Tensor) => loss(xx as tf.Tensor4D))(x);
    const h = 1e-2;
    const check = (analytic: number, plus: number, minus: number, what: string) => {
      const fd = (plus - minus) / (2 * h);
      assert.ok(Math.abs(fd - analytic) <= 2e-3 + 2e-2 * Math.abs(analytic), `${what}: finite difference ${fd} vs autodiff ${analytic}`);
    };
    let checked = 0;
    for (const p of params) {
      const g = grads[p.name].dataSync();
      const base = p.dataSync().slice();
      for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
        const perturbed = (delta: number) => {
          const v = base.slice();
          v[i] += delta;
          tf.tidy(() => p.assign(tf.tensor(v, p.shape)));
          return lossValue(x);
        };
        check(g[i], perturbed(h), perturbed(-h), `parameter ${p.name}[${i}]`);
        tf.tidy(() => p.assign(tf.tensor(base, p.shape)));
        checked++;
      }
    }
    const xs = x.dataSync();
    const gx = dx.dataSync();
    for (const i of [0, 17, 40, 71, 143]) {
      const shifted = (delta: number) => {
        const v = xs.slice();
        v[i] += delta;
        const t = tf.tensor4d(v, x.shape);
        const out = lossValue(t);
        t.dispose();
        return out;
      };
      check(gx[i], shifted(h), shifted(-h), `input x[${i}]`);
      checked++;
    }
    assert.equal(checked, 23);
    tf.dispose([value, dx, x, c, ...Object.values(grads)]);
    [conv, bn, lin].forEach((m) => m.dispose());
  });
});
