import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { cutMix, cutMixBox } from '../../lib/mix/cutmix';
import { Rng } from '../../lib/random';

describe('mix/cutmix', () => {
  it('box: side floor(H sqrt(1 - lambda)), centre from two uniform draws, clipped (hand-computed)', () => {
    // Replay the two draws the box takes, with the same seed, and build the box by hand.
    for (const [seed, lambda] of [[1, 0.3], [2, 0.75], [3, 0.1], [4, 0.9]]) {
      const replay = new Rng(seed);
      const cy = replay.int(32);
      const cx = replay.int(24);
      const h = Math.floor(32 * Math.sqrt(1 - lambda));
      const w = Math.floor(24 * Math.sqrt(1 - lambda));
      const want = {
        y0: Math.max(0, cy - Math.floor(h / 2)), y1: Math.min(32, cy - Math.floor(h / 2) + h),
        x0: Math.max(0, cx - Math.floor(w / 2)), x1: Math.min(24, cx - Math.floor(w / 2) + w),
      };
      const { box, lambda: adj } = cutMixBox(32, 24, lambda, new Rng(seed));
      assert.deepEqual(box, want);
      assert.equal(adj, 1 - ((want.y1 - want.y0) * (want.x1 - want.x0)) / (32 * 24));
    }
  });

  it('label weights equal the area actually pasted, per example and per batch', () => {
    const rng = new Rng(7);
    const x = tf.zeros([16, 12, 10, 3]) as tf.Tensor4D;
    const xp = tf.ones([16, 12, 10, 3]) as tf.Tensor4D;
    const lambdas = Array.from({ length: 16 }, () => rng.uniform());
    for (const lambda of [lambdas, 0.4]) {
      const before = tf.memory().numTensors;
      const { mixed, lambdas: adj, boxes } = cutMix(x, xp, lambda, rng);
      // Pixels from x' are exactly the 1s: their fraction is 1 - lambda_adj.
      const pasted = tf.tidy(() => tf.mean(mixed, [1, 2, 3]).dataSync());
      adj.forEach((l, i) => assert.ok(Math.abs(pasted[i] - (1 - l)) < 1e-6, `example ${i}: ${pasted[i]} vs ${1 - l}`));
      boxes.forEach((b) => assert.ok(b.y0 >= 0 && b.y0 <= b.y1 && b.y1 <= 12 && b.x0 >= 0 && b.x0 <= b.x1 && b.x1 <= 10));
      if (typeof lambda === 'number') assert.ok(boxes.every((b) => b === boxes[0]));
      // Clipping only shrinks the box: lambda_adj >= lambda.
      adj.forEach((l, i) => assert.ok(l >= (typeof lambda === 'number' ? lambda : lambda[i]) - 1e-12));
      mixed.dispose();
      assert.equal(tf.memory().numTensors, before);
    }
    tf.dispose([x, xp]);
  });

  it('lambda 1 pastes nothing and returns x exactly; outside the box x is untouched', () => {
    const rng = new Rng(9);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const xp = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const one = cutMix(x, xp, 1, rng);
    assert.deepEqual(one.mixed.dataSync(), x.dataSync());
    assert.deepEqual(one.lambdas, [1, 1]);
    const half = cutMix(x, xp, [0.5, 0.2], rng);
    const [m, a, b] = [half.mixed.arraySync(), x.arraySync(), xp.arraySync()];
    half.boxes.forEach((box, n) => {
      for (let y = 0; y < 8; y++) for (let xx = 0; xx < 8; xx++) {
        const inside = y >= box.y0 && y < box.y1 && xx >= box.x0 && xx < box.x1;
        assert.deepEqual(m[n][y][xx], inside ? b[n][y][xx] : a[n][y][xx]);
      }
    });
    tf.dispose([x, xp, one.mixed, half.mixed]);
  });

  it('rejects bad input', () => {
    const x = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const y = tf.zeros([2, 4, 5, 1]) as tf.Tensor4D;
    assert.throws(() => cutMix(x, y, 0.5, new Rng(0)), /cutMix: x has shape \[2,4,4,1\] but xPartner has shape \[2,4,5,1\]/);
    assert.throws(() => cutMix(x, x, 1.2, new Rng(0)), /cutMix: lambda must be in \[0, 1\], got 1.2/);
    assert.throws(() => cutMix(x, x, [0.5], new Rng(0)), /one per example/);
    assert.throws(() => cutMixBox(0, 4, 0.5, new Rng(0)), /cutMixBox: height must be an integer/);
    tf.dispose([x, y]);
  });
});
