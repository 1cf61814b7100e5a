import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { Conv2d, Linear, ResidualUpBlock, avgPool2d, globalAvgPool, maxPool2d, sameMatchesSymmetric, upsampleNearest } from '../../lib/nn';
import { arr4, conv2dRef, maxAbsDiff, maxPoolRef } from './reference';

function randomArray(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

describe('nn layers', () => {
  describe('Conv2d', () => {
    // Geometries where TF 'same' is and is NOT PyTorch's symmetric padding; both must match PyTorch.
    const cases = [
      { k: 3, s: 1, p: 1, h: 6, note: "3x3/1 pad 1 ('same' equivalent)" },
      { k: 3, s: 2, p: 1, h: 6, note: '3x3/2 pad 1 on an even size (explicit pad)' },
      { k: 3, s: 2, p: 1, h: 7, note: "3x3/2 pad 1 on an odd size ('same' equivalent)" },
      { k: 7, s: 2, p: 3, h: 10, note: '7x7/2 pad 3 (ResNet stem geometry)' },
      { k: 1, s: 2, p: 0, h: 6, note: '1x1/2 shortcut' },
      { k: 2, s: 2, p: 0, h: 5, note: '2x2/2 latent conv on an odd size' },
    ];
    for (const { k, s, p, h, note } of cases) {
      it(`matches a float64 PyTorch-semantics reference: ${note}`, () => {
        const rng = new Rng(k * 100 + s * 10 + h);
        const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: k, stride: s, padding: p }, rng);
        const xs = randomArray(rng, 2 * h * (h + 1) * 3);
        const x = tf.tensor4d(xs, [2, h, h + 1, 3]);
        const y = conv.forward(x);
        const ref = conv2dRef(arr4(xs, [2, h, h + 1, 3]), arr4(conv.weight.dataSync(), [k, k, 3, 4]), s, p, conv.bias!.dataSync());
        assert.deepEqual(y.shape, ref.shape);
        assert.ok(maxAbsDiff(y.dataSync(), ref.data) < 1e-4, `max diff ${maxAbsDiff(y.dataSync(), ref.data)}`);
        tf.dispose([x, y]);
        conv.dispose();
      });
    }

    it('knows when TF same padding equals symmetric padding', () => {
      assert.equal(sameMatchesSymmetric(32, 3, 1, 1), true);
      assert.equal(sameMatchesSymmetric(32, 3, 2, 1), false); // TF pads (0, 1), PyTorch (1, 1)
      assert.equal(sameMatchesSymmetric(7, 3, 2, 1), true);
      assert.equal(sameMatchesSymmetric(224, 7, 2, 3), false); // TF pads (2, 3)
      assert.equal(sameMatchesSymmetric(112, 3, 2, 1), false);
    });

    it("initialises as PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias", () => {
      const conv = new Conv2d({ inChannels: 16, outChannels: 64, kernelSize: 3 }, new Rng(3));
      const bound = 1 / Math.sqrt(16 * 9);
      const w = Array.from(conv.weight.dataSync());
      const b = Array.from(conv.bias!.dataSync());
      assert.ok(w.every((v) => Math.abs(v) <= bound) && b.every((v) => Math.abs(v) <= bound));
      // Uniform on [-b, b] has variance b^2 / 3; 9216 samples give ~1.5% relative error.
      const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
      assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.06, `variance ratio ${variance / (bound * bound / 3)}`);
      const he = new Conv2d({ inChannels: 16, outChannels: 64, kernelSize: 3, bias: false, init: 'he-normal-fan-out' }, new Rng(3));
      const hv = Array.from(he.weight.dataSync()).reduce((s, v) => s + v * v, 0) / he.weight.size;
      assert.ok(Math.abs(hv / (2 / (9 * 64)) - 1) < 0.06, `he variance ratio ${hv / (2 / (9 * 64))}`);
      assert.equal(he.bias, null);
      conv.dispose();
      he.dispose();
    });

    it('is reproducible from the Rng seed', () => {
      const a = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }, new Rng(9));
      const b = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }, new Rng(9));
      assert.deepEqual(Array.from(a.weight.dataSync()), Array.from(b.weight.dataSync()));
      a.dispose();
      b.dispose();
    });

    it('rejects an input with the wrong channel count', () => {
      const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 }, new Rng(1));
      const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
      assert.throws(() => conv.forward(x), /Conv2d.forward: x must have shape \[\*,\*,\*,3\], got \[1,4,4,2\]/);
      x.dispose();
      conv.dispose();
    });
  });

  it('Linear computes x W + b with PyTorch-default init bounds', () => {
    const rng = new Rng(5);
    const lin = new Linear({ inFeatures: 4, outFeatures: 3 }, rng);
    const xs = randomArray(rng, 8);
    const x = tf.tensor2d(xs, [2, 4]);
    const y = lin.forward(x).arraySync();
    const w = lin.weight.arraySync() as number[][];
    const b = lin.bias!.arraySync() as number[];
    for (let i = 0; i < 2; i++) {
      for (let o = 0; o < 3; o++) {
        let s = b[o];
        for (let k = 0; k < 4; k++) s += xs[i * 4 + k] * w[k][o];
        assert.ok(Math.abs(y[i][o] - s) < 1e-5);
      }
    }
    assert.ok(w.flat().every((v) => Math.abs(v) <= 0.5) && b.every((v) => Math.abs(v) <= 0.5));
    x.dispose();
    lin.dispose();
  });

  describe('pooling and up-sampling', () => {
    it('maxPool2d with padding matches PyTorch (padded cells never win, even for negative inputs)', () => {
      const rng = new Rng(11);
      for (const h of [8, 7]) {
        // All-negative input: zero padding would wrongly win the border windows.
        const xs = randomArray(rng, h * h * 2).map((v) => -Math.abs(v) - 0.1);
        const x = tf.tensor4d(xs, [1, h, h, 2]);
        const y = maxPool2d(x, 3, 2, 1);
        const ref = maxPoolRef(arr4(xs, [1, h, h, 2]), 3, 2, 1);
        assert.deepEqual(y.shape, ref.shape);
        assert.ok(maxAbsDiff(y.dataSync(), ref.data) < 1e-6);
        tf.dispose([x, y]);
      }
    });

    it('globalAvgPool and avgPool2d average the right windows', () => {
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
      assert.deepEqual(Array.from(globalAvgPool(x).dataSync()), [8.5]);
      assert.deepEqual(Array.from(avgPool2d(x, 2).dataSync()), [3.5, 5.5, 11.5, 13.5]);
      x.dispose();
    });

    it('upsampleNearest replicates pixels (2x) and returns the input when the size matches', () => {
      const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
      const y = upsampleNearest(x, [4, 4]);
      assert.deepEqual(Array.from(y.dataSync()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
      assert.equal(upsampleNearest(x, [2, 2]), x);
      tf.dispose([x, y]);
    });

    it('ResidualUpBlock: shortcut conv before up-sampling equals conv after it (1x1 commutes with nearest)', () => {
      const rng = new Rng(2);
      const block = new ResidualUpBlock({ inChannels: 4, outChannels: 2, outSize: [7, 7] }, rng);
      const x = tf.tensor4d(randomArray(rng, 2 * 4 * 4 * 4), [2, 4, 4, 4]);
      const y = block.forward(x, 'eval');
      assert.deepEqual(y.shape, [2, 7, 7, 2]);
      // Independent recomputation in the textbook order: upsample, then every conv.
      const ref = tf.tidy(() => {
        const bnEval = (t: tf.Tensor4D) => tf.div(t, Math.sqrt(1 + 1e-5)) as tf.Tensor4D; // fresh BN: mean 0, var 1
        const up = (t: tf.Tensor4D) => tf.image.resizeNearestNeighbor(t, [7, 7]);
        const main = block.conv2.forward(tf.relu(bnEval(block.conv1.forward(up(tf.relu(bnEval(x)))))));
        return tf.add(main, block.shortcut!.forward(up(x)));
      });
      assert.ok(maxAbsDiff(y.dataSync(), ref.dataSync()) < 1e-5);
      tf.dispose([x, y, ref]);
      block.dispose();
    });
  });
});
